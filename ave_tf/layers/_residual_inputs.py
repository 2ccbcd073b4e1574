"""Brings one input of a residual fusion to the fusion width (shared by MRN, DMRN)."""

import keras


def residual_projection(layer, input_dim, units, name):
    """Returns a linear Dense to `units`, or None when the input already has that width.

    A residual update `x + f(...)` needs `x` at the fusion width; early fusion feeds inputs of
    different widths (audio 128, visual 512), which are then projected linearly first.
    """
    if input_dim == units:
        return None
    return keras.layers.Dense(units, use_bias=False, dtype=layer.dtype_policy, name=name)


def resolve_units(layer, audio_dim, visual_dim):
    """The fusion width: `layer.units`, or the common input width when units is None."""
    if layer.units is not None:
        return layer.units
    if audio_dim != visual_dim:
        raise ValueError(
            f"{layer.name}: inputs of different widths ({audio_dim} and {visual_dim}) need "
            "`units` to project them to a common width"
        )
    return int(audio_dim)
