"""Scales each segment's class scores by a gate computed from those scores (PSP, weak model)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ave_tf")
class SegmentScoreWeighting(keras.layers.Layer):
    """Weights every segment's class scores by how event-like they look.

    `w_t = sigmoid(relu(s_t . u))` from the segment's own class scores `s_t` (a learned vector
    `u`, no bias) and the output `w_t s_t`: the weighting branch of PSP's weakly supervised model
    (Zhou et al., CVPR 2021, authors' weakly_model.py), applied before the scores are averaged
    over time into the video prediction. The ReLU before the sigmoid keeps `w_t >= 0.5`.

    Args:
        **kwargs: keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        scores: float tensor `[batch, time, classes]`.

    Returns:
        A tuple `(weighted_scores, weights)`: `[batch, time, classes]` and `[batch, time]`.

    Example:
    ```python
    weighted, weights = SegmentScoreWeighting()(np.random.rand(2, 10, 29))  # (2, 10, 29), (2, 10)
    ```
    """

    def build(self, scores_shape):
        self.gate = keras.layers.Dense(1, use_bias=False, dtype=self.dtype_policy, name="gate")
        self.gate.build(tuple(scores_shape))

    def call(self, scores):
        weights = ops.sigmoid(ops.relu(self.gate(scores)))
        return scores * weights, ops.squeeze(weights, -1)

    def compute_output_shape(self, scores_shape):
        return tuple(scores_shape), tuple(scores_shape[:-1])
