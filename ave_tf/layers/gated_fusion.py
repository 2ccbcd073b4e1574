"""Gated fusion (Table 2 "Gated")."""

import keras
from keras import ops

from ave_tf.layers._projecting_fusion import ProjectingFusion


@keras.saving.register_keras_serializable(package="ave_tf")
class GatedFusion(ProjectingFusion):
    """Fuses audio and visual features by letting the audio gate the visual projection.

    `h = W_a a + sigmoid(G a + b_g) * (W_v v + b_v)`, the "Gated" method of Kiela et al. in
    which one modality gates the other. Interpretation: the paper gives no formula; the audio is
    the gating modality (it is the guiding modality throughout the paper) and its own
    projection is added so the fused vector keeps the audio content when the gate closes.

    Args:
        units: int. Size of the fused vector.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments / returns: `audio` `[..., audio_dim]` and `visual` `[..., visual_dim]`
    (same leading shape) -> `[..., units]`, the visual projection gated by the audio.

    Example:
    ```python
    fused = GatedFusion(128)(np.ones((2, 10, 128)), np.ones((2, 10, 512)))
    ```

    Reference:
        Tian et al., ECCV 2018, Table 2; Kiela et al., AAAI 2018.
    """

    def build(self, audio_shape, visual_shape):
        self.audio_projection = self._dense("audio_projection", audio_shape, use_bias=False)
        self.gate = self._dense("gate", audio_shape, activation="sigmoid")
        self.visual_projection = self._dense("visual_projection", visual_shape)

    def call(self, audio, visual):
        gated_visual = ops.multiply(self.gate(audio), self.visual_projection(visual))
        return self.audio_projection(audio) + gated_visual
