"""Concatenation fusion (Table 1 A+V models, Table 2 "Concat")."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ave_tf")
class ConcatFusion(keras.layers.Layer):
    """Fuses audio and visual features by concatenating them along the last axis.

    The fusion of every audio-visual model in Table 1 of the paper (the outputs of the two
    LSTMs are concatenated before the shared classifier). It has no weights.

    Args:
        **kwargs: keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        audio: float tensor `[..., audio_dim]`.
        visual: float tensor `[..., visual_dim]` with the same leading shape.

    Returns:
        `[..., audio_dim + visual_dim]`, audio first.

    Example:
    ```python
    fused = ConcatFusion()(np.ones((2, 10, 128)), np.ones((2, 10, 128)))  # (2, 10, 256)
    ```

    Reference:
        Tian et al., ECCV 2018, Table 1 and Table 2 ("Concat").
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # per segment: a time mask passes through

    def call(self, audio, visual):
        return ops.concatenate([audio, visual], axis=-1)

    def compute_output_shape(self, audio_shape, visual_shape):
        return tuple(audio_shape[:-1]) + (audio_shape[-1] + visual_shape[-1],)
