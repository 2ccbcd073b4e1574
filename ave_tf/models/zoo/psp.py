"""PSP: Positive Sample Propagation (Zhou et al., CVPR 2021), supervised and weakly supervised.

The network of the authors' code (github jasongief/PSP_CVPR_2021, fully_model.py and
weakly_model.py), on the same features as every other model here:

supervised (`task="supervised"`):
    audio [T, 128] -> two linear layers 128 -> 256 -> 128 (no bias, no activation)
    visual maps [T, 7, 7, 512] -> audio-guided visual attention (guided by that audio; the
        attention of Tian et al. as the authors code it, `guide_axis="cells"`) -> two linear
        layers 512 -> 256 -> 128 (no bias)
    -> a BiLSTM per modality (128 per direction) -> positive sample propagation (256 wide,
    threshold 0.099, ReLU output projections, renormalized pruning) -> fused [T, 256]
    -> ReLU(Linear(256, 64)) -> Linear(64, 29) = `logits`;
    `av_similarity` [T]: cosine of the propagated visual and audio features (for the AVPS loss).
weak (`task="weak"`):
    audio [T, 128] guides the attention directly; the attended visual vector goes through
    Linear(512, 128) (with bias); BiLSTMs; propagation without output projections or
    renormalization (threshold 0.095); the same classifier gives `segment_scores`; the weighting
    branch scales them: `logits = segment_scores * sigmoid(relu(segment_scores . u))`;
    `video_logits` = their mean over the real segments (softmax = the authors' `out_avg`);
    `temporal_weights` [T] the gate.

Both have `attention` [T, 49]. Prediction is the argmax of `logits` (the authors' accuracy rule
in both settings: their weak evaluation takes the softmax of the weighted scores). Padding:
`layers.SegmentMask` gives the LSTMs, the propagation's relevance matrix and the video pooling
the real segments, so padding changes nothing on them.

`load_psp_torch_weights(model, state)` copies a state dict of the authors' `psp_net` (numpy
arrays) into the model; tests/test_zoo_psp.py checks outputs against their PyTorch code.
"""

import dataclasses

import keras
import numpy as np

from ave_tf import layers
from ave_tf.data import schema
from ave_tf.layers.positive_sample_propagation import PositiveSamplePropagation
from ave_tf.layers.segment_cosine_similarity import SegmentCosineSimilarity
from ave_tf.layers.segment_score_weighting import SegmentScoreWeighting
from ave_tf.models import torch_init
from ave_tf.models.authors_weights import _assign, _layer  # the same copying rules
from ave_tf.models.config import TASKS
from ave_tf.models.registry import register_model

SUPERVISED_THRESHOLD = 0.099  # fully_supervised_main.py --threshold
WEAK_THRESHOLD = 0.095  # weakly_supervised_main.py --threshold


@dataclasses.dataclass
class PSPConfig:
    """PSP's hyperparameters (defaults: the authors' supervised model).

    Attributes:
      task: "supervised" (fully_model.py) or "weak" (weakly_model.py); the weak model has the
        weighting branch and `video_logits`, no audio embedding and a simpler propagation.
      threshold: the pruning threshold of the propagation (theirs: 0.099 supervised, 0.095 weak).
      hidden_size: BiLSTM units per direction; the propagation and classifier are twice as wide.
      embedding_size: width of the first of the two linear layers on audio and on attended
        visual vectors (supervised model).
      attention_dim: the attention's projection width d (512).
      dropout: dropout after the propagation's projections (0.1).
      classifier_hidden_size: the classifier's ReLU layer (64).
      num_classes: 28 events + background.
    """

    task: str = "supervised"
    threshold: float = SUPERVISED_THRESHOLD
    hidden_size: int = 128
    embedding_size: int = 256
    attention_dim: int = 512
    dropout: float = 0.1
    classifier_hidden_size: int = 64
    num_classes: int = schema.NUM_CLASSES

    def validate(self) -> "PSPConfig":
        checks = (
            ("task", self.task in TASKS, f"must be one of {TASKS}"),
            ("threshold", 0.0 <= self.threshold < 1.0, "must be in [0, 1)"),
            ("dropout", 0.0 <= self.dropout < 1.0, "must be in [0, 1)"),
        )
        for field, ok, requirement in checks:
            if not ok:
                raise ValueError(f"PSPConfig.{field}={getattr(self, field)!r}: {requirement}")
        for field in (
            "hidden_size",
            "embedding_size",
            "attention_dim",
            "classifier_hidden_size",
            "num_classes",
        ):
            if getattr(self, field) < 1:
                raise ValueError(f"PSPConfig.{field}={getattr(self, field)!r}: must be >= 1")
        return self


def psp_weak_config(**overrides) -> PSPConfig:
    """The authors' weakly supervised PSP (threshold 0.095)."""
    return PSPConfig(**{"task": "weak", "threshold": WEAK_THRESHOLD, **overrides}).validate()


def _float32(name):
    return keras.layers.Activation("linear", dtype="float32", name=name)


def _dense(units, name, use_bias=False, activation=None):
    """A linear layer their code initializes with Xavier (Glorot) and a zero bias."""
    return keras.layers.Dense(units, use_bias=use_bias, activation=activation, name=name)


def _torch_default_dense(units, name, fan_in, use_bias=False):
    """A linear layer their code leaves at nn.Linear's default initialization."""
    bias = torch_init.linear_bias(fan_in) if use_bias else "zeros"
    return keras.layers.Dense(
        units,
        use_bias=use_bias,
        kernel_initializer=torch_init.linear_kernel(),
        bias_initializer=bias,
        name=name,
    )


def _bilstm(units, name, use_cudnn):
    lstm = keras.layers.LSTM(
        units,
        return_sequences=True,
        use_cudnn=use_cudnn,
        name=f"{name}_forward",
        **torch_init.lstm_kwargs(units),  # nn.LSTM's start (Bidirectional copies it backward)
    )
    return keras.layers.Bidirectional(lstm, merge_mode="concat", name=name)


@register_model("psp", PSPConfig)
def build_psp_model(config: PSPConfig | None = None, use_cudnn="auto") -> keras.Model:
    """Builds PSP (supervised unless `config.task == "weak"`); see the module docstring."""
    config = (config or PSPConfig()).validate()
    weak = config.task == "weak"
    audio_input = keras.Input((None, schema.AUDIO_DIM), name="audio")
    visual_input = keras.Input((None, *schema.VISUAL_SHAPE), name="visual")
    mask = layers.SegmentMask(name="segment_mask")(audio_input, visual_input)
    audio = audio_input
    if not weak:
        audio = _torch_default_dense(config.embedding_size, "audio_embedding_0", audio.shape[-1])(
            audio
        )
        audio = _torch_default_dense(config.hidden_size, "audio_embedding_1", audio.shape[-1])(
            audio
        )
    attention_layer = layers.AudioGuidedVisualAttention(
        config.attention_dim, 49, guide_axis="cells", name="visual_attention"
    )
    visual, attention = attention_layer(audio, visual_input)
    # Their AVGA sets Xavier kernels (Keras' default) but leaves nn.Linear's biases.
    torch_init.reset_linear_bias(attention_layer.guide_projection)
    torch_init.reset_linear_bias(attention_layer.cell_projection)
    width = visual.shape[-1]
    if weak:
        visual = _torch_default_dense(config.hidden_size, "visual_embedding", width, True)(visual)
    else:
        visual = _torch_default_dense(config.embedding_size, "visual_embedding_0", width)(visual)
        visual = _torch_default_dense(config.hidden_size, "visual_embedding_1", visual.shape[-1])(
            visual
        )
    audio = _bilstm(config.hidden_size, "audio_temporal", use_cudnn)(audio, mask=mask)
    visual = _bilstm(config.hidden_size, "visual_temporal", use_cudnn)(visual, mask=mask)
    width = 2 * config.hidden_size
    fused, visual, audio = PositiveSamplePropagation(
        width,
        threshold=config.threshold,
        output_units=None if weak else width,
        renormalize=not weak,
        dropout=config.dropout,
        name="psp",
    )(audio, visual, segment_mask=mask)
    hidden = _dense(config.classifier_hidden_size, "classifier_hidden", activation="relu")(fused)
    scores = _dense(config.num_classes, "classifier")(hidden)
    outputs = {"attention": _float32("attention")(attention)}
    if weak:
        outputs["segment_scores"] = _float32("segment_scores")(scores)
        weighted, weights = SegmentScoreWeighting(name="temporal_weighting")(scores)
        outputs["logits"] = _float32("logits")(weighted)
        outputs["temporal_weights"] = _float32("temporal_weights")(weights)
        outputs["video_logits"] = layers.MILPooling("mean", dtype="float32", name="video_logits")(
            outputs["logits"], segment_mask=mask
        )
    else:
        outputs["logits"] = _float32("logits")(scores)
        outputs["av_similarity"] = SegmentCosineSimilarity(name="av_similarity")(visual, audio)
    inputs = {"audio": audio_input, "visual": visual_input}
    return keras.Model(inputs, outputs, name="psp_weak" if weak else "psp")


# The authors' psp_net state-dict prefixes -> our layer paths ("layer" or "layer/sublayer").
_LINEAR = {
    "fa.0": "audio_embedding_0",
    "fa.1": "audio_embedding_1",
    "fv.0": "visual_embedding_0",
    "fv.1": "visual_embedding_1",
    "linear_v": "visual_embedding",  # weak model only (the supervised one never calls it)
    "attention.affine_audio": "visual_attention/guide_projection",
    "attention.affine_video": "visual_attention/cell_projection",
    "attention.affine_v": "visual_attention/cell_hidden",
    "attention.affine_g": "visual_attention/guide_hidden",
    "attention.affine_h": "visual_attention/score",
    "psp.v_L1": "psp/visual_message",
    "psp.v_L2": "psp/visual_relevance",
    "psp.a_L1": "psp/audio_relevance",
    "psp.a_L2": "psp/audio_message",
    "psp.v_fc": "psp/visual_output",
    "psp.a_fc": "psp/audio_output",
    "L1": "classifier_hidden",
    "L2": "classifier",
    "W3": "temporal_weighting/gate",
}
_LSTM = {"lstm_a_v.lstm_audio": "audio_temporal", "lstm_a_v.lstm_video": "visual_temporal"}
# Parameters their modules define but their forward passes never use.
UNUSED_SUPERVISED = ("linear_v.", "v_classify.", "a_classify.", "L3.", "L4.")
UNUSED_WEAK = ("temperature", "W1.", "W2.")


def load_psp_torch_weights(model, weights: dict) -> list[str]:
    """Copies the authors' `psp_net` state dict (`{key: numpy array}`) into a PSP model.

    PyTorch's Linear stores [out, in] (transposed here); its LSTM's two biases are summed and
    its gate order (i, f, g, o) is Keras'. Returns the keys used; raises ValueError naming a key
    with no place in the model or a shape that does not fit. Keys of parameters their forward
    never uses (`UNUSED_SUPERVISED`, `UNUSED_WEAK`) are skipped; any other unknown key raises.
    """
    weak = model.name == "psp_weak"
    used = []
    for prefix, path in _LINEAR.items():
        key = f"{prefix}.weight"
        if key not in weights or (prefix == "linear_v" and not weak):
            continue
        try:
            layer = _layer(model, path)
        except (ValueError, AttributeError):
            raise ValueError(f"{key}: model {model.name!r} has no layer {path}") from None
        _assign(layer.kernel, np.transpose(weights[key]), key)
        used.append(key)
        if f"{prefix}.bias" in weights:
            _assign(layer.bias, weights[f"{prefix}.bias"], f"{prefix}.bias")
            used.append(f"{prefix}.bias")
    if "psp.layer_norm.weight" in weights:
        norm = model.get_layer("psp").layer_norm
        _assign(norm.gamma, weights["psp.layer_norm.weight"], "psp.layer_norm.weight")
        _assign(norm.beta, weights["psp.layer_norm.bias"], "psp.layer_norm.bias")
        used += ["psp.layer_norm.weight", "psp.layer_norm.bias"]
    for prefix, name in _LSTM.items():
        if f"{prefix}.weight_ih_l0" not in weights:
            continue
        bidirectional = model.get_layer(name)
        for suffix, direction in (
            ("", bidirectional.forward_layer),
            ("_reverse", bidirectional.backward_layer),
        ):
            keys = [f"{prefix}.{p}_l0{suffix}" for p in ("weight_ih", "weight_hh", "bias_ih")]
            keys.append(f"{prefix}.bias_hh_l0{suffix}")
            weight_ih, weight_hh, bias_ih, bias_hh = (weights[k] for k in keys)
            cell = direction.cell
            _assign(cell.kernel, np.transpose(weight_ih), keys[0])
            _assign(cell.recurrent_kernel, np.transpose(weight_hh), keys[1])
            _assign(cell.bias, np.asarray(bias_ih) + np.asarray(bias_hh), keys[2])
            used += keys
    skipped = UNUSED_WEAK if weak else UNUSED_SUPERVISED
    unknown = sorted(k for k in set(weights) - set(used) if not k.startswith(skipped))
    if unknown:
        raise ValueError(f"state dict keys with no place in model {model.name!r}: {unknown[:8]}")
    return used
