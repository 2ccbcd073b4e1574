"""CMBS's audio-guided spatial-channel attention (AGSCA; Xia and Zhao, CVPR 2022)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ave_tf")
class AudioGuidedSpatialChannelAttention(keras.layers.Layer):
    """Pools each segment's visual map into one vector with audio-guided channel and spatial
    attention, as CMBS's code does it (`New_Audio_Guided_Attention`, model/models.py).

    For a segment with cells `x_n` (N = H * W) and audio `a`:

    1. Cell self-attention: `y = LayerNorm(x + dropout(softmax(q k^T) v))` with `q, k` linear
       projections to C / `self_attention_reduction` and `v` to C (no 1/sqrt(d) scaling).
    2. Visual-only spatial attention over `y`: `s_n = tanh(w . (relu(W y_n) * relu(U mean(y))))`,
       softmax over the cells, `f_self = sum_n softmax(s)_n y_n`.
    3. Channel attention guided by audio: `m = mean_n(relu(W_a a) * relu(W_v y_n))`,
       `g = sigmoid(W_2 relu(W_1 m))`, and the *raw* cells re-weighted `x_c = x * (1 + g)`.
    4. Spatial attention guided by audio: `s_n = tanh(w . (relu(W x_c,n) * relu(U a)))`,
       `alpha = softmax(s)` (the returned attention map), `f = sum_n alpha_n x_c,n`.
    5. Output `f + beta * sigmoid(f_self) * f`.

    The paper (section 3.2) describes channel then spatial attention only; steps 1-2 and the
    `(1 + g)` residual are in their code, whose docstring says it differs from the paper.
    Their module also holds an unused `ave_bottleneck` Linear, which has no counterpart here.

    Args:
        hidden_units: width of the bottleneck and of the spatial attention (theirs: 256).
        self_attention_reduction: the cell self-attention's query/key width is C / this (4).
        beta: weight of the visual-only spatial attention's gate (CMBS: 0.4 supervised, 0.5
            weak).
        dropout: dropout on the cell self-attention's output (theirs: 0.2).
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        audio: `[batch, time, audio_dim]`.
        visual: `[batch, time, height, width, channels]`.
        training: dropout on when True.

    Returns:
        `(features, attention)`: `[batch, time, channels]` in the compute dtype and the audio-
        guided spatial attention `[batch, time, height * width]` float32 (rows sum to 1).

    Example:
    ```python
    layer = AudioGuidedSpatialChannelAttention(hidden_units=8)
    features, attention = layer(np.random.rand(2, 10, 6), np.random.rand(2, 10, 3, 3, 16))
    ```

    Reference:
        Xia and Zhao, "Cross-Modal Background Suppression for Audio-Visual Event
        Localization", CVPR 2022, section 3.2; github.com/marmot-xy/CMBS model/models.py.
    """

    def __init__(
        self, hidden_units=256, self_attention_reduction=4, beta=0.4, dropout=0.2, **kwargs
    ):
        super().__init__(**kwargs)
        if hidden_units < 1 or self_attention_reduction < 1:
            raise ValueError(
                f"{self.name}: hidden_units and self_attention_reduction must be >= 1, got "
                f"{hidden_units} and {self_attention_reduction}"
            )
        self.hidden_units = hidden_units
        self.self_attention_reduction = self_attention_reduction
        self.beta = beta
        self.dropout = dropout

    def _dense(self, units, activation=None, name=None):
        return keras.layers.Dense(units, activation=activation, dtype=self.dtype_policy, name=name)

    def build(self, audio_shape, visual_shape):
        channels = visual_shape[-1]
        if channels // self.self_attention_reduction < 1:
            raise ValueError(f"{self.name}: {channels} channels < self_attention_reduction")
        cells = tuple(visual_shape[:2]) + (None, channels)
        hidden = tuple(visual_shape[:2]) + (None, self.hidden_units)
        segment = tuple(visual_shape[:2]) + (channels,)
        reduced = channels // self.self_attention_reduction
        relu, h = "relu", self.hidden_units
        # Their Linear names in comments (model/models.py), for the weight loader.
        self.cell_query = self._dense(reduced, name="cell_query")  # video_query
        self.cell_key = self._dense(reduced, name="cell_key")  # video_key
        self.cell_value = self._dense(channels, name="cell_value")  # video_value
        self.cell_norm = keras.layers.LayerNormalization(
            epsilon=1e-5, dtype=self.dtype_policy, name="cell_norm"
        )  # norm
        self.cell_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.self_average = self._dense(h, relu, "self_average")  # affine_video_ave
        self.self_cells = self._dense(h, relu, "self_cells")  # affine_video_3
        self.self_score = self._dense(1, name="self_score")  # ave_v_att
        self.channel_audio = self._dense(channels, relu, "channel_audio")  # affine_audio_1
        self.channel_cells = self._dense(channels, relu, "channel_cells")  # affine_video_1
        self.channel_bottleneck = self._dense(h, relu, "channel_bottleneck")  # affine_bottleneck
        self.channel_gate = self._dense(channels, "sigmoid", "channel_gate")  # affine_v_c_att
        self.spatial_cells = self._dense(h, relu, "spatial_cells")  # affine_video_2
        self.spatial_audio = self._dense(h, relu, "spatial_audio")  # affine_audio_2
        self.spatial_score = self._dense(1, name="spatial_score")  # affine_v_s_att
        for layer in (self.cell_query, self.cell_key, self.cell_value, self.cell_norm):
            layer.build(cells)
        for layer in (self.self_cells, self.channel_cells, self.spatial_cells):
            layer.build(cells)
        self.self_average.build(segment)
        self.self_score.build(hidden)
        self.spatial_score.build(hidden)
        self.channel_audio.build(tuple(audio_shape))
        self.spatial_audio.build(tuple(audio_shape))
        self.channel_bottleneck.build(segment)
        self.channel_gate.build(segment[:-1] + (h,))

    @staticmethod
    def _pool(scores, cells):
        """softmax(tanh(scores)) over the cells, and the weighted sum of the cells."""
        weights = ops.softmax(ops.tanh(scores[..., 0]), axis=-1)
        return weights, ops.einsum("btn,btnc->btc", weights, cells)

    def call(self, audio, visual, training=None):
        shape = ops.shape(visual)
        x = ops.reshape(visual, (shape[0], shape[1], -1, shape[-1]))  # [B, T, N, C]
        # 1. Self-attention among the cells of a segment.
        energy = ops.einsum("btnd,btmd->btnm", self.cell_query(x), self.cell_key(x))
        attended = ops.einsum("btnm,btmc->btnc", ops.softmax(energy, axis=-1), self.cell_value(x))
        y = self.cell_norm(x + self.cell_dropout(attended, training=training))
        # 2. Visual-only spatial attention.
        average = ops.expand_dims(self.self_average(ops.mean(y, axis=2)), 2)
        _, self_features = self._pool(self.self_score(self.self_cells(y) * average), y)
        # 3. Audio-guided channel attention on the raw cells.
        audio_channels = ops.expand_dims(self.channel_audio(audio), 2)
        joint = ops.mean(audio_channels * self.channel_cells(y), axis=2)
        gate = self.channel_gate(self.channel_bottleneck(joint))
        x_c = x * (ops.expand_dims(gate, 2) + 1.0)
        # 4. Audio-guided spatial attention.
        audio_spatial = ops.expand_dims(self.spatial_audio(audio), 2)
        attention, features = self._pool(
            self.spatial_score(self.spatial_cells(x_c) * audio_spatial), x_c
        )
        # 5. Gated by the visual-only attention's features.
        features = features + self.beta * ops.sigmoid(self_features) * features
        return features, ops.cast(attention, "float32")

    def compute_output_shape(self, audio_shape, visual_shape):
        cells = None
        if visual_shape[2] is not None and visual_shape[3] is not None:
            cells = visual_shape[2] * visual_shape[3]
        prefix = tuple(visual_shape[:2])
        return prefix + (visual_shape[-1],), prefix + (cells,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_units": self.hidden_units,
                "self_attention_reduction": self.self_attention_reduction,
                "beta": self.beta,
                "dropout": self.dropout,
            }
        )
        return config
