"""CACE-Net: Co-guidance Attention and Contrastive Enhancement (Brain-Cog-Lab, ACM MM 2024).

The supervised model as their code builds it (github.com/Brain-Cog-Lab/CACE-Net,
CACE/model/main_model.py: `supv_main_model` with `--guide Co-Guide --contrastive`), on the AVE
features (128-d VGGish audio, 7x7x512 VGG-19 pool5 maps). It is CMBS's supervised model
(`ave_tf/models/zoo/cmbs.py`) with two additions:

1. `co_guided_attention` (`CoGuidedSpatialChannelAttention`) replaces CMBS's audio-guided
   attention: the same audio-guided visual pooling (its map is the `attention` output), plus
   a visual-guided re-weighting of the audio, `a + psai * sigmoid(g) * a`, that feeds the audio
   BiLSTM (CMBS feeds the raw audio).
2. Contrastive enhancement in the localisation head: `contrastive_projection` (Linear(d, d) +
   ReLU, their `encoder_q`) of the fused segments is added, times `contrastive_weight`
   (their `Lambda`, 0.6), to the fused segments before the event head from epoch
   n_epoch / 8 on, evaluation included (`contrastive_switch`, an `EpochSwitch` the trainer
   sets before each epoch; on in a model never trained). The L2-normalised projection of the
   fused segments is `contrastive_query` [B, T, d], and that of the fused segments plus
   Gaussian noise (std 0.1, training only; their `data_augmentation`) is `contrastive_key`;
   the loss (`cace_net_supervised`) contrasts them while the switch is on
   (`contrastive_switch` [B]).

The rest is CMBS's supervised path: visual adapter, BiLSTMs (audio 128, visual 256 per
direction), relation encoders (feed-forward 1024) and cross-modal attention (feed-forward 512
here, 1024 in CMBS), background suppression, class activation sequences (top-4 means), the
audio-visual interactions, and the heads. Outputs as `cmbs`: `logits` [B, T, 29] (their
accuracy rule folded: a segment is the video's top class when sigmoid(event score) > 0.5, else
background), `event_scores` [B, T], `video_class_logits` [B, 28], `class_activation_scores`,
`background_gate`, `attention` [B, T, 49], plus `contrastive_query`, `contrastive_key` and
`contrastive_switch`.
Every layer starts as PyTorch starts the module it copies (their code sets no initialization):
`torch_init.reset_to_torch_defaults`.
"""

import dataclasses

import keras

from ave_tf.data import schema
from ave_tf.layers.co_guided_spatial_channel_attention import CoGuidedSpatialChannelAttention
from ave_tf.layers.epoch_switch import EpochSwitch
from ave_tf.layers.segment_mask import SegmentMask
from ave_tf.models import torch_init
from ave_tf.models.registry import register_model
from ave_tf.models.zoo.cmbs import (
    CMBSSegmentLogits,
    _bilstm,
    _float32,
    relation_streams,
    supervised_heads,
)


@dataclasses.dataclass
class CACENetConfig:
    """CACE-Net's hyperparameters (defaults: configs/main.json, supv_main_model, run_supp.sh).

    Attributes:
        task: "supervised" only (their repository has no runnable weak model).
        d_model: width of the relation modules (256).
        visual_fc_units: width of the visual adapter (512).
        input_dropout: dropout after the visual adapter (0.2).
        attention_hidden_units: the co-guided attention's hidden width (256).
        beta: weight of the visual-only gate of the visual attention (0.4).
        psai: weight of the visual guidance of the audio (`--psai 0.3`).
        alpha: background suppression strength (0.1).
        gamma: weight of the class activation scores (0.3).
        encoder_feedforward_units: feed-forward width of the encoders (1024).
        decoder_feedforward_units: feed-forward width of the cross-modal attention (512).
        interaction_heads: heads of the audio-visual interaction (4).
        top_k: segments averaged by the class activation pooling (4).
        dropout: dropout of the relation modules (0.1).
        interaction_attention_dropout: attention dropout of the interaction (0.2).
        contrastive: the contrastive enhancement of the event head (`--contrastive`).
        contrastive_weight: its weight (`--Lambda 0.6`).
        contrastive_start_fraction: the fraction of the training epochs run before the
            enhancement and the contrastive term switch on (their `epoch >= n_epoch / 8`).
        key_noise: standard deviation of the noise of the contrastive keys (0.1).
    """

    task: str = "supervised"
    d_model: int = 256
    visual_fc_units: int = 512
    input_dropout: float = 0.2
    attention_hidden_units: int = 256
    beta: float = 0.4
    psai: float = 0.3
    alpha: float = 0.1
    gamma: float = 0.3
    encoder_feedforward_units: int = 1024
    decoder_feedforward_units: int = 512
    interaction_heads: int = 4
    top_k: int = 4
    dropout: float = 0.1
    interaction_attention_dropout: float = 0.2
    contrastive: bool = True
    contrastive_weight: float = 0.6
    contrastive_start_fraction: float = 1 / 8
    key_noise: float = 0.1

    def validate(self) -> "CACENetConfig":
        checks = (
            ("task", self.task == "supervised", "must be 'supervised'"),
            ("d_model", self.d_model >= 4 and self.d_model % 4 == 0, "must be a multiple of 4"),
            (
                "d_model",
                self.d_model % max(self.interaction_heads, 1) == 0,
                "must be a multiple of interaction_heads",
            ),
            ("visual_fc_units", self.visual_fc_units >= 4, "must be >= 4"),
            ("top_k", self.top_k >= 1, "must be >= 1"),
            ("interaction_heads", self.interaction_heads >= 1, "must be >= 1"),
            ("key_noise", self.key_noise >= 0, "must be >= 0"),
            (
                "contrastive_start_fraction",
                0 <= self.contrastive_start_fraction <= 1,
                "must be in [0, 1]",
            ),
        )
        for field, ok, requirement in checks:
            if not ok:
                raise ValueError(f"CACENetConfig.{field}={getattr(self, field)!r}: {requirement}")
        return self


@register_model("cace_net", CACENetConfig)
def build_cace_net_model(config: CACENetConfig | None = None, use_cudnn="auto") -> keras.Model:
    """Builds CACE-Net (supervised); see the module docstring."""
    config = (config or CACENetConfig()).validate()
    d = config.d_model
    audio = keras.Input((None, schema.AUDIO_DIM), name="audio")
    visual = keras.Input((None, *schema.VISUAL_SHAPE), name="visual")
    mask = SegmentMask(name="segment_mask")(audio, visual)

    cells = keras.layers.Dense(config.visual_fc_units, activation="relu", name="visual_fc")(visual)
    cells = keras.layers.Dropout(config.input_dropout, name="visual_fc_dropout")(cells)
    visual_features, guided_audio, attention = CoGuidedSpatialChannelAttention(
        config.attention_hidden_units, beta=config.beta, psai=config.psai,
        name="co_guided_attention",
    )(audio, cells, segment_mask=mask)  # fmt: skip
    audio_features = _bilstm(d // 2, "audio_rnn", use_cudnn)(guided_audio, mask=mask)
    visual_features = _bilstm(d, "visual_rnn", use_cudnn)(visual_features, mask=mask)

    audio_stream, visual_stream, gate, audio_cas, visual_cas, fused = relation_streams(
        config, audio_features, visual_features, mask
    )

    # Contrastive enhancement (their SupvLocalizeModule).
    projection = keras.layers.Dense(d, activation="relu", name="contrastive_projection")
    projected = projection(fused)
    enhancement, switch_state = EpochSwitch(
        config.contrastive_start_fraction, name="contrastive_switch"
    )(keras.layers.Rescaling(config.contrastive_weight)(projected))
    event_input = fused
    if config.contrastive:
        event_input = keras.layers.Add(name="contrastive_enhancement")([fused, enhancement])
    else:  # no enhancement, no contrastive term (their `--contrastive` unset)
        switch_state = keras.layers.Rescaling(0.0, name="contrastive_off")(switch_state)
    noisy = keras.layers.GaussianNoise(config.key_noise, name="key_noise")(fused)
    query = keras.layers.UnitNormalization(name="query_normalization")(projected)
    key = keras.layers.UnitNormalization(name="key_normalization")(projection(noisy))

    event_scores, class_scores, cas_scores = supervised_heads(
        config, event_input, fused, audio_cas, visual_cas, mask
    )
    outputs = {
        "attention": _float32("attention")(attention),
        "class_activation_scores": _float32("class_activation_scores")(cas_scores),
        "background_gate": _float32("background_gate")(gate),
        "contrastive_query": _float32("contrastive_query")(query),
        "contrastive_key": _float32("contrastive_key")(key),
        "contrastive_switch": switch_state,
        "event_scores": event_scores,
        "video_class_logits": class_scores,
        "logits": CMBSSegmentLogits(name="logits")(event_scores, class_scores),
    }
    model = keras.Model({"audio": audio, "visual": visual}, outputs, name="cace_net")
    torch_init.reset_to_torch_defaults(model)  # their code leaves every layer at PyTorch's start
    return model
