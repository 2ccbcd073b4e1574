"""Loads the weights of the authors' PyTorch modules into the `authors_*` Keras models.

The authors' `att_Net` (A+V-att, models.py; also the weak one, models_weakly.py) and `TBMRF_Net`
(DMRN, models_fusion.py) state dicts, as numpy arrays, map onto the localization model that
`ave_train --experiment=authors_av_att` / `authors_weak_av_att` / `authors_dmrn` builds:

    state = {k: v.numpy() for k, v in torch.load("AV_att.pt").state_dict().items()}
    load_authors_state_dict(model, state)

Their AVDLN is a Keras 2 model (cmm_train.py); its weights file maps onto `authors_avdln`:

    load_authors_avdln_weights(model, read_keras2_weights("model/cmm_model_weights.h5"))

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


# The authors' AVDLN (cmm_train.py, Keras 2) creates its Dense layers in this order: the visual
# tower's two, then the audio tower's two; Keras numbers them dense_1..dense_4 in a fresh session.
_AVDLN_LAYERS = ("visual_fc1", "visual_fc2", "audio_fc1", "audio_fc2")


def _dense_number(name: str) -> int:
    suffix = name.rsplit("_", 1)[-1]
    return int(suffix) if suffix.isdigit() else 0


def load_authors_avdln_weights(model, weights: dict) -> list[str]:
    """Copies the authors' AVDLN weights (`{"dense_1/kernel:0": [512, 128], ...}`, as their
    `cmm_model_weights.h5` holds them; see `read_keras2_weights`) into an AVDLN model.

    Their Dense layers are matched in creation order (sorted by Keras' number suffix), so a model
    saved in a session that had built other layers first (dense_5..dense_8) loads too. Returns
    the keys used; raises ValueError naming a missing key or a shape that does not fit.
    """
    layers = sorted({key.split("/")[0] for key in weights}, key=_dense_number)
    if len(layers) != len(_AVDLN_LAYERS):
        raise ValueError(
            f"the authors' AVDLN has {len(_AVDLN_LAYERS)} Dense layers; the weights have "
            f"{len(layers)}: {layers}"
        )
    used = []
    for theirs, ours in zip(layers, _AVDLN_LAYERS, strict=True):
        layer = _layer(model, ours)
        for name, variable in (("kernel", layer.kernel), ("bias", layer.bias)):
            key = f"{theirs}/{name}:0"
            if key not in weights:
                raise ValueError(f"{key}: missing from the authors' AVDLN weights")
            _assign(variable, weights[key], key)
            used.append(key)
    return used


def read_keras2_weights(path: str) -> dict:
    """`{"<layer>/<weight>:0": array}` of a Keras 2 `save_weights` HDF5 file (the authors'
    `model/cmm_model_weights.h5`): the root lists `layer_names`, each layer group its
    `weight_names`, stored at `<layer>/<weight name>`."""
    import h5py

    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f  # a whole-model save
        if "layer_names" not in group.attrs:
            raise ValueError(f"{path}: not a Keras 2 weights file (no layer_names attribute)")
        out = {}
        for layer in group.attrs["layer_names"]:
            layer = layer.decode() if isinstance(layer, bytes) else str(layer)
            for weight in group[layer].attrs.get("weight_names", []):
                weight = weight.decode() if isinstance(weight, bytes) else str(weight)
                out[weight] = np.asarray(group[layer][weight], dtype=np.float32)
        return out
