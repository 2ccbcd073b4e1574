"""Gated multimodal bilinear fusion (Table 2 "GMB")."""

import keras
from keras import ops

from ave_tf.layers._projecting_fusion import ProjectingFusion
from ave_tf.layers.multimodal_bilinear_fusion import MultimodalBilinearFusion


@keras.saving.register_keras_serializable(package="ave_tf")
class GatedMultimodalBilinearFusion(ProjectingFusion):
    """Fuses audio and visual features with an audio-gated low-rank bilinear interaction.

    `h = W_a a + sigmoid(G a + b_g) * B(a, v)` where `B` is `MultimodalBilinearFusion`.
    Interpretation (the paper gives no formula): `GatedFusion` with the projected visual
    replaced by the bilinear audio-visual interaction, i.e. Kiela et al.'s gated bilinear
    variant with the audio as the gating modality.

    Args:
        units: int. Size of the fused vector.
        rank: int or None. Rank of the bilinear factorization; None uses `units`.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments / returns: `audio` `[..., audio_dim]` and `visual` `[..., visual_dim]`
    (same leading shape) -> `[..., units]`, their low-rank bilinear product gated by the audio.

    Example:
    ```python
    fused = GatedMultimodalBilinearFusion(128)(np.ones((2, 10, 128)), np.ones((2, 10, 512)))
    ```

    Reference:
        Tian et al., ECCV 2018, Table 2 ("GMB"); Kiela et al., AAAI 2018.
    """

    def __init__(self, units, rank=None, **kwargs):
        super().__init__(units, **kwargs)
        self.rank = rank

    def build(self, audio_shape, visual_shape):
        self.audio_projection = self._dense("audio_projection", audio_shape, use_bias=False)
        self.gate = self._dense("gate", audio_shape, activation="sigmoid")
        self.bilinear = MultimodalBilinearFusion(
            self.units, rank=self.rank, dtype=self.dtype_policy, name="bilinear"
        )
        self.bilinear.build(audio_shape, visual_shape)

    def call(self, audio, visual):
        gated = ops.multiply(self.gate(audio), self.bilinear(audio, visual))
        return self.audio_projection(audio) + gated

    def get_config(self):
        config = super().get_config()
        config.update({"rank": self.rank})
        return config
