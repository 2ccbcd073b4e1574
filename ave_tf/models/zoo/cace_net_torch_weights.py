"""Loads a state dict of CACE-Net's PyTorch `supv_main_model` (Co-Guide) into the Keras
`cace_net` model:

    state = {k: v.cpu().numpy() for k, v in torch.load("model.pth.tar").items()}
    load_cace_net_torch_weights(model, state)

Everything CACE-Net shares with CMBS goes through CMBS's loader
(`ave_tf/models/zoo/cmbs_torch_weights.py`: Linear transposes, summed LSTM biases, packed
attention projections). Their `Co_Guided_Attention` maps to `co_guided_attention`, whose one
LayerNorm over the cells is their `v_norm` (their forward uses it after both cell
self-attentions); `localize_module.encoder_q.0` is `contrastive_projection`. Parameters their
forward never uses are skipped: `v_norm2`, `ave_bottleneck`, `a_fc` and those CMBS's loader
skips. A key that maps nowhere, or a Keras weight left unset, raises ValueError.
"""

import re

import numpy as np

from ave_tf.models.zoo.cmbs_torch_weights import _AGSCA, _Assigner, _load_lstms, _route

_CO_GUIDED = {
    **{theirs: ours for theirs, ours in _AGSCA.items() if theirs != "norm"},
    "v_norm": "cell_norm",
    "video_query2": "cell_query_2",
    "video_key2": "cell_key_2",
    "video_value2": "cell_value_2",
    "audio_query": "audio_query",
    "audio_key": "audio_key",
    "audio_value": "audio_value",
    "a_norm": "audio_norm",
    "v_query": "guide_query",
    "vaudio_key": "guide_key",
    "vaudio_value": "guide_value",
}
_UNUSED = re.compile(
    r"spatial_channel_att\.(ave_bottleneck|v_norm2)\.|^a_fc\.|\.encoder_layer\.|"
    r"\.decoder_layer\.|\.self_attn\..*decoder|decoder\..*\.self_attn\."
)


def _route_cace(assigner, key, value):
    if key.startswith("spatial_channel_att."):
        module, param = key.split(".")[1:]
        if module not in _CO_GUIDED:
            return False
        layer = assigner.layer(("co_guided_attention", _CO_GUIDED[module]))
        assigner.dense_or_norm(layer, param, value)
        return True
    if key.startswith("localize_module.encoder_q.0."):
        layer = assigner.layer(("contrastive_projection",))
        assigner.dense_or_norm(layer, key.rsplit(".", 1)[1], value)
        return True
    return _route(assigner, key, value)


def load_cace_net_torch_weights(model, state_dict) -> None:
    """Copies CACE-Net's PyTorch parameters (`{name: numpy array}`, a `module.` prefix from
    DataParallel allowed) into a model built by `build_cace_net_model`."""
    state = {k.removeprefix("module."): np.asarray(v) for k, v in state_dict.items()}
    assigner = _Assigner(model)
    _load_lstms(assigner, state)
    unknown = []
    for key, value in state.items():
        if _UNUSED.search(key):
            continue
        if not _route_cace(assigner, key, value):
            unknown.append(key)
    if unknown:
        raise ValueError(f"parameters with no counterpart in {model.name!r}: {unknown}")
    unset = [w.path for w in model.weights if id(w) not in assigner.assigned]
    if unset:
        raise ValueError(f"weights of {model.name!r} not in the state dict: {unset}")
