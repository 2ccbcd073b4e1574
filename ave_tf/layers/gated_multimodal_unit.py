"""Gated multimodal unit fusion (Table 2 "GMU")."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ave_tf")
class GatedMultimodalUnit(keras.layers.Layer):
    """Fuses audio and visual features with a gated multimodal unit (GMU).

    `h = z * tanh(W_a a) + (1 - z) * tanh(W_v v)` with `z = sigmoid(W_z [a; v])` (Arevalo et
    al., bimodal GMU): a learned, per-unit convex combination of the two modalities.

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
    fused = GatedMultimodalUnit(128)(np.ones((2, 10, 128)), np.ones((2, 10, 512)))
    ```

    Reference:
        Tian et al., ECCV 2018, Table 2 ("GMU"); Arevalo et al., "Gated Multimodal Units for
        Information Fusion", ICLR workshop 2017, eqs. 1-4.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # per segment: a time mask passes through
        self.units = units

    def build(self, audio_shape, visual_shape):
        self.audio_transform = keras.layers.Dense(
            self.units,
            activation="tanh",
            use_bias=False,
            dtype=self.dtype_policy,
            name="audio_transform",
        )
        self.visual_transform = keras.layers.Dense(
            self.units,
            activation="tanh",
            use_bias=False,
            dtype=self.dtype_policy,
            name="visual_transform",
        )
        self.gate = keras.layers.Dense(
            self.units, activation="sigmoid", use_bias=False, dtype=self.dtype_policy, name="gate"
        )
        self.audio_transform.build(audio_shape)
        self.visual_transform.build(visual_shape)
        self.gate.build(tuple(audio_shape[:-1]) + (audio_shape[-1] + visual_shape[-1],))

    def call(self, audio, visual):
        z = self.gate(ops.concatenate([audio, visual], axis=-1))
        return z * self.audio_transform(audio) + (1.0 - z) * self.visual_transform(visual)

    def compute_output_shape(self, audio_shape, visual_shape):
        return tuple(audio_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config
