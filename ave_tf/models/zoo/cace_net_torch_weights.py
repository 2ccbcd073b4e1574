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

from ave_tf.models.zoo.cmbs_torch_weights import _AGSCA, _route, load_state_dict

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
    load_state_dict(model, state_dict, route=_route_cace, unused=_UNUSED)
