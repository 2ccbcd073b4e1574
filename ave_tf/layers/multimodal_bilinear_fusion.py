"""Multimodal (low-rank) bilinear fusion (Table 2 "MB")."""

import keras
from keras import ops

from ave_tf.layers._projecting_fusion import ProjectingFusion


@keras.saving.register_keras_serializable(package="ave_tf")
class MultimodalBilinearFusion(ProjectingFusion):
    """Fuses audio and visual features with a factorized (low-rank) bilinear map.

    A full bilinear map `h_j = a^T W_j v` has `audio_dim * visual_dim * units` weights; like
    Kiela et al. we use a factorized form, here the Hadamard low-rank form of Kim et al.:
    `h = P (tanh(U a + b_u) * tanh(V v + b_v)) + b_p` with `U`, `V` of rank `rank` and the
    output projection `P` to `units`.

    Args:
        units: int. Size of the fused vector.
        rank: int or None. Rank of the factorization; None uses `units`.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments / returns: `audio` `[..., audio_dim]` and `visual` `[..., visual_dim]`
    (same leading shape) -> `[..., units]`, their low-rank bilinear product.

    Example:
    ```python
    fused = MultimodalBilinearFusion(128)(np.ones((2, 10, 128)), np.ones((2, 10, 512)))
    ```

    Reference:
        Tian et al., ECCV 2018, Table 2 ("MB"); Kiela et al., AAAI 2018; Kim et al.,
        "Hadamard Product for Low-rank Bilinear Pooling", ICLR 2017, eq. 4.
    """

    def __init__(self, units, rank=None, **kwargs):
        super().__init__(units, **kwargs)
        self.rank = rank

    def build(self, audio_shape, visual_shape):
        rank = self.rank or self.units
        self.audio_factor = self._dense("audio_factor", audio_shape, rank, activation="tanh")
        self.visual_factor = self._dense("visual_factor", visual_shape, rank, activation="tanh")
        self.output_projection = self._dense("output_projection", tuple(audio_shape[:-1]) + (rank,))

    def call(self, audio, visual):
        joint = ops.multiply(self.audio_factor(audio), self.visual_factor(visual))
        return self.output_projection(joint)

    def get_config(self):
        config = super().get_config()
        config.update({"rank": self.rank})
        return config
