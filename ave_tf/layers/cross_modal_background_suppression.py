"""CMBS's segment-level (temporal) background suppression: event-relevance gates per modality."""

import keras
from keras import ops

GATE_COMBINATIONS = ("product", "mean")
RESIDUALS = ("add", "interpolate")


@keras.saving.register_keras_serializable(package="ave_tf")
class CrossModalBackgroundSuppression(keras.layers.Layer):
    """Scales each modality's segment features by an event-relevance gate computed from (by
    default) the *other* modality, so segments where the other modality sees no event are
    suppressed (CMBS section 3.4, temporal-level background suppression).

    `g_a = sigmoid(w_a . s_a + b_a)` gates the audio stream and `g_v = sigmoid(w_v . s_v + b_v)`
    the visual one, where `s_a`, `s_v` are the gate sources the caller passes: CMBS's supervised
    code gates audio by the encoded *visual* segments and visual by the encoded audio; its weak
    code uses each modality's own. Then, with `residual="add"` (supervised code)
    `x <- x + alpha * g * x`, with `"interpolate"` (weak code) `x <- (1 - alpha) x + alpha g x`.
    The joint gate, `g_a * g_v` (`combine="product"`, supervised; trained towards the event
    labels) or `(g_a + g_v) / 2` (`"mean"`, weak; it weights the video prediction), is
    returned as well.

    Args:
        alpha: strength of the suppression (CMBS: 0.1 supervised, 0.2 weak).
        combine: "product" or "mean", how the joint gate is formed.
        residual: "add" or "interpolate", how the gate scales the features.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        audio: `[batch, time, dim]` audio segment features to gate.
        visual: `[batch, time, dim]` visual segment features to gate.
        audio_gate_source: `[batch, time, d]` the features that decide the audio gate.
        visual_gate_source: `[batch, time, d]` the features that decide the visual gate.

    Returns:
        `(audio, visual, gate)`: the gated features and the joint gate `[batch, time]` in (0, 1).

    Example:
    ```python
    x = np.random.rand(2, 10, 8)
    audio, visual, gate = CrossModalBackgroundSuppression(alpha=0.1)(x, x, x, x)
    ```

    Reference:
        Xia and Zhao, CVPR 2022, section 3.4 (github.com/marmot-xy/CMBS model/main_model.py:
        `audio_gated`, `video_gated`).
    """

    def __init__(self, alpha=0.1, combine="product", residual="add", **kwargs):
        super().__init__(**kwargs)
        if combine not in GATE_COMBINATIONS:
            raise ValueError(f"{self.name}: combine must be one of {GATE_COMBINATIONS}")
        if residual not in RESIDUALS:
            raise ValueError(f"{self.name}: residual must be one of {RESIDUALS}")
        self.alpha = alpha
        self.combine = combine
        self.residual = residual

    def build(self, audio_shape, visual_shape, audio_gate_source_shape, visual_gate_source_shape):
        self.audio_gate = keras.layers.Dense(
            1, activation="sigmoid", dtype=self.dtype_policy, name="audio_gate"
        )
        self.visual_gate = keras.layers.Dense(
            1, activation="sigmoid", dtype=self.dtype_policy, name="visual_gate"
        )
        self.audio_gate.build(audio_gate_source_shape)
        self.visual_gate.build(visual_gate_source_shape)

    def _scale(self, features, gate):
        gate = ops.cast(gate, features.dtype)
        if self.residual == "add":
            return features + self.alpha * gate * features
        return (1.0 - self.alpha) * features + self.alpha * gate * features

    def call(self, audio, visual, audio_gate_source, visual_gate_source):
        audio_gate = self.audio_gate(audio_gate_source)
        visual_gate = self.visual_gate(visual_gate_source)
        if self.combine == "product":
            gate = audio_gate * visual_gate
        else:
            gate = (audio_gate + visual_gate) / 2.0
        return self._scale(audio, audio_gate), self._scale(visual, visual_gate), gate[..., 0]

    def compute_output_shape(self, audio_shape, visual_shape, *gate_source_shapes):
        return tuple(audio_shape), tuple(visual_shape), tuple(audio_shape[:-1])

    def get_config(self):
        config = super().get_config()
        config.update({"alpha": self.alpha, "combine": self.combine, "residual": self.residual})
        return config
