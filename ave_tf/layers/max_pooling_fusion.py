"""Max-pooling fusion (Table 2 "MP")."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ave_tf")
class MaxPoolingFusion(keras.layers.Layer):
    """Fuses audio and visual features by an element-wise max of their projections.

    `h = max(W_a a + b_a, W_v v + b_v)`, the "Max pooling" method of Kiela et al. (Table 2,
    "MP"). Both modalities are projected to `units` first so that any input sizes can be fused.

    Args:
        units: int. Size of the fused vector.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        audio: float tensor `[..., audio_dim]`.
        visual: float tensor `[..., visual_dim]` with the same leading shape.

    Returns:
        `[..., units]`.

    Example:
    ```python
    fused = MaxPoolingFusion(128)(np.ones((2, 10, 128)), np.ones((2, 10, 512)))
    ```

    Reference:
        Tian et al., ECCV 2018, Table 2; Kiela et al., AAAI 2018.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # per segment: a time mask passes through
        self.units = units

    def build(self, audio_shape, visual_shape):
        self.audio_projection = keras.layers.Dense(
            self.units, dtype=self.dtype_policy, name="audio_projection"
        )
        self.visual_projection = keras.layers.Dense(
            self.units, dtype=self.dtype_policy, name="visual_projection"
        )
        self.audio_projection.build(audio_shape)
        self.visual_projection.build(visual_shape)

    def call(self, audio, visual):
        return ops.maximum(self.audio_projection(audio), self.visual_projection(visual))

    def compute_output_shape(self, audio_shape, visual_shape):
        return tuple(audio_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config
