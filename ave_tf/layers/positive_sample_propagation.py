"""Positive sample propagation between the audio and visual segments of a video (PSP, CVPR 2021)."""

import math

import keras
from keras import ops

# Added to row sums before dividing, as in the authors' code.
_NORM_EPSILON = 1e-8


@keras.saving.register_keras_serializable(package="ave_tf")
class PositiveSamplePropagation(keras.layers.Layer):
    """Exchanges features between audio and visual segments that are relevant to each other.

    Zhou et al. (CVPR 2021) relate every visual segment to every audio segment of the same video
    and let each segment aggregate only from its "positive" partners. With `units` = d:

    1. Four ReLU projections without bias (each followed by dropout): `v_r = relu(v W_vr)`,
       `a_r = relu(a W_ar)` score relevance, `v_m = relu(v W_vm)`, `a_m = relu(a W_am)` are the
       messages that flow to the other modality.
    2. Relevance `beta = relu(v_r a_r^T / sqrt(d))` ([T, T]: visual rows, audio columns), and its
       transpose for audio rows; each row is divided by its sum.
    3. Pruning: entries not above `threshold` are zeroed (the "negative" and weak pairs); with
       `renormalize` the remaining ones are divided by their row sum again (the authors'
       supervised model does, their weakly supervised one does not).
    4. Propagation: `v' = v + gamma_va a_m` and `a' = a + gamma_av v_m` (residual).
    5. With `output_units`: `v' = dropout(relu(v' W_vo))`, `a' = dropout(relu(a' W_ao))`
       (supervised model); then one shared layer normalization (epsilon 1e-6) on both.

    The fused feature is `(v' + a') / 2`. The residual in step 4 needs both inputs to be `units`
    wide. With `segment_mask`, padded segments are removed from the relevance matrix (they neither
    send nor receive anything), so the real segments' outputs do not depend on padding. The
    relevance, pruning and normalization run in float32 under mixed precision.

    Args:
        units: int. Width d of the four projections; must equal both inputs' width.
        threshold: float. Pruning threshold on the row-normalized relevance (the authors use
            0.099 supervised, 0.095 weakly supervised).
        output_units: int or None. Width of the ReLU output projections of step 5; None skips
            them (the outputs are then `units` wide).
        renormalize: bool. Normalize the pruned relevance rows again (step 3).
        dropout: float. Dropout rate after every projection (training only).
        epsilon: float. Epsilon of the layer normalization.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        audio: float tensor `[batch, time, units]`.
        visual: float tensor `[batch, time, units]`.
        segment_mask: optional `[batch, time]`, 1 for real segments, 0 for padding.
        training: bool, whether dropout is active.

    Returns:
        A tuple `(fused, visual_out, audio_out)`, each `[batch, time, output_units or units]`.

    Example:
    ```python
    a, v = np.random.rand(2, 10, 256), np.random.rand(2, 10, 256)
    fused, v_out, a_out = PositiveSamplePropagation(256, output_units=256)(a, v)  # (2, 10, 256)
    ```

    Reference:
        Zhou et al., "Positive Sample Propagation along the Audio-Visual Event Line", CVPR 2021,
        section 3.2 (eqs. 3-6).
    """

    def __init__(
        self,
        units=256,
        threshold=0.099,
        output_units=None,
        renormalize=True,
        dropout=0.1,
        epsilon=1e-6,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if units < 1 or (output_units is not None and output_units < 1):
            raise ValueError(f"{self.name}: units and output_units must be >= 1")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{self.name}: dropout must be in [0, 1), got {dropout}")
        self.units = int(units)
        self.threshold = float(threshold)
        self.output_units = None if output_units is None else int(output_units)
        self.renormalize = bool(renormalize)
        self.dropout = float(dropout)
        self.epsilon = float(epsilon)
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def _dense(self, units, name):
        return keras.layers.Dense(units, use_bias=False, dtype=self.dtype_policy, name=name)

    def build(self, audio_shape, visual_shape, segment_mask_shape=None):
        for what, shape in (("audio", audio_shape), ("visual", visual_shape)):
            if shape[-1] != self.units:
                raise ValueError(
                    f"{self.name}: the residual needs {what} features of width units="
                    f"{self.units}, got {shape}"
                )
        self.visual_relevance = self._dense(self.units, "visual_relevance")  # their v_L2
        self.audio_relevance = self._dense(self.units, "audio_relevance")  # a_L1
        self.visual_message = self._dense(self.units, "visual_message")  # v_L1
        self.audio_message = self._dense(self.units, "audio_message")  # a_L2
        for layer, shape in (
            (self.visual_relevance, visual_shape),
            (self.visual_message, visual_shape),
            (self.audio_relevance, audio_shape),
            (self.audio_message, audio_shape),
        ):
            layer.build(shape)
        width = self.units
        if self.output_units is not None:
            self.visual_output = self._dense(self.output_units, "visual_output")  # v_fc
            self.audio_output = self._dense(self.output_units, "audio_output")  # a_fc
            self.visual_output.build(tuple(visual_shape))
            self.audio_output.build(tuple(audio_shape))
            width = self.output_units
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.epsilon, dtype=self.dtype_policy, name="layer_norm"
        )
        self.layer_norm.build(tuple(visual_shape[:-1]) + (width,))

    def _branch(self, layer, x, training):
        return self.dropout_layer(ops.relu(layer(x)), training=training)

    def _prune(self, beta):
        beta = beta / (ops.sum(beta, axis=-1, keepdims=True) + _NORM_EPSILON)
        gamma = ops.where(beta > self.threshold, beta, ops.zeros_like(beta))
        if self.renormalize:
            gamma = gamma / (ops.sum(gamma, axis=-1, keepdims=True) + _NORM_EPSILON)
        return gamma

    def relevance(self, audio, visual, segment_mask=None, training=None):
        """(gamma_va, gamma_av, a_m, v_m): the pruned relevance, float32 `[batch, T, T]` (rows:
        the receiving modality's segments), and the messages."""
        v_r = self._branch(self.visual_relevance, visual, training)
        a_r = self._branch(self.audio_relevance, audio, training)
        v_m = self._branch(self.visual_message, visual, training)
        a_m = self._branch(self.audio_message, audio, training)
        scores = ops.einsum("btd,bsd->bts", ops.cast(v_r, "float32"), ops.cast(a_r, "float32"))
        beta_va = ops.relu(scores / math.sqrt(self.units))
        if segment_mask is not None:
            mask = ops.cast(segment_mask, "float32")
            beta_va = beta_va * ops.expand_dims(mask, 2) * ops.expand_dims(mask, 1)
        beta_av = ops.transpose(beta_va, (0, 2, 1))
        return self._prune(beta_va), self._prune(beta_av), a_m, v_m

    def call(self, audio, visual, segment_mask=None, training=None):
        gamma_va, gamma_av, a_m, v_m = self.relevance(audio, visual, segment_mask, training)
        dtype = visual.dtype
        visual_out = visual + ops.matmul(ops.cast(gamma_va, dtype), a_m)
        audio_out = audio + ops.matmul(ops.cast(gamma_av, dtype), v_m)
        if self.output_units is not None:
            visual_out = self._branch(self.visual_output, visual_out, training)
            audio_out = self._branch(self.audio_output, audio_out, training)
        visual_out = self.layer_norm(visual_out)
        audio_out = self.layer_norm(audio_out)
        return (visual_out + audio_out) * 0.5, visual_out, audio_out

    def compute_output_shape(self, audio_shape, visual_shape, segment_mask_shape=None):
        shape = tuple(visual_shape[:-1]) + (self.output_units or self.units,)
        return shape, shape, shape

    def compute_mask(self, audio, visual, segment_mask=None, previous_mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "threshold": self.threshold,
                "output_units": self.output_units,
                "renormalize": self.renormalize,
                "dropout": self.dropout,
                "epsilon": self.epsilon,
            }
        )
        return config
