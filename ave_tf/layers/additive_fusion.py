"""Additive fusion (Table 2 "Additive")."""

import keras


@keras.saving.register_keras_serializable(package="ave_tf")
class AdditiveFusion(keras.layers.Layer):
    """Fuses audio and visual features by summing their linear projections.

    `h = W_a a + W_v v + b`: both modalities are projected to `units` (so inputs of different
    sizes can be fused) and added element-wise, the "Additive" method of Kiela et al. that the
    paper compares in Table 2. The same function is the `f` of the DMRN block (eqs. 5-6).

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
    fused = AdditiveFusion(128)(np.ones((2, 10, 128)), np.ones((2, 10, 512)))  # (2, 10, 128)
    ```

    Reference:
        Tian et al., ECCV 2018, Table 2; Kiela et al., "Efficient Large-Scale Multi-Modal
        Classification", AAAI 2018.
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
            self.units, use_bias=False, dtype=self.dtype_policy, name="visual_projection"
        )
        self.audio_projection.build(audio_shape)
        self.visual_projection.build(visual_shape)

    def call(self, audio, visual):
        return self.audio_projection(audio) + self.visual_projection(visual)

    def compute_output_shape(self, audio_shape, visual_shape):
        return tuple(audio_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config
