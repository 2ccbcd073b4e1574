"""Additive fusion (Table 2 "Additive")."""

import keras

from ave_tf.layers._projecting_fusion import ProjectingFusion


@keras.saving.register_keras_serializable(package="ave_tf")
class AdditiveFusion(ProjectingFusion):
    """Fuses audio and visual features by summing their linear projections.

    `h = W_a a + W_v v + b`: both modalities are projected to `units` (so inputs of different
    sizes can be fused) and added element-wise, the "Additive" method of Kiela et al. that the
    paper compares in Table 2. The same function is the `f` of the DMRN block (eqs. 5-6).

    Args:
        units: int. Size of the fused vector.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments / returns: `audio` `[..., audio_dim]` and `visual` `[..., visual_dim]`
    (same leading shape) -> `[..., units]`, their sum after projection.

    Example:
    ```python
    fused = AdditiveFusion(128)(np.ones((2, 10, 128)), np.ones((2, 10, 512)))  # (2, 10, 128)
    ```

    Reference:
        Tian et al., ECCV 2018, Table 2; Kiela et al., "Efficient Large-Scale Multi-Modal
        Classification", AAAI 2018.
    """

    def build(self, audio_shape, visual_shape):
        self.audio_projection = self._dense("audio_projection", audio_shape)
        self.visual_projection = self._dense("visual_projection", visual_shape, use_bias=False)

    def call(self, audio, visual):
        return self.audio_projection(audio) + self.visual_projection(visual)
