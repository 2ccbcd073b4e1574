"""CACE-Net's co-guided attention: audio guides the visual maps, and vision guides the audio."""

import keras
from keras import ops

from ave_tf.layers.audio_guided_spatial_channel_attention import (
    AudioGuidedSpatialChannelAttention,
)


@keras.saving.register_keras_serializable(package="ave_tf")
class CoGuidedSpatialChannelAttention(AudioGuidedSpatialChannelAttention):
    """CMBS's audio-guided spatial-channel attention plus a visual-guided audio attention, as
    CACE-Net's code computes them together (`Co_Guided_Attention`, CACE/model/models.py).

    The visual output and the attention map are `AudioGuidedSpatialChannelAttention`'s (same
    weights, same steps). The audio of every segment is then re-weighted by the video:

    1. A second cell self-attention (its own query/key/value projections, the *same* LayerNorm
       as the first one, as in their code): `y2 = LayerNorm(x + dropout(softmax(q2 k2^T) v2))`.
    2. Audio self-attention over the segments (no 1/sqrt(d) scaling):
       `b = LayerNorm_a(a + dropout(softmax(Q_a a (K_a a)^T) V_a a))`.
    3. Visual-guided audio attention over the segments: the query is a projection of each
       segment's mean cell `mean_n(y2)`, keys and values are projections of `b`:
       `g = softmax(W_q mean(y2) (W_k b)^T) W_v b`.
    4. Output audio `a + psai * sigmoid(g) * a`.

    Padded segments (`segment_mask` 0) are never attended to by the temporal attentions.

    Args:
        hidden_units: AGSCA's hidden width (theirs: 256).
        self_attention_reduction: the cell self-attentions' query/key width is C / this (4).
        beta: weight of AGSCA's visual-only gate (CACE-Net: 0.4).
        psai: weight of the visual guidance of the audio (their `--psai`, 0.3; 0 gives their
            "Audio-Guide" variant).
        dropout: dropout on the self-attentions' outputs (theirs: 0.2).
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        audio: `[batch, time, audio_dim]`.
        visual: `[batch, time, height, width, channels]`.
        segment_mask: optional `[batch, time]`, 1 for real segments.
        training: dropout on when True.

    Returns:
        `(visual_features, audio_features, attention)`: `[batch, time, channels]`,
        `[batch, time, audio_dim]` in the compute dtype, and the audio-guided spatial attention
        `[batch, time, height * width]` float32.

    Example:
    ```python
    layer = CoGuidedSpatialChannelAttention(hidden_units=8, psai=0.3)
    visual, audio, attention = layer(np.random.rand(2, 10, 6), np.random.rand(2, 10, 3, 3, 16))
    ```

    Reference:
        Zhang et al., "CACE-Net: Co-guidance Attention and Contrastive Enhancement for
        Effective Audio-Visual Event Localization", ACM MM 2024; github.com/Brain-Cog-Lab/
        CACE-Net CACE/model/models.py.
    """

    def __init__(
        self,
        hidden_units=256,
        self_attention_reduction=4,
        beta=0.4,
        psai=0.3,
        dropout=0.2,
        **kwargs,
    ):
        super().__init__(
            hidden_units=hidden_units,
            self_attention_reduction=self_attention_reduction,
            beta=beta,
            dropout=dropout,
            **kwargs,
        )
        self.psai = psai

    def build(self, audio_shape, visual_shape, segment_mask_shape=None):
        super().build(audio_shape, visual_shape)
        channels = visual_shape[-1]
        audio_dim = audio_shape[-1]
        cells = tuple(visual_shape[:2]) + (None, channels)
        reduced = channels // self.self_attention_reduction
        audio_shape = tuple(audio_shape)
        # Their Linear names in comments (model/models.py), for the weight loader.
        self.cell_query_2 = self._dense(reduced, name="cell_query_2")  # video_query2
        self.cell_key_2 = self._dense(reduced, name="cell_key_2")  # video_key2
        self.cell_value_2 = self._dense(channels, name="cell_value_2")  # video_value2
        self.audio_query = self._dense(audio_dim, name="audio_query")  # audio_query
        self.audio_key = self._dense(audio_dim, name="audio_key")  # audio_key
        self.audio_value = self._dense(audio_dim, name="audio_value")  # audio_value
        self.audio_norm = keras.layers.LayerNormalization(
            epsilon=1e-5, dtype=self.dtype_policy, name="audio_norm"
        )  # a_norm
        self.guide_query = self._dense(audio_dim, name="guide_query")  # v_query
        self.guide_key = self._dense(audio_dim, name="guide_key")  # vaudio_key
        self.guide_value = self._dense(audio_dim, name="guide_value")  # vaudio_value
        for layer in (self.cell_query_2, self.cell_key_2, self.cell_value_2):
            layer.build(cells)
        for layer in (self.audio_query, self.audio_key, self.audio_value, self.audio_norm):
            layer.build(audio_shape)
        self.guide_key.build(audio_shape)
        self.guide_value.build(audio_shape)
        self.guide_query.build(tuple(visual_shape[:2]) + (channels,))

    @staticmethod
    def _temporal_attention(queries, keys, values, segment_mask):
        """softmax(q k^T) v over the segments, padded keys left out."""
        energy = ops.cast(ops.einsum("btd,bsd->bts", queries, keys), "float32")
        if segment_mask is not None:
            keep = ops.expand_dims(ops.cast(segment_mask, "float32"), 1) > 0.5
            energy = ops.where(keep, energy, -1e9)
        weights = ops.cast(ops.softmax(energy, axis=-1), values.dtype)
        return ops.einsum("bts,bsd->btd", weights, values)

    def call(self, audio, visual, segment_mask=None, training=None):
        features, attention = super().call(audio, visual, training=training)
        shape = ops.shape(visual)
        x = ops.reshape(visual, (shape[0], shape[1], -1, shape[-1]))  # [B, T, N, C]
        energy = ops.einsum("btnd,btmd->btnm", self.cell_query_2(x), self.cell_key_2(x))
        attended = ops.einsum("btnm,btmc->btnc", ops.softmax(energy, axis=-1), self.cell_value_2(x))
        y2 = self.cell_norm(x + self.cell_dropout(attended, training=training))
        audio = ops.cast(audio, features.dtype)
        self_attended = self._temporal_attention(
            self.audio_query(audio), self.audio_key(audio), self.audio_value(audio), segment_mask
        )
        tmp = self.audio_norm(audio + self.cell_dropout(self_attended, training=training))
        guide = self._temporal_attention(
            self.guide_query(ops.mean(y2, axis=2)),
            self.guide_key(tmp),
            self.guide_value(tmp),
            segment_mask,
        )
        audio_features = audio + self.psai * ops.sigmoid(guide) * audio
        return features, audio_features, attention

    def compute_output_shape(self, audio_shape, visual_shape, segment_mask_shape=None):
        features, attention = super().compute_output_shape(audio_shape, visual_shape)
        return features, tuple(audio_shape), attention

    def get_config(self):
        config = super().get_config()
        config["psai"] = self.psai
        return config
