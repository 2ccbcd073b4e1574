"""Gated multimodal unit fusion (Table 2 "GMU")."""

import keras
from keras import ops

from ave_tf.layers._projecting_fusion import ProjectingFusion


@keras.saving.register_keras_serializable(package="ave_tf")
class GatedMultimodalUnit(ProjectingFusion):
    """Fuses audio and visual features with a gated multimodal unit (GMU).

    `h = z * tanh(W_a a) + (1 - z) * tanh(W_v v)` with `z = sigmoid(W_z [a; v])` (Arevalo et
    al., bimodal GMU): a learned, per-unit convex combination of the two modalities.

    Args:
        units: int. Size of the fused vector.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments / returns: `audio` `[..., audio_dim]` and `visual` `[..., visual_dim]`
    (same leading shape) -> `[..., units]`, the gate-weighted mix of the two projections.

    Example:
    ```python
    fused = GatedMultimodalUnit(128)(np.ones((2, 10, 128)), np.ones((2, 10, 512)))
    ```

    Reference:
        Tian et al., ECCV 2018, Table 2 ("GMU"); Arevalo et al., "Gated Multimodal Units for
        Information Fusion", ICLR workshop 2017, eqs. 1-4.
    """

    def build(self, audio_shape, visual_shape):
        joint_shape = tuple(audio_shape[:-1]) + (audio_shape[-1] + visual_shape[-1],)
        self.audio_transform = self._dense(
            "audio_transform", audio_shape, activation="tanh", use_bias=False
        )
        self.visual_transform = self._dense(
            "visual_transform", visual_shape, activation="tanh", use_bias=False
        )
        self.gate = self._dense("gate", joint_shape, activation="sigmoid", use_bias=False)

    def call(self, audio, visual):
        z = self.gate(ops.concatenate([audio, visual], axis=-1))
        return z * self.audio_transform(audio) + (1.0 - z) * self.visual_transform(visual)
