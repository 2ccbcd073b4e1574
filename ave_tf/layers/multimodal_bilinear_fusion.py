"""Multimodal (low-rank) bilinear fusion (Table 2 "MB")."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ave_tf")
class MultimodalBilinearFusion(keras.layers.Layer):
    """Fuses audio and visual features with a factorized (low-rank) bilinear map.

    A full bilinear map `h_j = a^T W_j v` has `audio_dim * visual_dim * units` weights; like
    Kiela et al. we use a factorized form, here the Hadamard low-rank form of Kim et al.:
    `h = P (tanh(U a + b_u) * tanh(V v + b_v)) + b_p` with `U`, `V` of rank `rank` and the
    output projection `P` to `units`.

    Args:
        units: int. Size of the fused vector.
        rank: int or None. Rank of the factorization; None uses `units`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        audio: float tensor `[..., audio_dim]`.
        visual: float tensor `[..., visual_dim]` with the same leading shape.

    Returns:
        `[..., units]`.

    Example:
    ```python
    fused = MultimodalBilinearFusion(128)(np.ones((2, 10, 128)), np.ones((2, 10, 512)))
    ```

    Reference:
        Tian et al., ECCV 2018, Table 2 ("MB"); Kiela et al., AAAI 2018; Kim et al.,
        "Hadamard Product for Low-rank Bilinear Pooling", ICLR 2017, eq. 4.
    """

    def __init__(self, units, rank=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # per segment: a time mask passes through
        self.units = units
        self.rank = rank

    def build(self, audio_shape, visual_shape):
        rank = self.rank or self.units
        self.audio_factor = keras.layers.Dense(
            rank, activation="tanh", dtype=self.dtype_policy, name="audio_factor"
        )
        self.visual_factor = keras.layers.Dense(
            rank, activation="tanh", dtype=self.dtype_policy, name="visual_factor"
        )
        self.output_projection = keras.layers.Dense(
            self.units, dtype=self.dtype_policy, name="output_projection"
        )
        self.audio_factor.build(audio_shape)
        self.visual_factor.build(visual_shape)
        self.output_projection.build(tuple(audio_shape[:-1]) + (rank,))

    def call(self, audio, visual):
        joint = ops.multiply(self.audio_factor(audio), self.visual_factor(visual))
        return self.output_projection(joint)

    def compute_output_shape(self, audio_shape, visual_shape):
        return tuple(audio_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "rank": self.rank})
        return config
