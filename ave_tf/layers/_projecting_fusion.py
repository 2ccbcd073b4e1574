"""The base of the fusion layers that map `(audio, visual)` to `units` features (Table 2)."""

import keras


class ProjectingFusion(keras.layers.Layer):
    """Base of the layers fusing `audio [..., a]` and `visual [..., v]` into `[..., units]`.

    It holds what these fusions share: the `units` argument and its `get_config` entry, the
    output shape, the pass-through of a time mask (they work per segment), and the helpers
    that create their sub-layers. A subclass creates its weights in
    `build(audio_shape, visual_shape)` (attribute names are the weight names of saved models:
    keep them) and writes its fusion in `call(audio, visual)`; a subclass with more
    constructor arguments adds them to `get_config`.

    Args:
        units: int, or None in the fusions that accept it (the residual ones): the common
            width of the two inputs, which must then be equal.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # per segment: a time mask passes through
        self.units = units

    def fused_units(self, audio_dim, visual_dim):
        """The output width: `units`, or the common input width when `units` is None."""
        if self.units is not None:
            return self.units
        if audio_dim != visual_dim:
            raise ValueError(
                f"{self.name}: inputs of different widths ({audio_dim} and {visual_dim}) need "
                "`units` to project them to a common width"
            )
        return int(audio_dim)

    def _dense(self, name, input_shape, units=None, **kwargs):
        """A `Dense` sub-layer to `units` (default `self.units`) built on `input_shape`.

        It has this layer's dtype policy; `kwargs` (activation, use_bias) go to `Dense`.
        """
        dense = keras.layers.Dense(
            self.units if units is None else units, dtype=self.dtype_policy, name=name, **kwargs
        )
        dense.build(input_shape)
        return dense

    def _input_projection(self, name, input_shape, units):
        """A bias-free linear `Dense` to `units`, or None when the input has that width already.

        A residual update `x + f(...)` needs `x` at the fusion width; early fusion feeds inputs
        of different widths (audio 128, visual 512), which are then projected linearly first.
        """
        if input_shape[-1] == units:
            return None
        return self._dense(name, input_shape, units, use_bias=False)

    def compute_output_shape(self, audio_shape, visual_shape):
        return tuple(audio_shape[:-1]) + (self.fused_units(audio_shape[-1], visual_shape[-1]),)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config
