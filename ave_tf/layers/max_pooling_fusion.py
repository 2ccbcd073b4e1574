"""Max-pooling fusion (Table 2 "MP")."""

import keras
from keras import ops

from ave_tf.layers._projecting_fusion import ProjectingFusion


@keras.saving.register_keras_serializable(package="ave_tf")
class MaxPoolingFusion(ProjectingFusion):
    """Fuses audio and visual features by an element-wise max of their projections.

    `h = max(W_a a + b_a, W_v v + b_v)`, the "Max pooling" method of Kiela et al. (Table 2,
    "MP"). Both modalities are projected to `units` first so that any input sizes can be fused.

    Args:
        units: int. Size of the fused vector.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments / returns: `audio` `[..., audio_dim]` and `visual` `[..., visual_dim]`
    (same leading shape) -> `[..., units]`, the element-wise max of the two projections.

    Example:
    ```python
    fused = MaxPoolingFusion(128)(np.ones((2, 10, 128)), np.ones((2, 10, 512)))
    ```

    Reference:
        Tian et al., ECCV 2018, Table 2; Kiela et al., AAAI 2018.
    """

    def build(self, audio_shape, visual_shape):
        self.audio_projection = self._dense("audio_projection", audio_shape)
        self.visual_projection = self._dense("visual_projection", visual_shape)

    def call(self, audio, visual):
        return ops.maximum(self.audio_projection(audio), self.visual_projection(visual))
