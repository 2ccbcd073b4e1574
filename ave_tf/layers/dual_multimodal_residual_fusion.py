"""Dual multimodal residual network, DMRN (paper section 4.3, eqs. 5-6)."""

import keras
from keras import ops

from ave_tf.layers._projecting_fusion import ProjectingFusion
from ave_tf.layers.additive_fusion import AdditiveFusion


@keras.saving.register_keras_serializable(package="ave_tf")
class DualMultimodalResidualFusion(ProjectingFusion):
    """Fuses audio and visual features by updating both with a shared residual (DMRN).

    One block computes `f = f(a, v)`, an additive fusion (`AdditiveFusion`,
    `W_a a + W_v v + b`), and updates both modalities with it:
    `a' = tanh(a + f)` (eq. 5), `v' = tanh(v + f)` (eq. 6). `blocks` blocks are stacked,
    each feeding its updated `a'`, `v'` to the next (the paper finds one block enough);
    the fused output is the average `(a' + v') / 2`. Unlike MRN, both modalities are updated.
    Inputs whose width differs from `units` (early fusion: audio 128, visual 512) are first
    projected linearly to `units`. `update_layers=2` is the authors' code's `f`: the average of
    two per-modality MLPs, `(U_a(a) + U_v(v)) / 2` with `U = Dense(units) -> tanh -> Dense(units)`.

    Args:
        units: int or None. Width of the residual stream; None requires equal input widths
            and keeps them.
        blocks: int. Number of stacked residual blocks.
        update_layers: 1 (`f` additive, eqs. 5-6) or 2 (`f` = the mean of two 2-layer tanh MLPs,
            as the authors' code).
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        audio: float tensor `[..., audio_dim]`, e.g. the audio LSTM output `h_t^a`.
        visual: float tensor `[..., visual_dim]`, e.g. the visual LSTM output `h_t^v`.

    Returns:
        `[..., units]`, the joint representation `h_t^*`.

    Example:
    ```python
    fused = DualMultimodalResidualFusion()(np.ones((2, 10, 128)), np.ones((2, 10, 128)))
    ```

    Reference:
        Tian et al., ECCV 2018, section 4.3, eqs. 5-6 and Fig. 4(b).
    """

    def __init__(self, units=None, blocks=1, update_layers=1, **kwargs):
        super().__init__(units, **kwargs)
        if blocks < 1:
            raise ValueError(f"{self.name}: blocks must be >= 1, got {blocks}")
        if update_layers not in (1, 2):
            raise ValueError(f"{self.name}: update_layers must be 1 or 2, got {update_layers}")
        self.blocks = blocks
        self.update_layers = update_layers

    def build(self, audio_shape, visual_shape):
        units = self.fused_units(audio_shape[-1], visual_shape[-1])
        self.audio_input = self._input_projection("audio_input", audio_shape, units)
        self.visual_input = self._input_projection("visual_input", visual_shape, units)
        stream_shape = tuple(audio_shape[:-1]) + (units,)
        self.residual_blocks = []
        for index in range(self.blocks):
            if self.update_layers == 1:
                block = AdditiveFusion(units, dtype=self.dtype_policy, name=f"block_{index}")
                block.build(stream_shape, stream_shape)
            else:
                block = {
                    f"{modality}_{layer}": self._dense(
                        f"block_{index}_{modality}_{layer}", stream_shape, units
                    )
                    for modality in ("audio", "visual")
                    for layer in ("hidden", "output")
                }
            self.residual_blocks.append(block)

    def call(self, audio, visual):
        if self.audio_input is not None:
            audio = self.audio_input(audio)
        if self.visual_input is not None:
            visual = self.visual_input(visual)
        for block in self.residual_blocks:
            shared = (
                block(audio, visual)
                if self.update_layers == 1
                else self._mlp_mean(block, audio, visual)
            )
            audio, visual = ops.tanh(audio + shared), ops.tanh(visual + shared)
        return 0.5 * (audio + visual)

    @staticmethod
    def _mlp_mean(block, audio, visual):
        audio = block["audio_output"](ops.tanh(block["audio_hidden"](audio)))
        visual = block["visual_output"](ops.tanh(block["visual_hidden"](visual)))
        return 0.5 * (audio + visual)

    def get_config(self):
        config = super().get_config()
        config.update({"blocks": self.blocks, "update_layers": self.update_layers})
        return config
