"""Gated fusion (Table 2 "Gated")."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ave_tf")
class GatedFusion(keras.layers.Layer):
    """Fuses audio and visual features by letting the audio gate the visual projection.

    `h = W_a a + sigmoid(G a + b_g) * (W_v v + b_v)`, the "Gated" method of Kiela et al. in
    which one modality gates the other. Interpretation: the paper gives no formula; the audio is
    the gating modality (it is the guiding modality throughout the paper) and its own
    projection is added so the fused vector keeps the audio content when the gate closes.

    Args:
        units: int. Size of the fused vector.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        audio: float tensor `[..., audio_dim]`, the gating modality.
        visual: float tensor `[..., visual_dim]` with the same leading shape.

    Returns:
        `[..., units]`.

    Example:
    ```python
    fused = GatedFusion(128)(np.ones((2, 10, 128)), np.ones((2, 10, 512)))
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
            self.units, use_bias=False, dtype=self.dtype_policy, name="audio_projection"
        )
        self.gate = keras.layers.Dense(
            self.units, activation="sigmoid", dtype=self.dtype_policy, name="gate"
        )
        self.visual_projection = keras.layers.Dense(
            self.units, dtype=self.dtype_policy, name="visual_projection"
        )
        self.audio_projection.build(audio_shape)
        self.gate.build(audio_shape)
        self.visual_projection.build(visual_shape)

    def call(self, audio, visual):
        gated_visual = ops.multiply(self.gate(audio), self.visual_projection(visual))
        return self.audio_projection(audio) + gated_visual

    def compute_output_shape(self, audio_shape, visual_shape):
        return tuple(audio_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config
