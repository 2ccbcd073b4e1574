"""Top-k mean over time: a video-level score per channel from its k highest segments."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ave_tf")
class TopKTemporalPooling(keras.layers.Layer):
    """Mean of the `k` largest values over time, per channel (CMBS's class activation
    sequences -> video scores: sort descending over time, mean of the first 4). A video
    with fewer than `k` real segments averages all of them, as slicing `[:k]` does.

    Args:
        k: how many segments to average (CMBS: 4).
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        sequence: `[batch, time, channels]`.
        segment_mask: optional `[batch, time]`, 1 for real segments; padding is never chosen.

    Returns:
        `[batch, channels]`.

    Example:
    ```python
    TopKTemporalPooling(k=4)(np.random.rand(2, 10, 28))  # (2, 28)
    ```

    Reference:
        Xia and Zhao, CVPR 2022, section 3.4 (github.com/marmot-xy/CMBS model/main_model.py);
        the top-k MIL pooling of W-TALC (Paul et al., ECCV 2018).
    """

    def __init__(self, k=4, **kwargs):
        super().__init__(**kwargs)
        if k < 1:
            raise ValueError(f"{self.name}: k must be >= 1, got {k}")
        self.k = k

    def call(self, sequence, segment_mask=None):
        dtype = keras.backend.standardize_dtype(sequence.dtype)
        if segment_mask is None:
            segment_mask = ops.ones(ops.shape(sequence)[:2], dtype)
        mask = ops.cast(segment_mask, dtype)
        lowest = ops.cast(-6e4 if dtype == "float16" else -1e9, dtype)
        masked = ops.where(ops.expand_dims(mask, -1) > 0, sequence, lowest)
        top = -ops.sort(-masked, axis=1)[:, : self.k]  # descending; fewer rows when T < k
        real = ops.sum(mask, axis=1, keepdims=True)  # [B, 1]
        ranks = ops.cast(ops.arange(ops.shape(top)[1]), dtype)
        chosen = ops.cast(ops.expand_dims(ranks, 0) < real, dtype)  # [B, k']
        total = ops.sum(top * ops.expand_dims(chosen, -1), axis=1)
        return total / ops.maximum(ops.sum(chosen, axis=1, keepdims=True), 1.0)

    def compute_mask(self, sequence, previous_mask=None):
        return None

    def compute_output_shape(self, sequence_shape, segment_mask_shape=None):
        return (sequence_shape[0], sequence_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"k": self.k})
        return config
