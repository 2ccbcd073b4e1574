"""Multimodal residual network, MRN (Table 2 "MRN")."""

import keras
from keras import ops

from ave_tf.layers._projecting_fusion import ProjectingFusion

RESIDUAL_MODALITIES = ("audio", "visual")


@keras.saving.register_keras_serializable(package="ave_tf")
class MultimodalResidualFusion(ProjectingFusion):
    """Fuses audio and visual features with a one-modality residual stream (MRN).

    As in Kim et al.'s MRN (text and image), only one modality forms the residual stream `h`
    and the other is fed into every block: `h_l = h_{l-1} + tanh(W_h h_{l-1}) * tanh(W_x x)`
    (the joint residual mapping, one layer per branch instead of MRN's deeper branches); the
    output is `h_L`. The residual stream is the audio by default (the paper's guiding
    modality; its DMRN differs by updating both). A residual input whose width differs from
    `units` is projected linearly first.

    Args:
        units: int or None. Width of the residual stream; None requires equal input widths.
        blocks: int. Number of stacked residual blocks.
        residual_modality: "audio" or "visual", the modality updated by the blocks.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments / returns: `audio` `[..., audio_dim]` and `visual` `[..., visual_dim]`
    (same leading shape) -> `[..., units]`, the residual stream after `blocks` updates.

    Example:
    ```python
    fused = MultimodalResidualFusion(128)(np.ones((2, 10, 128)), np.ones((2, 10, 512)))
    ```

    Reference:
        Tian et al., ECCV 2018, section 4.3 and Table 2 ("MRN"); Kim et al., "Multimodal
        Residual Learning for Visual QA", NIPS 2016, eqs. 1-3.
    """

    def __init__(self, units=None, blocks=1, residual_modality="audio", **kwargs):
        super().__init__(units, **kwargs)
        if residual_modality not in RESIDUAL_MODALITIES:
            raise ValueError(
                f"{self.name}: residual_modality must be one of {RESIDUAL_MODALITIES}, "
                f"got {residual_modality!r}"
            )
        if blocks < 1:
            raise ValueError(f"{self.name}: blocks must be >= 1, got {blocks}")
        self.blocks = blocks
        self.residual_modality = residual_modality

    def _split(self, audio, visual):
        """Returns (residual stream input, side input)."""
        return (audio, visual) if self.residual_modality == "audio" else (visual, audio)

    def build(self, audio_shape, visual_shape):
        stream_shape, side_shape = self._split(audio_shape, visual_shape)
        units = self.fused_units(audio_shape[-1], visual_shape[-1])
        self.stream_input = self._input_projection("stream_input", stream_shape, units)
        stream_shape = tuple(stream_shape[:-1]) + (units,)
        self.stream_transforms, self.side_transforms = [], []
        for index in range(self.blocks):
            self.stream_transforms.append(
                self._dense(f"stream_transform_{index}", stream_shape, units, activation="tanh")
            )
            self.side_transforms.append(
                self._dense(f"side_transform_{index}", side_shape, units, activation="tanh")
            )

    def call(self, audio, visual):
        stream, side = self._split(audio, visual)
        if self.stream_input is not None:
            stream = self.stream_input(stream)
        for stream_transform, side_transform in zip(
            self.stream_transforms, self.side_transforms, strict=True
        ):
            stream = stream + ops.multiply(stream_transform(stream), side_transform(side))
        return stream

    def get_config(self):
        config = super().get_config()
        config.update({"blocks": self.blocks, "residual_modality": self.residual_modality})
        return config
