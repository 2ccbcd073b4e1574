"""Visual-guided audio attention (supplementary section 3.2)."""

import keras

from ave_tf.layers._guided_spatial_attention import GuidedSpatialAttentionBase


@keras.saving.register_keras_serializable(package="ave_tf")
class VisualGuidedAudioAttention(GuidedSpatialAttentionBase):
    """Pools each segment's spatial audio feature map with weights predicted from its visual.

    The mirror image of `AudioGuidedVisualAttention` (eqs. 2-4 with the roles swapped), for
    audio features that keep a time-frequency grid, such as VGGish pool5 maps of a 96 x 64
    log-mel patch (6 x 4 x 512). The guiding visual vector is typically the global average of
    the visual feature map. The supplementary material reports that this attention does not
    help (its Table 3, model A'-att); it is provided to reproduce that comparison.

    Args:
        projection_dim: int. Output size d of the audio and visual projections.
        hidden_dim: int. Size of the hidden layer before the per-cell score.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        audio: float tensor `[batch, time, height, width, channels]`, spatial audio maps.
        visual: float tensor `[batch, time, visual_dim]`, the guiding visual vectors.

    Returns:
        A tuple `(attended, attention)`: `attended` `[batch, time, channels]` and `attention`
        `[batch, time, height * width]` float32.

    Example:
    ```python
    audio = np.random.rand(2, 10, 6, 4, 512).astype("float32")
    visual = np.random.rand(2, 10, 512).astype("float32")
    attended, attention = VisualGuidedAudioAttention()(audio, visual)
    # attended: (2, 10, 512), attention: (2, 10, 24)
    ```

    Reference:
        Tian et al., ECCV 2018, supplementary material section 3.2 and Table 3; main paper
        eqs. 2-4.
    """

    def build(self, audio_shape, visual_shape):
        self._build_attention(guide_shape=visual_shape, grid_shape=audio_shape)

    def call(self, audio, visual):
        return self._attend(guide=visual, grid=audio)
