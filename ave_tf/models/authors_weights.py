"""Loads the weights of the authors' PyTorch modules into the `authors_*` Keras models.

The authors' `att_Net` (A+V-att, models.py; also the weak one, models_weakly.py) and `TBMRF_Net`
(DMRN, models_fusion.py) state dicts, as numpy arrays, map onto the localization model that
`ave_train --experiment=authors_av_att` / `authors_weak_av_att` / `authors_dmrn` builds:

    state = {k: v.numpy() for k, v in torch.load("AV_att.pt").state_dict().items()}
    load_authors_state_dict(model, state)

PyTorch's Linear stores [out, in] (Keras: the transpose); its LSTM has two biases that Keras
sums, the same gate order (i, f, g, o), and `*_reverse` parameters for the backward direction.
"""

import numpy as np

# Their module name -> (our layer path, kind). Paths are `layer` or `layer/sublayer`.
_LINEAR_LAYERS = {
    "affine_audio": "visual_attention/guide_projection",
    "affine_video": "visual_attention/cell_projection",
    "affine_v": "visual_attention/cell_hidden",
    "affine_g": "visual_attention/guide_hidden",
    "affine_h": "visual_attention/score",
    "L1": "classifier_hidden_0",
    "L2": "classifier",
    "U_a.0": "fusion/block_0_audio_hidden",
    "U_a.2": "fusion/block_0_audio_output",
    "U_v.0": "fusion/block_0_visual_hidden",
    "U_v.2": "fusion/block_0_visual_output",
}
_LSTM_LAYERS = {"lstm_audio": "audio_temporal", "lstm_video": "visual_temporal"}


def _layer(model, path: str):
    """The layer at `path`: a model layer, then sub-layers by attribute or by name."""
    name, *rest = path.split("/")
    layer = model.get_layer(name)
    for part in rest:
        inner = {sub.name: sub for sub in layer._flatten_layers(include_self=False)}
        layer = getattr(layer, part, None) or inner[part]
    return layer


def _assign(variable, value, key: str) -> None:
    value = np.asarray(value, dtype=np.float32)
    if tuple(variable.shape) != value.shape:
        raise ValueError(
            f"{key}: shape {value.shape} does not fit {variable.path} {variable.shape}"
        )
    variable.assign(value)


def load_authors_state_dict(model, state: dict) -> list[str]:
    """Copies a state dict of the authors' modules into `model`; returns the keys it used.

    Raises ValueError naming a key whose layer the model lacks or whose shape differs, and
    listing keys of the state dict that nothing maps (so a silent partial load cannot happen).
    """
    used = []
    for prefix, path in _LINEAR_LAYERS.items():
        if f"{prefix}.weight" not in state:
            continue
        try:
            layer = _layer(model, path)
        except (ValueError, KeyError):
            raise ValueError(f"{prefix}.weight: the model has no layer {path}") from None
        _assign(layer.kernel, np.transpose(state[f"{prefix}.weight"]), f"{prefix}.weight")
        used.append(f"{prefix}.weight")
        if f"{prefix}.bias" in state:
            _assign(layer.bias, state[f"{prefix}.bias"], f"{prefix}.bias")
            used.append(f"{prefix}.bias")
    for prefix, name in _LSTM_LAYERS.items():
        if f"{prefix}.weight_ih_l0" not in state:
            continue
        try:
            bidirectional = model.get_layer(name)
        except ValueError:
            raise ValueError(f"{prefix}: the model has no layer {name}") from None
        for suffix, direction in (("", bidirectional.forward_layer), ("_reverse", None)):
            cell = (direction or bidirectional.backward_layer).cell
            keys = [
                f"{prefix}.{p}_l0{suffix}" for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            ]
            weight_ih, weight_hh, bias_ih, bias_hh = (state[k] for k in keys)
            _assign(cell.kernel, np.transpose(weight_ih), keys[0])
            _assign(cell.recurrent_kernel, np.transpose(weight_hh), keys[1])
            _assign(cell.bias, np.asarray(bias_ih) + np.asarray(bias_hh), keys[2])
            used += keys
    unused = sorted(set(state) - set(used))
    if unused:
        raise ValueError(f"state dict keys with no place in model {model.name!r}: {unused[:8]}")
    return used
