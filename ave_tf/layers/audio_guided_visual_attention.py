"""Audio-guided visual attention (paper section 4.2, eqs. 2-4)."""

import keras

from ave_tf.layers._guided_spatial_attention import GuidedSpatialAttentionBase


@keras.saving.register_keras_serializable(package="ave_tf")
class AudioGuidedVisualAttention(GuidedSpatialAttentionBase):
    """Pools each segment's visual feature map with weights predicted from its audio.

    For every segment t, the audio vector `a_t` scores the `k = height * width` visual cells
    `v_t^i`: `x_t = W_f tanh(W_v U_v(v_t) + (W_a U_a(a_t)) 1^T)` (eq. 4), `w_t = softmax(x_t)`
    (eq. 3) and the attended visual vector is `v_t^att = sum_i w_t^i v_t^i` (eq. 2), a weighted
    average of the original (unprojected) cells. `U_v`, `U_a` are dense layers with a ReLU
    projecting both modalities to `projection_dim` (the paper's d, 512 in the authors' code);
    `W_v`, `W_a` map d to `hidden_dim` (the paper's k, which equals the 49 cells of VGG-19
    pool5) and `W_f` maps that to one score per cell. The layer works for any number of leading
    axes (batch, time, ...) and computes the softmax in float32.

    Args:
        projection_dim: int. Output size d of the audio and visual projections `U_a`, `U_v`.
        hidden_dim: int. Size k of the hidden layer `W_a`, `W_v` before the per-cell score.
        guide_axis: "hidden" (eq. 4: `W_a U_a(a_t)` is added to every cell) or "cells" (the
            authors' code: its k = 49 values are added along the cells, one per cell).
        **kwargs: other keyword arguments passed to `keras.layers.Layer` (e.g. `name`, `dtype`).

    Call arguments:
        audio: float tensor `[batch, time, audio_dim]`, the guiding audio vectors.
        visual: float tensor `[batch, time, height, width, channels]`, the visual feature maps.

    Returns:
        A tuple `(attended, attention)`: `attended` `[batch, time, channels]` in the compute
        dtype and `attention` `[batch, time, height * width]` float32 (rows sum to 1; cells in
        row-major order of the height x width grid).

    Example:
    ```python
    audio = np.random.rand(2, 10, 128).astype("float32")
    visual = np.random.rand(2, 10, 7, 7, 512).astype("float32")
    attended, attention = AudioGuidedVisualAttention()(audio, visual)
    # attended: (2, 10, 512), attention: (2, 10, 49)
    ```

    Reference:
        Tian et al., "Audio-Visual Event Localization in Unconstrained Videos", ECCV 2018,
        section 4.2, eqs. 2-4.
    """

    def build(self, audio_shape, visual_shape):
        self._build_attention(guide_shape=audio_shape, grid_shape=visual_shape)

    def call(self, audio, visual):
        return self._attend(guide=audio, grid=visual)
