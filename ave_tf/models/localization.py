"""Audio-visual event localization networks (paper section 4, Table 1, Table 2).

`build_localization_model(config)` returns a Keras functional model with the two inputs
`audio` [batch, T, 128] and `visual` [batch, T, 7, 7, 512] (T variable, both always present)
and a dict of float32 outputs:

- `logits` [batch, T, num_classes]: per-segment class scores (softmax = probabilities; for
  DMRFE the log of the two branches' averaged probabilities);
- `attention` [batch, T, 49]: the audio-guided visual attention map, uniform (1/49) when the
  model pools visual maps by global averaging or ignores them;
- `video_logits` [batch, num_classes] (task "weak"): MIL pooling of `logits` over T (eq. 7);
- `audio_attention` [batch, T, audio cells] (visual-guided audio attention models only).

Graph: segment features (audio vector; visual vector by attention or average pooling) ->
temporal model(s) -> fusion at the configured stage -> a shared dense classifier per segment.

Padding: `layers.SegmentMask` derives from the two inputs which trailing segments are padding
(all-zero audio and visual, as the parser pads); the temporal models and MIL pooling take that
mask, and everything else works per segment, so a video's outputs on its real segments do not
depend on the padding of its batch. Outputs on padded segments are meaningless (the losses
skip them: labels -1).
"""

import keras

from ave_tf import layers
from ave_tf.data import schema
from ave_tf.models import torch_init
from ave_tf.models.config import ModelConfig
from ave_tf.models.fusion import build_fusion_layer
from ave_tf.models.registry import register_model
from ave_tf.models.temporal import build_temporal_layer, temporal_output_width

AUDIO_INPUT = "audio"
VISUAL_INPUT = "visual"
LOGITS = "logits"
ATTENTION = "attention"
VIDEO_LOGITS = "video_logits"
AUDIO_ATTENTION = "audio_attention"


@register_model("localization", ModelConfig)
def build_localization_model(config: ModelConfig, use_cudnn="auto") -> keras.Model:
    """Builds the localization network described by `config`.

    Args:
        config: the model configuration; validated here (ValueError names the bad field).
        use_cudnn: passed to every LSTM. False builds a graph without the GPU-only CudnnRNN
            op (for CPU export of a GPU-trained model); the weights layout is the same.

    Returns:
        A `keras.Model` named after the paper's model name (see the module docstring for its
        inputs and outputs). Under a mixed precision policy, the outputs stay float32.
    """
    config.validate()
    inputs = _inputs(config)
    mask = layers.SegmentMask(name="segment_mask")(inputs[AUDIO_INPUT], inputs[VISUAL_INPUT])
    audio, visual, maps = _segment_features(config, inputs[AUDIO_INPUT], inputs[VISUAL_INPUT])
    if config.modality == "av":
        logits = _fused_logits(config, audio, visual, mask, use_cudnn)
    else:
        features = audio if config.modality == "audio" else visual
        logits = _single_modality_logits(config, features, mask, use_cudnn)
    outputs = {LOGITS: keras.layers.Activation("linear", dtype="float32", name=LOGITS)(logits)}
    outputs[ATTENTION] = keras.layers.Activation("linear", dtype="float32", name=ATTENTION)(
        maps[ATTENTION]
    )
    if AUDIO_ATTENTION in maps:
        outputs[AUDIO_ATTENTION] = keras.layers.Activation(
            "linear", dtype="float32", name=AUDIO_ATTENTION
        )(maps[AUDIO_ATTENTION])
    if config.task == "weak":
        outputs[VIDEO_LOGITS] = layers.MILPooling(
            config.mil_pooling, dtype="float32", name=VIDEO_LOGITS
        )(outputs[LOGITS], segment_mask=mask)
    model = keras.Model(inputs, outputs, name=_model_name(config))
    if config.initialization == "torch":
        torch_init.reset_to_torch_defaults(model, config.xavier_kernels)
    return model


# Graph sections.


def _inputs(config):
    audio_shape = config.spatial_audio_shape or (schema.AUDIO_DIM,)
    return {
        AUDIO_INPUT: keras.Input((None, *audio_shape), name=AUDIO_INPUT),
        VISUAL_INPUT: keras.Input((None, *schema.VISUAL_SHAPE), name=VISUAL_INPUT),
    }


def _segment_features(config, audio_input, visual_input):
    """Returns (audio vectors, visual vectors, {output name: attention map})."""
    spatial_audio = config.spatial_audio_shape is not None
    audio_pooling = (
        layers.SpatialAveragePooling(name="audio_average_pooling") if spatial_audio else None
    )
    if config.co_attention:
        audio, visual, audio_map, visual_map = layers.AudioVisualCoAttention(
            config.attention_dim, config.attention_hidden_dim, name="co_attention"
        )(audio_input, visual_input)
        return audio, visual, {ATTENTION: visual_map, AUDIO_ATTENTION: audio_map}
    maps = {}
    needs_average = config.audio_attention or not config.attention
    if needs_average:
        averaged_visual, uniform_map = layers.SpatialAveragePooling(name="visual_average_pooling")(
            visual_input
        )
    audio = audio_pooling(audio_input)[0] if spatial_audio else audio_input
    if config.audio_attention:
        audio, maps[AUDIO_ATTENTION] = layers.VisualGuidedAudioAttention(
            config.attention_dim, config.attention_hidden_dim, name="audio_attention_pooling"
        )(audio_input, averaged_visual)
    if config.attention:
        visual, maps[ATTENTION] = layers.AudioGuidedVisualAttention(
            config.attention_dim,
            config.attention_hidden_dim,
            guide_axis=config.attention_guide_axis,
            name="visual_attention",
        )(audio, visual_input)
    else:
        visual, maps[ATTENTION] = averaged_visual, uniform_map
    return audio, visual, maps


def _single_modality_logits(config, features, mask, use_cudnn):
    temporal = build_temporal_layer(config, f"{config.modality}_temporal", use_cudnn)
    hidden = temporal(features, mask=mask)
    return _classifier(config, hidden, "classifier")


def _fused_logits(config, audio, visual, mask, use_cudnn):
    if config.fusion_stage == "early":
        units = config.fusion_dim or config.hidden_size
        fused = build_fusion_layer(config, units, "fusion")(audio, visual)
        hidden = build_temporal_layer(config, "fused_temporal", use_cudnn)(fused, mask=mask)
        return _classifier(config, hidden, "classifier")
    audio = build_temporal_layer(config, "audio_temporal", use_cudnn)(audio, mask=mask)
    visual = build_temporal_layer(config, "visual_temporal", use_cudnn)(visual, mask=mask)
    if config.fusion_stage == "late":
        units = config.fusion_dim or temporal_output_width(config)
        if config.fusion == "dmrfe":
            return layers.DualMultimodalResidualFusionEnsemble(
                config.num_classes, units, blocks=config.dmrn_blocks, name="fusion"
            )(_dropout(config, audio, "audio_dropout"), _dropout(config, visual, "visual_dropout"))
        fused = build_fusion_layer(config, units, "fusion")(audio, visual)
        return _classifier(config, fused, "classifier")
    # Decision fusion: per-modality class scores, fused, then the shared classifier.
    audio_logits = _classifier(config, audio, "audio_classifier")
    visual_logits = _classifier(config, visual, "visual_classifier")
    units = config.fusion_dim or config.num_classes
    fused = build_fusion_layer(config, units, "fusion")(audio_logits, visual_logits)
    return keras.layers.Dense(config.num_classes, name="classifier")(fused)


def _classifier(config, features, name):
    # A ReLU MLP head when asked: every Dense after the first sees ReLU'd features.
    for index, width in enumerate(config.classifier_hidden_sizes):
        features = keras.layers.ReLU(name=f"{name}_relu_{index}")(features)
        features = keras.layers.Dense(width, name=f"{name}_hidden_{index}")(features)
    if config.classifier_hidden_sizes:
        features = keras.layers.ReLU(name=f"{name}_relu_out")(features)
    features = _dropout(config, features, f"{name}_dropout")
    return keras.layers.Dense(config.num_classes, name=name)(features)


def _dropout(config, features, name):
    if not config.dropout:
        return features
    return keras.layers.Dropout(config.dropout, name=name)(features)


def _model_name(config):
    name = config.paper_name().lower()
    for old, new in (("+", "_plus_"), ("'", "_spatial"), (" ", "_"), ("(", ""), (")", "")):
        name = name.replace(old, new)
    return name.replace("[", "").replace("]", "").replace("-", "_")
