"""CMBS: Cross-Modal Background Suppression (Xia and Zhao, CVPR 2022), supervised and weak.

The model as their code builds it (github.com/marmot-xy/CMBS, model/main_model.py:
`supv_main_model`, `weak_main_model`), on the AVE features (128-d VGGish audio, 7x7x512 VGG-19
pool5 maps):

1. `visual_fc`: Linear(512, 512) + ReLU + dropout on every cell (their "optional" adapter).
2. `spatial_channel_attention`: `AudioGuidedSpatialChannelAttention` (AGSCA) pools each
   segment's map into one 512-d vector; its audio-guided spatial map is the `attention` output.
3. Supervised only: BiLSTMs (`audio_rnn`: 128 per direction, `visual_rnn`: 256 per direction).
4. `visual_encoder`/`audio_encoder` (`TemporalRelationEncoder`, 2 layers) and
   `audio_decoder`/`visual_decoder` (`CrossModalRelationAttention`): each modality queries the
   other's encoded segments (CMRAN's cross-modal relation attention).
5. `background_suppression` (`CrossModalBackgroundSuppression`): event-relevance gates scale
   the two streams; the joint gate is an output (`background_gate`).
6. Event-level suppression: per-modality class activation sequences (`audio_cas`,
   `visual_cas`); supervised: their top-4 temporal means, averaged, are
   `class_activation_scores` [B, 28] and add `gamma` x themselves to the video classifier;
   weak: their sigmoids gate the fused class activation sequence.
7. `audio_visual_interaction` then `visual_audio_interaction` (`AudioVisualInteraction`), and
   the mean of the two streams.
8. Heads. Supervised: `event_head` Linear(d, 1) per segment (`event_scores`, logits of "this
   segment is an event") and `class_head` Linear(d, 28) on the max over time
   (`video_class_logits` = it + gamma * class_activation_scores). Weak: `class_activation`
   (their 1x1 Conv1d, no bias) per segment, gated by the CAS sigmoids, top-4 temporal mean
   (`video_class_logits` [B, 29]), times the joint gate per segment, max over time:
   `video_logits` [B, 29] (their `event_scores` is its softmax); `event_scores` is the joint
   gate.

`logits` [B, T, 29] folds their accuracy rule (compute_accuracy_supervised in supv_main.py /
weakly_main.py) into per-segment scores: a segment is the video's top class when
sigmoid(event score) > 0.5, else background (28). Per segment, class c of the video scores gets
`log sigmoid(s) + v_c - max(v)` and background `log sigmoid(-s)`, so the argmax is exactly
their prediction (a tie, s = 0 exactly, goes to the class instead of background). Their weak
code thresholds sigmoid of the gate, which is already in (0, 1), so every segment is an event
there and takes the video's top class among all 29 (background included): `logits` does that
too.

Start: every layer as PyTorch starts the module it copies (`torch_init.reset_to_torch_defaults`:
nn.Linear, nn.LSTM and nn.MultiheadAttention defaults; their code sets no initialization).

Padding (variable T): the segment mask (`SegmentMask`) keeps padded segments out of the
LSTMs, every attention, the top-k means and the max pools, so a video's outputs do not depend
on the batch it is padded into.
"""

import dataclasses

import keras
from keras import ops

from ave_tf.data import schema
from ave_tf.layers.audio_guided_spatial_channel_attention import (
    AudioGuidedSpatialChannelAttention,
)
from ave_tf.layers.audio_visual_interaction import AudioVisualInteraction
from ave_tf.layers.cross_modal_background_suppression import CrossModalBackgroundSuppression
from ave_tf.layers.cross_modal_relation_attention import CrossModalRelationAttention
from ave_tf.layers.mil_pooling import MILPooling
from ave_tf.layers.segment_mask import SegmentMask
from ave_tf.layers.temporal_relation_encoder import TemporalRelationEncoder
from ave_tf.layers.top_k_temporal_pooling import TopKTemporalPooling
from ave_tf.models import torch_init
from ave_tf.models.config import TASKS
from ave_tf.models.registry import register_model


@dataclasses.dataclass
class CMBSConfig:
    """CMBS's hyperparameters (defaults: configs/main.json and supv_main_model).

    Attributes:
        task: "supervised" (supv_main_model) or "weak" (weak_main_model; adds `video_logits`).
        d_model: width of the relation modules (256).
        visual_fc_units: width of the visual adapter (512; AGSCA's channels).
        input_dropout: dropout after the visual adapter (0.2 supervised, 0.1 weak).
        attention_hidden_units: AGSCA's hidden width (256).
        beta: AGSCA's visual self-attention gate weight (0.4 / weak 0.5).
        alpha: background suppression strength (0.1 / weak 0.2).
        gamma: weight of the class activation scores (0.3 / weak 0.5).
        recurrent: BiLSTMs before the relation modules (supervised code: yes; weak: no).
        encoder_feedforward_units: feed-forward width of the encoders (1024 / weak 2048).
        decoder_feedforward_units: feed-forward width of the cross-modal attention (1024).
        interaction_heads: heads of the audio-visual interaction (4 / weak 2).
        top_k: segments averaged by the class activation pooling (4).
        dropout: dropout of the relation modules (0.1).
        interaction_attention_dropout: attention dropout of the interaction (0.2).
    """

    task: str = "supervised"
    d_model: int = 256
    visual_fc_units: int = 512
    input_dropout: float = 0.2
    attention_hidden_units: int = 256
    beta: float = 0.4
    alpha: float = 0.1
    gamma: float = 0.3
    recurrent: bool = True
    encoder_feedforward_units: int = 1024
    decoder_feedforward_units: int = 1024
    interaction_heads: int = 4
    top_k: int = 4
    dropout: float = 0.1
    interaction_attention_dropout: float = 0.2

    def validate(self) -> "CMBSConfig":
        checks = (
            ("task", self.task in TASKS, f"must be one of {TASKS}"),
            ("d_model", self.d_model >= 2 and self.d_model % 2 == 0, "must be even and >= 2"),
            ("d_model", self.d_model % 4 == 0, "must be a multiple of the 4 encoder heads"),
            (
                "d_model",
                self.d_model % max(self.interaction_heads, 1) == 0,
                "must be a multiple of interaction_heads",
            ),
            ("visual_fc_units", self.visual_fc_units >= 4, "must be >= 4"),
            ("top_k", self.top_k >= 1, "must be >= 1"),
            ("interaction_heads", self.interaction_heads >= 1, "must be >= 1"),
        )
        for field, ok, requirement in checks:
            if not ok:
                raise ValueError(f"CMBSConfig.{field}={getattr(self, field)!r}: {requirement}")
        return self


def cmbs_weak_config(**overrides) -> CMBSConfig:
    """weak_main_model's settings (configs/weak.json)."""
    values = dict(
        task="weak",
        input_dropout=0.1,
        beta=0.5,
        alpha=0.2,
        gamma=0.5,
        recurrent=False,
        encoder_feedforward_units=2048,
        interaction_heads=2,
    )
    return CMBSConfig(**{**values, **overrides}).validate()


@keras.saving.register_keras_serializable(package="ave_tf")
class CMBSSegmentLogits(keras.layers.Layer):
    """Folds CMBS's rule (event if sigmoid(s) > 0.5, then the video's top class, else
    background) into `[batch, time, 29]` scores whose argmax is that prediction.

    Call arguments: `event_scores` [batch, time] (s), `class_scores` [batch, 28 or 29] (v).
    """

    def call(self, event_scores, class_scores):
        s = ops.cast(event_scores, "float32")
        v = ops.cast(class_scores, "float32")
        shifted = v - ops.max(v, axis=-1, keepdims=True)
        foreground = ops.expand_dims(ops.log_sigmoid(s), -1) + ops.expand_dims(shifted, 1)
        background = ops.log_sigmoid(-s)
        if class_scores.shape[-1] == schema.NUM_CLASSES:
            background = ops.maximum(foreground[..., -1], background)
            foreground = foreground[..., :-1]
        return ops.concatenate([foreground, ops.expand_dims(background, -1)], axis=-1)

    def compute_output_shape(self, event_scores_shape, class_scores_shape):
        return tuple(event_scores_shape) + (schema.NUM_CLASSES,)


@keras.saving.register_keras_serializable(package="ave_tf")
class CMBSWeakVideoScores(keras.layers.Layer):
    """weak_main_model's head after the fusion: class activations gated by the two modalities'
    CAS sigmoids (x gamma), top-k temporal mean (`raw_logits`), times the joint gate per segment,
    max over real segments (`video_logits`, pre-softmax).

    Call arguments: `fused` [B, T, d], `audio_cas`, `visual_cas` [B, T, 29], `gate` [B, T],
    `segment_mask` [B, T]. Returns `(raw_logits, video_logits)`, both [B, 29] float32.
    """

    def __init__(self, gamma=0.5, top_k=4, num_classes=schema.NUM_CLASSES, **kwargs):
        super().__init__(**kwargs)
        self.gamma = gamma
        self.top_k = top_k
        self.num_classes = num_classes
        self.class_activation = keras.layers.Dense(
            num_classes, use_bias=False, dtype=self.dtype_policy, name="class_activation"
        )
        self.top_k_pooling = TopKTemporalPooling(top_k, dtype=self.dtype_policy)
        self.max_pooling = MILPooling("max", dtype=self.dtype_policy)

    def build(self, fused_shape, *shapes):
        self.class_activation.build(fused_shape)

    def call(self, fused, audio_cas, visual_cas, gate, segment_mask):
        cas = self.class_activation(fused)
        cas = self.gamma * ops.sigmoid(visual_cas) * cas + self.gamma * ops.sigmoid(audio_cas) * cas
        raw_logits = self.top_k_pooling(cas, segment_mask=segment_mask)
        segment_logits = ops.expand_dims(gate, -1) * ops.expand_dims(raw_logits, 1)
        video_logits = self.max_pooling(segment_logits, segment_mask=segment_mask)
        return ops.cast(raw_logits, "float32"), ops.cast(video_logits, "float32")

    def compute_output_shape(self, fused_shape, *shapes):
        return (fused_shape[0], self.num_classes), (fused_shape[0], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update({"gamma": self.gamma, "top_k": self.top_k, "num_classes": self.num_classes})
        return config


def _bilstm(units, name, use_cudnn):
    lstm = keras.layers.LSTM(
        units, return_sequences=True, use_cudnn=use_cudnn, name=f"{name}_forward"
    )
    return keras.layers.Bidirectional(lstm, merge_mode="concat", name=name)


def _float32(name):
    return keras.layers.Activation("linear", dtype="float32", name=name)


def relation_streams(config, audio_features, visual_features, mask, weak: bool = False):
    """CMBS after the encoders (shared by CACE-Net): temporal relation encoders, cross-modal
    relation attention, background suppression, the class-activation heads, the AV interaction
    and their average. Returns (audio, visual, gate, audio_cas, visual_cas, fused)."""
    d = config.d_model

    def encoder(name):
        return TemporalRelationEncoder(
            d, feedforward_units=config.encoder_feedforward_units, dropout=config.dropout,
            name=name,
        )  # fmt: skip

    def decoder(name):
        return CrossModalRelationAttention(
            d, feedforward_units=config.decoder_feedforward_units, dropout=config.dropout,
            name=name,
        )  # fmt: skip

    visual_memory = encoder("visual_encoder")(visual_features, segment_mask=mask)
    audio_stream = decoder("audio_decoder")(audio_features, visual_memory, segment_mask=mask)
    audio_memory = encoder("audio_encoder")(audio_features, segment_mask=mask)
    visual_stream = decoder("visual_decoder")(visual_features, audio_memory, segment_mask=mask)
    # Supervised code: each stream gated from the other modality's memory; weak: its own.
    sources = (visual_memory, audio_memory) if not weak else (audio_memory, visual_memory)
    audio_stream, visual_stream, gate = CrossModalBackgroundSuppression(
        config.alpha,
        combine="mean" if weak else "product",
        residual="interpolate" if weak else "add",
        name="background_suppression",
    )(audio_stream, visual_stream, *sources)

    cas_classes = schema.NUM_CLASSES if weak else schema.NUM_CLASSES - 1
    audio_cas = keras.layers.Dense(cas_classes, name="audio_cas")(audio_stream)
    visual_cas = keras.layers.Dense(cas_classes, name="visual_cas")(visual_stream)

    visual_stream = AudioVisualInteraction(
        config.interaction_heads, config.interaction_attention_dropout, config.dropout,
        name="audio_visual_interaction",
    )(visual_stream, audio_stream, segment_mask=mask)  # fmt: skip
    audio_stream = AudioVisualInteraction(
        config.interaction_heads, config.interaction_attention_dropout, config.dropout,
        name="visual_audio_interaction",
    )(audio_stream, visual_stream, segment_mask=mask)  # fmt: skip
    fused = keras.layers.Average(name="fusion")([visual_stream, audio_stream])
    return audio_stream, visual_stream, gate, audio_cas, visual_cas, fused


def supervised_heads(config, event_input, fused, audio_cas, visual_cas, mask):
    """CMBS's supervised heads (shared by CACE-Net): per-segment event scores from
    `event_input`, video class logits from the max-pooled `fused` plus the top-k class
    activations. Returns (event_scores [B, T], video_class_logits [B, 28], cas_scores)."""
    event_logits = keras.layers.Dense(1, name="event_head")(event_input)
    event_scores = _float32("event_scores")(keras.layers.Reshape((-1,))(event_logits))
    pooled = MILPooling("max", name="temporal_max")(fused, segment_mask=mask)
    top_k = TopKTemporalPooling(config.top_k, name="cas_top_k")
    cas_scores = keras.layers.Average(name="class_activation_scores_mean")(
        [top_k(visual_cas, segment_mask=mask), top_k(audio_cas, segment_mask=mask)]
    )
    class_logits = keras.layers.Add(name="class_scores_sum")(
        [
            keras.layers.Dense(schema.NUM_CLASSES - 1, name="class_head")(pooled),
            keras.layers.Rescaling(config.gamma, name="class_activation_weight")(cas_scores),
        ]
    )
    return event_scores, _float32("video_class_logits")(class_logits), cas_scores


@register_model("cmbs", CMBSConfig)
def build_cmbs_model(config: CMBSConfig | None = None, use_cudnn="auto") -> keras.Model:
    """Builds CMBS (supervised unless `config.task == "weak"`); see the module docstring."""
    config = (config or CMBSConfig()).validate()
    weak = config.task == "weak"
    d = config.d_model
    audio = keras.Input((None, schema.AUDIO_DIM), name="audio")
    visual = keras.Input((None, *schema.VISUAL_SHAPE), name="visual")
    mask = SegmentMask(name="segment_mask")(audio, visual)

    cells = keras.layers.Dense(config.visual_fc_units, activation="relu", name="visual_fc")(visual)
    cells = keras.layers.Dropout(config.input_dropout, name="visual_fc_dropout")(cells)
    visual_features, attention = AudioGuidedSpatialChannelAttention(
        config.attention_hidden_units, beta=config.beta, name="spatial_channel_attention"
    )(audio, cells)
    audio_features = audio
    if config.recurrent:
        audio_features = _bilstm(d // 2, "audio_rnn", use_cudnn)(audio, mask=mask)
        visual_features = _bilstm(d, "visual_rnn", use_cudnn)(visual_features, mask=mask)

    audio_stream, visual_stream, gate, audio_cas, visual_cas, fused = relation_streams(
        config, audio_features, visual_features, mask, weak=weak
    )

    outputs = {"attention": _float32("attention")(attention)}
    if weak:
        raw_logits, video_logits = CMBSWeakVideoScores(
            config.gamma, config.top_k, name="weak_head"
        )(fused, audio_cas, visual_cas, gate, mask)
        event_scores = _float32("event_scores")(gate)
        class_scores = _float32("video_class_logits")(raw_logits)
        outputs["video_logits"] = _float32("video_logits")(video_logits)
    else:
        event_scores, class_scores, cas_scores = supervised_heads(
            config, fused, fused, audio_cas, visual_cas, mask
        )
        outputs["class_activation_scores"] = _float32("class_activation_scores")(cas_scores)
        outputs["background_gate"] = _float32("background_gate")(gate)
    outputs["event_scores"] = event_scores
    outputs["video_class_logits"] = class_scores
    outputs["logits"] = CMBSSegmentLogits(name="logits")(event_scores, class_scores)
    model = keras.Model(
        {"audio": audio, "visual": visual}, outputs, name="cmbs_weak" if weak else "cmbs"
    )
    torch_init.reset_to_torch_defaults(model)  # their code leaves every layer at PyTorch's start
    return model
