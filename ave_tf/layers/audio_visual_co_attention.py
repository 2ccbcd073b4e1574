"""Audio-visual co-attention (supplementary section 3.2)."""

import keras
from keras import ops

from ave_tf.layers.audio_guided_visual_attention import AudioGuidedVisualAttention
from ave_tf.layers.visual_guided_audio_attention import VisualGuidedAudioAttention


@keras.saving.register_keras_serializable(package="ave_tf")
class AudioVisualCoAttention(keras.layers.Layer):
    """Attends over spatial audio and visual maps at once, each guided by the other.

    The co-attention of the supplementary material integrates audio-guided visual attention
    and visual-guided audio attention. Interpretation (the text gives no equations): both
    attentions run in parallel, each guided by the global average of the *other* modality's
    map, so neither depends on the other's attention output; each is eqs. 2-4 of the paper.

    Args:
        projection_dim: int. Projection size d of both attentions.
        hidden_dim: int. Hidden size of both attentions.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        audio: float tensor `[batch, time, audio_height, audio_width, audio_channels]`.
        visual: float tensor `[batch, time, height, width, channels]`.

    Returns:
        A tuple `(attended_audio, attended_visual, audio_attention, visual_attention)` of
        shapes `[batch, time, audio_channels]`, `[batch, time, channels]`,
        `[batch, time, audio_height * audio_width]` and `[batch, time, height * width]`
        (attention maps in float32).

    Example:
    ```python
    audio = np.random.rand(2, 10, 6, 4, 512).astype("float32")
    visual = np.random.rand(2, 10, 7, 7, 512).astype("float32")
    audio_vec, visual_vec, audio_map, visual_map = AudioVisualCoAttention()(audio, visual)
    ```

    Reference:
        Tian et al., ECCV 2018, supplementary material section 3.2 and Table 3 (A'+V-co-att).
    """

    def __init__(self, projection_dim=512, hidden_dim=49, **kwargs):
        super().__init__(**kwargs)
        self.projection_dim = projection_dim
        self.hidden_dim = hidden_dim

    def build(self, audio_shape, visual_shape):
        self.visual_attention = AudioGuidedVisualAttention(
            self.projection_dim, self.hidden_dim, dtype=self.dtype_policy, name="visual_attention"
        )
        self.audio_attention = VisualGuidedAudioAttention(
            self.projection_dim, self.hidden_dim, dtype=self.dtype_policy, name="audio_attention"
        )
        audio_guide_shape = tuple(audio_shape[:-3]) + (audio_shape[-1],)
        visual_guide_shape = tuple(visual_shape[:-3]) + (visual_shape[-1],)
        self.visual_attention.build(audio_guide_shape, visual_shape)
        self.audio_attention.build(audio_shape, visual_guide_shape)

    def call(self, audio, visual):
        audio_guide = ops.mean(audio, axis=(-3, -2))
        visual_guide = ops.mean(visual, axis=(-3, -2))
        attended_visual, visual_weights = self.visual_attention(audio_guide, visual)
        attended_audio, audio_weights = self.audio_attention(audio, visual_guide)
        return attended_audio, attended_visual, audio_weights, visual_weights

    def get_config(self):
        config = super().get_config()
        config.update({"projection_dim": self.projection_dim, "hidden_dim": self.hidden_dim})
        return config
