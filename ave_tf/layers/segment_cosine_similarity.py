"""Per-segment cosine similarity of two feature sequences (PSP's audio-visual pair similarity)."""

import keras
from keras import ops

# Smallest norm divided by, as PyTorch's F.normalize (eps=1e-12).
_MIN_NORM = 1e-12


@keras.saving.register_keras_serializable(package="ave_tf")
class SegmentCosineSimilarity(keras.layers.Layer):
    """Cosine similarity of the two modalities' features at each segment.

    `s_t = <v_t, a_t> / (max(|v_t|, 1e-12) max(|a_t|, 1e-12))`: how well the visual and audio
    features of segment t agree. PSP (Zhou et al., CVPR 2021) trains it towards the segments
    that hold the video's event (its audio-visual pair similarity loss, eqs. 8-9). Computed in
    float32; no weights.

    Args:
        **kwargs: keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        visual: float tensor `[batch, time, features]`.
        audio: float tensor `[batch, time, features]`.

    Returns:
        `[batch, time]` float32 similarities in [-1, 1].

    Example:
    ```python
    SegmentCosineSimilarity()(np.ones((2, 10, 256)), np.ones((2, 10, 256)))  # all 1.0
    ```
    """

    def __init__(self, **kwargs):
        kwargs.pop("autocast", None)
        super().__init__(autocast=False, **kwargs)

    @staticmethod
    def _normalize(x):
        x = ops.cast(x, "float32")
        norm = ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True))
        return x / ops.maximum(norm, _MIN_NORM)

    def call(self, visual, audio):
        return ops.sum(self._normalize(visual) * self._normalize(audio), axis=-1)

    def compute_output_shape(self, visual_shape, audio_shape):
        return tuple(visual_shape[:-1])

    def compute_mask(self, visual, audio, previous_mask=None):
        return None
