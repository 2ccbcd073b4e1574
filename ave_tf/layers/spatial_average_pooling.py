"""Global average pooling of segment feature maps, shaped like an attention layer's output."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ave_tf")
class SpatialAveragePooling(keras.layers.Layer):
    """Averages each segment's feature map over its cells and reports the uniform weights.

    The no-attention baseline of the paper (models V and A+V feed "global average pooling
    visual features" into the LSTM, section 4.1). It returns the same pair as the attention
    layers, `(pooled, weights)` with `weights = 1 / cells` everywhere, so that every model can
    expose an attention map.

    Args:
        **kwargs: keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        features: float tensor `[..., height, width, channels]`.

    Returns:
        A tuple `(pooled, weights)`: `pooled` `[..., channels]` and `weights`
        `[..., height * width]` float32, all equal to `1 / (height * width)`.

    Example:
    ```python
    visual = np.random.rand(2, 10, 7, 7, 512).astype("float32")
    pooled, weights = SpatialAveragePooling()(visual)  # (2, 10, 512), (2, 10, 49)
    ```

    Reference:
        Tian et al., ECCV 2018, sections 4.1 and 6.2 (V and A+V models); Lin et al., "Network
        in Network", 2013 (global average pooling).
    """

    def call(self, features):
        pooled = ops.mean(features, axis=(-3, -2))
        cells = features.shape[-3] * features.shape[-2]
        weights = ops.ones_like(ops.cast(features[..., 0, 0, :1], "float32"))
        weights = ops.repeat(weights / cells, cells, axis=-1)
        return pooled, weights
