"""Configuration of the event localization models (Table 1, Table 2, the ED-TCN baseline).

`ModelConfig` names one model of the paper: which modalities, whether audio guides a visual
attention, which fusion at which stage, which temporal model and which supervision. It is
stored in `model_dir/config.json` (via `to_dict`) so that every run can be rebuilt.
"""

import dataclasses

from ave_tf.data import schema
from ave_tf.layers._guided_spatial_attention import GUIDE_AXES
from ave_tf.models.fusion import FUSION_STAGES, fusion_names, fusion_stages
from ave_tf.utils import hyperparams

# The supervision a localization model is built for ("weak" adds the MIL-pooled video_logits);
# the training tasks of the same names are registered in ave_tf/training/task_registry.py.
TASKS = ("supervised", "weak")
MODALITIES = ("audio", "visual", "av")
TEMPORALS = ("lstm", "bilstm", "ed_tcn")
MIL_POOLINGS = ("mean", "max")
INITIALIZATIONS = ("keras", "torch")
SINGLE_MODALITY_FUSION = "concat"
SINGLE_MODALITY_STAGE = "late"


@dataclasses.dataclass
class ModelConfig:
    """One audio-visual event localization model.

    Attributes:
        task: "supervised" (a label per segment) or "weak" (video labels only; the model also
            outputs MIL-pooled `video_logits`, eq. 7).
        modality: "audio" (model A), "visual" (V) or "av" (A+V).
        attention: audio-guided visual attention (eqs. 2-4) instead of global average
            pooling of the visual map: V-att and A+V-att. Needs the audio input, so it is
            invalid with modality="audio".
        fusion: how A+V models combine the modalities, a registered fusion
            (`models/fusion.py`, Table 2). "concat" is the paper's Table 1 setting.
            Single-modality models must keep the default.
        fusion_stage: "early" (fuse the segment features, one temporal model), "late" (fuse
            the two temporal models' outputs; the paper's main setting) or "decision" (fuse
            per-modality class logits). "dmrfe" exists at the late stage only, like in
            Table 2. Single-modality models must keep the default "late".
        temporal: "lstm" (the paper: hidden size 128), "bilstm" (bidirectional, outputs of
            both directions concatenated: 2 * hidden_size, as in the authors' code) or
            "ed_tcn" (the encoder-decoder TCN of Lea et al., the paper's baseline).
        hidden_size: LSTM units per direction.
        attention_dim: size d of the attention projections U_a, U_v (eq. 4).
        attention_hidden_dim: size k of the attention hidden layer W_a, W_v (eq. 4).
        dmrn_blocks: stacked residual blocks of "mrn", "dmrn" and "dmrfe".
        fusion_dim: width of projecting fusions; None picks the stage's natural width:
            hidden_size for early fusion, the temporal output width for late fusion,
            num_classes for decision fusion.
        bilinear_rank: rank of "bilinear" / "gated_bilinear"; None uses the fusion width.
        mil_pooling: "mean" (eq. 7) or "max", weak task only.
        dropout: dropout rate before every classifier (and inside the ED-TCN).
        num_classes: classes per segment, the 28 events plus background.
        tcn_filters: channels of the ED-TCN encoder stages.
        tcn_kernel_size: temporal kernel of the ED-TCN convolutions, in segments.
        audio_attention: visual-guided audio attention over spatial audio maps
            (supplementary section 3.2; with attention=True and modality="av" this is the
            co-attention model). Needs `spatial_audio_shape`.
        spatial_audio_shape: (height, width, channels) of spatial audio features (VGGish pool5
            is (6, 4, 512)); the audio input then has shape [batch, T, *spatial_audio_shape]
            instead of [batch, T, 128]. None: the standard 128-d audio embedding.
        attention_guide_axis: "hidden" (eq. 4) or "cells" (the authors' code adds the audio's k
            = 49 projections along the 49 cells; see `AudioGuidedVisualAttention`).
        classifier_hidden_sizes: hidden widths of a ReLU MLP head, each Dense preceded by a
            ReLU (the authors' A+V-att head is (64,): ReLU -> 512->64 -> ReLU -> 64->29); () is
            one Dense layer.
        dmrn_update_layers: DMRN's residual function f: 1 = additive (eqs. 5-6), 2 = the mean
            of two per-modality 2-layer tanh MLPs (the authors' code).
        initialization: how the weights start: "keras" (Glorot kernels, zero biases,
            orthogonal recurrent kernels, forget-gate bias 1) or "torch" (as PyTorch starts
            nn.Linear and nn.LSTM: `ave_tf.models.torch_init`), for recipes that follow
            PyTorch code. Dense and LSTM layers only (ED-TCN and the bilinear fusions are
            refused).
        xavier_kernels: with initialization="torch", the Dense layers (by layer name, "*" for
            all) whose kernels start Xavier-uniform, as the authors' `init_weights` redraws
            them.
    """

    task: str = "supervised"
    modality: str = "av"
    attention: bool = False
    fusion: str = "concat"
    fusion_stage: str = "late"
    temporal: str = "lstm"
    hidden_size: int = 128
    attention_dim: int = 512
    attention_hidden_dim: int = schema.VISUAL_CELLS
    dmrn_blocks: int = 1
    fusion_dim: int | None = None
    bilinear_rank: int | None = None
    mil_pooling: str = "mean"
    dropout: float = 0.0
    num_classes: int = schema.NUM_CLASSES
    tcn_filters: tuple[int, ...] = (64, 96)
    tcn_kernel_size: int = 5
    audio_attention: bool = False
    spatial_audio_shape: tuple[int, int, int] | None = None
    attention_guide_axis: str = "hidden"
    classifier_hidden_sizes: tuple[int, ...] = ()
    dmrn_update_layers: int = 1
    initialization: str = "keras"
    xavier_kernels: tuple[str, ...] = ()

    def __post_init__(self):
        # JSON round trips turn tuples into lists.
        self.tcn_filters = tuple(self.tcn_filters)
        self.classifier_hidden_sizes = tuple(self.classifier_hidden_sizes)
        self.xavier_kernels = tuple(self.xavier_kernels)
        if self.spatial_audio_shape is not None:
            self.spatial_audio_shape = tuple(self.spatial_audio_shape)

    @property
    def uses_audio(self) -> bool:
        """Whether the model reads the audio input (audio models and every attention)."""
        return self.modality != "visual" or self.attention

    @property
    def uses_visual(self) -> bool:
        """Whether the model reads the visual input (beyond its shape)."""
        return self.modality != "audio" or self.audio_attention

    @property
    def co_attention(self) -> bool:
        return self.attention and self.audio_attention

    def paper_name(self) -> str:
        """The paper's name of the model, e.g. "A+V-att", "W-V", "A+V-att (early gmu)"."""
        audio = "A'" if self.spatial_audio_shape is not None else "A"
        if self.modality == "audio":
            name = audio + ("-att" if self.audio_attention else "")
        elif self.modality == "visual":
            name = "V-att" if self.attention else "V"
        elif self.co_attention:
            name = f"{audio}+V-co-att"
        else:
            name = f"{audio}+V" + ("-att" if self.attention else "")
        if self.task == "weak":
            name = "W-" + name
        if self.modality == "av" and (
            self.fusion != SINGLE_MODALITY_FUSION or self.fusion_stage != SINGLE_MODALITY_STAGE
        ):
            name += f" ({self.fusion_stage} {self.fusion})"
        if self.temporal != "lstm":
            name += f" [{self.temporal}]"
        return name

    def validate(self) -> "ModelConfig":
        """Raises ValueError naming the offending field; returns self when valid."""
        _one_of("task", self.task, TASKS)
        _one_of("modality", self.modality, MODALITIES)
        _one_of("fusion", self.fusion, fusion_names())
        _one_of("fusion_stage", self.fusion_stage, FUSION_STAGES)
        _one_of("temporal", self.temporal, TEMPORALS)
        _one_of("mil_pooling", self.mil_pooling, MIL_POOLINGS)
        _one_of("attention_guide_axis", self.attention_guide_axis, GUIDE_AXES)
        _one_of("dmrn_update_layers", self.dmrn_update_layers, (1, 2))
        _one_of("initialization", self.initialization, INITIALIZATIONS)
        if self.xavier_kernels and self.initialization != "torch":
            raise ValueError(
                "ModelConfig.xavier_kernels needs initialization='torch' (Keras' Dense kernels "
                "already start Glorot-uniform, which is Xavier-uniform)"
            )
        for name in self.xavier_kernels:
            if not isinstance(name, str) or not name:
                raise ValueError(f"ModelConfig.xavier_kernels: {name!r} is not a layer name")
        for value in self.classifier_hidden_sizes:
            _positive_int("classifier_hidden_sizes", value)
        for field in ("attention", "audio_attention"):
            if not isinstance(getattr(self, field), bool):
                raise ValueError(
                    f"ModelConfig.{field} must be a bool, got {getattr(self, field)!r}"
                )
        for field in (
            "hidden_size", "attention_dim", "attention_hidden_dim", "dmrn_blocks",
            "tcn_kernel_size",
        ):  # fmt: skip
            _positive_int(field, getattr(self, field))
        for field in ("fusion_dim", "bilinear_rank"):
            if getattr(self, field) is not None:
                _positive_int(field, getattr(self, field))
        if not isinstance(self.num_classes, int) or self.num_classes < 2:
            raise ValueError(
                f"ModelConfig.num_classes must be an int >= 2, got {self.num_classes!r}"
            )
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"ModelConfig.dropout must be in [0, 1), got {self.dropout!r}")
        if not self.tcn_filters:
            raise ValueError("ModelConfig.tcn_filters must name at least one stage")
        for value in self.tcn_filters:
            _positive_int("tcn_filters", value)
        self._validate_modalities()
        return self

    def _validate_modalities(self):
        if self.attention and self.modality == "audio":
            raise ValueError(
                "ModelConfig.attention=True (audio-guided visual attention) needs the visual "
                "modality: use modality='visual' (V-att) or 'av' (A+V-att)"
            )
        if self.modality != "av":
            if self.fusion != SINGLE_MODALITY_FUSION:
                raise ValueError(
                    f"ModelConfig.fusion={self.fusion!r} needs modality='av': a "
                    f"modality={self.modality!r} model has nothing to fuse (keep the default "
                    f"{SINGLE_MODALITY_FUSION!r})"
                )
            if self.fusion_stage != SINGLE_MODALITY_STAGE:
                raise ValueError(
                    f"ModelConfig.fusion_stage={self.fusion_stage!r} needs modality='av' (keep "
                    f"the default {SINGLE_MODALITY_STAGE!r} for modality={self.modality!r})"
                )
        allowed_stages = fusion_stages(self.fusion)
        if self.fusion_stage not in allowed_stages:
            raise ValueError(
                f"ModelConfig.fusion_stage={self.fusion_stage!r} is not available for "
                f"fusion={self.fusion!r} (only {allowed_stages}, as in the paper's Table 2)"
            )
        if self.spatial_audio_shape is not None:
            shape = self.spatial_audio_shape
            if len(shape) != 3 or not all(isinstance(d, int) and d > 0 for d in shape):
                raise ValueError(
                    "ModelConfig.spatial_audio_shape must be (height, width, channels) of "
                    f"positive ints, got {shape!r}"
                )
        if self.audio_attention:
            if self.modality == "visual":
                raise ValueError(
                    "ModelConfig.audio_attention=True (visual-guided audio attention) needs the "
                    "audio modality: use modality='audio' or 'av'"
                )
            if self.spatial_audio_shape is None:
                raise ValueError(
                    "ModelConfig.audio_attention=True needs spatial audio features "
                    "(ModelConfig.spatial_audio_shape, e.g. VGGish pool5 (6, 4, 512)); AVE "
                    "records carry 128-d audio embeddings only"
                )

    def to_dict(self) -> dict:
        """A JSON/YAML-serializable dict (tuples become lists)."""
        return hyperparams.to_dict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        """The inverse of `to_dict`; unknown keys and wrong types raise ValueError naming them."""
        return hyperparams.from_dict(cls, values)


def _one_of(field, value, allowed):
    if value not in allowed:
        raise ValueError(f"ModelConfig.{field}={value!r} is not one of {allowed}")


def _positive_int(field, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"ModelConfig.{field} must be a positive int, got {value!r}")
