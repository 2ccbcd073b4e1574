"""Loads a state dict of CMBS's PyTorch model (`supv_main_model` / `weak_main_model`) into the
Keras `cmbs` model:

    state = {k: v.cpu().numpy() for k, v in torch.load("model.pth.tar").items()}
    load_cmbs_torch_weights(model, state)

PyTorch's Linear stores [out, in] (Keras: the transpose); its LSTMs have two biases (summed
here) and the same gate order (i, f, g, o); `nn.MultiheadAttention` packs the query, key and
value projections in `in_proj_weight` [3E, E], split into heads as Keras' [E, heads, E / heads].
Parameters their forward never uses are skipped: AGSCA's `ave_bottleneck`, the decoders'
`self_attn`, the `encoder_layer`/`decoder_layer` templates the stacks were copied from, the
supervised model's `video_norm`/`audio_norm` and the weak model's `classifier`. A key that maps
nowhere, or a Keras weight left unset, raises ValueError.
"""

import re

import numpy as np

from ave_tf.layers.epoch_switch import EpochSwitch

# Their module -> our layer (and sub-layer) for Linear / Conv1d / LayerNorm parameters.
_AGSCA = {
    "video_query": "cell_query",
    "video_key": "cell_key",
    "video_value": "cell_value",
    "norm": "cell_norm",
    "affine_video_ave": "self_average",
    "affine_video_3": "self_cells",
    "ave_v_att": "self_score",
    "affine_audio_1": "channel_audio",
    "affine_video_1": "channel_cells",
    "affine_bottleneck": "channel_bottleneck",
    "affine_v_c_att": "channel_gate",
    "affine_video_2": "spatial_cells",
    "affine_audio_2": "spatial_audio",
    "affine_v_s_att": "spatial_score",
}
_PLAIN = {
    "v_fc": ("visual_fc",),
    "audio_gated.0": ("background_suppression", "visual_gate"),  # gates the video stream
    "video_gated.0": ("background_suppression", "audio_gate"),  # gates the audio stream
    "audio_cas": ("audio_cas",),
    "video_cas": ("visual_cas",),
    "localize_module.classifier": ("event_head",),
    "localize_module.event_classifier": ("class_head",),
    "CAS_model.classifier.0": ("weak_head", "class_activation"),
}
_RELATION = {
    "video_encoder": "visual_encoder",
    "audio_encoder": "audio_encoder",
    "video_decoder": "visual_decoder",
    "audio_decoder": "audio_decoder",
}
_BLOCK_PARTS = {
    "linear1": "feedforward_in",
    "linear2": "feedforward_out",
    "norm1": "attention_norm",
    "norm2": "feedforward_norm",
}
_INTERACTION = {"AVInter": "audio_visual_interaction", "VAInter": "visual_audio_interaction"}
_RNN = {"audio_rnn": "audio_rnn", "visual_rnn": "visual_rnn"}
_UNUSED = re.compile(
    r"spatial_channel_att\.ave_bottleneck\.|\.encoder_layer\.|\.decoder_layer\.|"
    r"\.self_attn\..*decoder|decoder\..*\.self_attn\.|^(video|audio)_norm\.|^classifier\."
)


class _Assigner:
    def __init__(self, model):
        self.model = model
        self.assigned = set()

    def layer(self, path):
        layer = self.model.get_layer(path[0])
        for name in path[1:]:
            layer = getattr(layer, name)
        return layer

    def set(self, variable, value):
        value = np.asarray(value, np.float32)
        if tuple(variable.shape) != value.shape:
            raise ValueError(f"{variable.path}: shape {tuple(variable.shape)}, got {value.shape}")
        variable.assign(value)
        self.assigned.add(id(variable))

    def dense_or_norm(self, layer, param, value):
        """A Linear/Conv1d (weight [out, in(, 1)], bias) or a LayerNorm (weight, bias)."""
        if hasattr(layer, "gamma"):  # LayerNormalization
            self.set(layer.gamma if param == "weight" else layer.beta, value)
        elif param == "weight":
            value = value[..., 0] if value.ndim == 3 else value
            self.set(layer.kernel, value.T)
        else:
            self.set(layer.bias, value)

    def attention(self, layer, param, value):
        """nn.MultiheadAttention -> keras.layers.MultiHeadAttention."""
        heads, head_dim = layer._num_heads, layer._key_dim
        projections = (layer._query_dense, layer._key_dense, layer._value_dense)
        if param == "in_proj_weight":
            for dense, part in zip(projections, np.split(value, 3), strict=True):
                self.set(dense.kernel, part.T.reshape(-1, heads, head_dim))
        elif param == "in_proj_bias":
            for dense, part in zip(projections, np.split(value, 3), strict=True):
                self.set(dense.bias, part.reshape(heads, head_dim))
        elif param == "out_proj.weight":
            self.set(layer._output_dense.kernel, value.T.reshape(heads, head_dim, -1))
        elif param == "out_proj.bias":
            self.set(layer._output_dense.bias, value)
        else:
            raise KeyError(param)


def _route(assigner, key, value):
    """Assigns one state-dict entry; False if the key maps to no layer of this model."""
    for prefix, path in _PLAIN.items():
        if key.startswith(prefix + "."):
            assigner.dense_or_norm(assigner.layer(path), key[len(prefix) + 1 :], value)
            return True
    if key.startswith("spatial_channel_att."):
        module, param = key.split(".")[1:]
        layer = assigner.layer(("spatial_channel_attention", _AGSCA[module]))
        assigner.dense_or_norm(layer, param, value)
        return True
    match = re.match(r"(\w+)\.(affine_matrix|(?:en|de)coder\.layers\.(\d+)\.(\w+))\.(.+)", key)
    if match and match.group(1) in _RELATION:
        relation = assigner.layer((_RELATION[match.group(1)],))
        if match.group(2) == "affine_matrix":
            assigner.dense_or_norm(relation.projection, match.group(5), value)
            return True
        prefix, part, param = f"layer_{match.group(3)}", match.group(4), match.group(5)
        if part in ("self_attn", "multihead_attn"):
            assigner.attention(getattr(relation, f"{prefix}_attention"), param, value)
        else:
            assigner.dense_or_norm(
                getattr(relation, f"{prefix}_{_BLOCK_PARTS[part]}"), param, value
            )
        return True
    match = re.match(r"(AVInter|VAInter)\.(video_multihead|norm1)\.(.+)", key)
    if match:
        interaction = assigner.layer((_INTERACTION[match.group(1)],))
        if match.group(2) == "norm1":
            assigner.dense_or_norm(interaction.interaction_attention_norm, match.group(3), value)
        else:
            assigner.attention(interaction.interaction_attention, match.group(3), value)
        return True
    return False


def _load_lstms(assigner, state):
    for theirs, ours in _RNN.items():
        prefix = f"audio_visual_rnn_layer.{theirs}."
        if prefix + "weight_ih_l0" not in state:
            continue
        bidirectional = assigner.layer((ours,))
        for suffix, direction in (("", bidirectional.forward_layer),
                                  ("_reverse", bidirectional.backward_layer)):  # fmt: skip
            cell = direction.cell
            get = lambda name: np.asarray(state.pop(f"{prefix}{name}_l0{suffix}"))  # noqa: B023,E731
            assigner.set(cell.kernel, get("weight_ih").T)
            assigner.set(cell.recurrent_kernel, get("weight_hh").T)
            assigner.set(cell.bias, get("bias_ih") + get("bias_hh"))


def load_state_dict(model, state_dict, route=_route, unused=_UNUSED) -> None:
    """Copies a CMBS-family state dict into `model`: LSTMs first, then every key through
    `route(assigner, key, value)` (False: no counterpart) unless `unused` matches it; fails
    naming keys with no counterpart and model weights left unset."""
    state = {k.removeprefix("module."): np.asarray(v) for k, v in state_dict.items()}
    assigner = _Assigner(model)
    _load_lstms(assigner, state)
    unknown = []
    for key, value in state.items():
        if unused.search(key):
            continue
        if not route(assigner, key, value):
            unknown.append(key)
    if unknown:
        raise ValueError(f"parameters with no counterpart in {model.name!r}: {unknown}")
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, EpochSwitch):  # theirs: a Python flag, on when they evaluate
            assigner.set(layer.state, 1.0)
    unset = [w.path for w in model.weights if id(w) not in assigner.assigned]
    if unset:
        raise ValueError(f"weights of {model.name!r} not in the state dict: {unset}")


def load_cmbs_torch_weights(model, state_dict) -> None:
    """Copies CMBS's PyTorch parameters (`{name: numpy array}`, a `module.` prefix from
    DataParallel allowed) into a model built by `build_cmbs_model` of the same variant."""
    load_state_dict(model, state_dict)
