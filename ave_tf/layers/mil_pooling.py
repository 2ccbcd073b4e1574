"""Multiple-instance-learning pooling for weak supervision (paper section 4.4, eq. 7)."""

import keras
from keras import ops

MIL_POOLING_MODES = ("mean", "max")


@keras.saving.register_keras_serializable(package="ave_tf")
class MILPooling(keras.layers.Layer):
    """Aggregates per-segment predictions into one video-level prediction.

    With only video-level labels, the model predicts `m_t` for every segment and trains on
    `m_hat = g(m_1, ..., m_T)`; the paper's `g` averages over segments (eq. 7, `mode="mean"`),
    `mode="max"` takes the element-wise maximum instead (the other common MIL pooling). A softmax
    of the result is the video's class distribution; segments are still predicted from `m_t`.

    Args:
        mode: "mean" (eq. 7) or "max".
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        segment_logits: float tensor `[batch, time, classes]`, the last FC outputs `m_t`.
        segment_mask: optional float or bool tensor `[batch, time]`, 1 for real segments and 0
            for padding; padded segments are excluded from the pooling.

    Returns:
        `[batch, classes]`, the video-level logits `m_hat`.

    Example:
    ```python
    video_logits = MILPooling()(np.random.rand(2, 10, 29))  # (2, 29)
    ```

    Reference:
        Tian et al., ECCV 2018, section 4.4, eq. 7; Wu et al., "Deep Multiple Instance
        Learning for Image Classification and Auto-Annotation", CVPR 2015.
    """

    def __init__(self, mode="mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in MIL_POOLING_MODES:
            raise ValueError(f"{self.name}: mode must be one of {MIL_POOLING_MODES}, got {mode!r}")
        self.mode = mode

    def call(self, segment_logits, segment_mask=None):
        if segment_mask is None:
            if self.mode == "mean":
                return ops.mean(segment_logits, axis=-2)
            return ops.max(segment_logits, axis=-2)
        mask = ops.expand_dims(ops.cast(segment_mask, segment_logits.dtype), -1)
        if self.mode == "mean":
            total = ops.sum(segment_logits * mask, axis=-2)
            return total / ops.maximum(ops.sum(mask, axis=-2), 1.0)
        # A finite stand-in for -inf that every float dtype (float16 included) can hold.
        dtype = keras.backend.standardize_dtype(segment_logits.dtype)
        lowest = ops.cast(-6e4 if dtype == "float16" else -1e9, dtype)
        return ops.max(ops.where(mask > 0, segment_logits, lowest), axis=-2)

    def compute_mask(self, segment_logits, previous_mask=None):
        return None  # one prediction per video: the time mask ends here

    def compute_output_shape(self, segment_logits_shape, segment_mask_shape=None):
        return tuple(segment_logits_shape[:-2]) + (segment_logits_shape[-1],)

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
