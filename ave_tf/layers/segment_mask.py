"""Which segments of a padded batch are real, derived from the features themselves."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ave_tf")
class SegmentMask(keras.layers.Layer):
    """Marks the trailing all-zero segments of each video as padding.

    The parser pads a batch to its longest video with zeros in both modalities. The models take
    only `audio` and `visual` (the serving contract), so they derive the mask here rather than
    take the parser's `mask`: a serving client that pads a batch the same way then also gets
    each video's own results. Segment t of a video is padding when its audio AND visual
    features are all exactly zero and so is every later segment; the first segment is always
    real. The mask is therefore a prefix of ones (what cuDNN's LSTM requires, and never an
    all-padding row, which cuDNN rejects) and it equals the parser's `mask` on its batches.

    Why this is safe for the paper's features: a real segment always has a nonzero visual map.
    VGG-19 pool5 maps are 25088 max-pooled ReLU outputs of conv5_4: to be all zero, all 512
    channels would have to be inactive at all 49 cells, which real frames (black or uniform
    ones included) do not do. Audio
    alone would not do: the AVE release's VGGish embeddings are ReLU outputs with ~65% exact
    zeros, so a quiet second may well be all zero; hence padding needs both to be zero.
    Otherwise, i.e. a real video ending in segments zero in both modalities (a writer that
    zero-fills missing seconds, or zero visual maps fed to an audio-only model): those segments
    are treated like padding; the temporal models skip them, MIL pooling leaves them out and
    their logits are whatever the model gives padding. A zero segment followed by a real one is
    never masked, nor is the first segment.

    The inputs are read in float32 whatever the dtype policy (no autocast), so tiny real
    values never round to zero. Cost, batch of 64 x 10 segments on CPU: 0.7 ms when every
    segment has nonzero audio (the visual maps are then not read); else one `!= 0` pass over
    the 7 x 7 x 512 maps, ~10 ms of CPU time (as much as averaging them over the cells).

    Args:
        **kwargs: keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        audio: float tensor `[batch, time, ...]` (128-d embeddings or spatial audio maps).
        visual: float tensor `[batch, time, ...]` (e.g. 7 x 7 x 512 maps).

    Returns:
        `[batch, time]` float32, 1 for real segments and 0 for padding (the parser's `mask`
        convention).

    Example:
    ```python
    audio = np.zeros((2, 4, 128), "float32"); audio[0, :2] = 1; audio[1] = 1
    visual = np.zeros((2, 4, 7, 7, 512), "float32")
    SegmentMask()(audio, visual)  # [[1, 1, 0, 0], [1, 1, 1, 1]]
    ```
    """

    def __init__(self, **kwargs):
        kwargs.pop("autocast", None)
        super().__init__(autocast=False, **kwargs)

    @staticmethod
    def _nonzero(features):
        """[batch, time] bool: any value of the segment differs from zero (NaN counts)."""
        shape = ops.shape(features)
        flat = ops.reshape(features, (shape[0], shape[1], -1))
        # `!= 0` then any: 7x faster on CPU than max(abs(.)), which materializes abs.
        return ops.any(ops.not_equal(flat, 0), axis=-1)

    def call(self, audio, visual):
        audio_nonzero = self._nonzero(audio)
        # The visual maps are 196x the audio: read them only when some segment's audio is all
        # zero (padding, a silent second); unpadded AVE batches (T = 10 for all) skip them.
        nonzero = ops.cond(
            ops.all(audio_nonzero),
            lambda: audio_nonzero,
            lambda: ops.logical_or(audio_nonzero, self._nonzero(visual)),
        )
        # Real when a nonzero segment comes at or after t: a suffix count over time.
        later = ops.flip(ops.cumsum(ops.cast(ops.flip(nonzero, 1), "int32"), axis=1), 1)
        first = ops.expand_dims(ops.equal(ops.arange(ops.shape(nonzero)[1]), 0), 0)
        return ops.cast(ops.logical_or(later > 0, first), "float32")

    def compute_output_shape(self, audio_shape, visual_shape):
        return tuple(audio_shape[:2])
