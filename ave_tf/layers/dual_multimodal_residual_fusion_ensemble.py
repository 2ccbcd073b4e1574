"""Dual multimodal residual fusion ensemble, DMRFE (paper section 6.2, Table 2)."""

import math

import keras
from keras import ops

from ave_tf.layers.dual_multimodal_residual_fusion import DualMultimodalResidualFusion

NUM_BRANCHES = 2


@keras.saving.register_keras_serializable(package="ave_tf")
class DualMultimodalResidualFusionEnsemble(keras.layers.Layer):
    """Two independent DMRN branches with their own classifiers, averaged in probability.

    The paper's DMRFE "feed[s] audio and visual features into two separated blocks and then
    use[s] average ensemble to combine the two predicted probabilities". Interpretation: two
    `DualMultimodalResidualFusion` branches with separate weights each receive both
    modalities and end in their own dense classifier; the layer returns the log of the mean
    of the two softmax distributions, `log((softmax(l_1) + softmax(l_2)) / 2)`, computed
    stably in float32 as `logsumexp(log_softmax(l_i)) - log 2`. Taking a softmax of the result
    gives back the averaged probabilities, so it is used as the model's logits.

    Args:
        num_classes: int. Number of classes of each branch's classifier.
        units: int or None. Width of each DMRN branch (see `DualMultimodalResidualFusion`).
        blocks: int. Residual blocks per branch.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        audio: float tensor `[..., audio_dim]`.
        visual: float tensor `[..., visual_dim]` with the same leading shape.

    Returns:
        `[..., num_classes]` float32 log-probabilities of the averaged ensemble.

    Example:
    ```python
    log_probs = DualMultimodalResidualFusionEnsemble(29)(
        np.ones((2, 10, 128)), np.ones((2, 10, 128))
    )
    ```

    Reference:
        Tian et al., ECCV 2018, section 6.2 and Table 2 ("DMRFE"); section 4.3, eqs. 5-6.
    """

    def __init__(self, num_classes, units=None, blocks=1, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # per segment: a time mask passes through
        self.num_classes = num_classes
        self.units = units
        self.blocks = blocks

    def build(self, audio_shape, visual_shape):
        self.branches, self.classifiers = [], []
        for index in range(NUM_BRANCHES):
            branch = DualMultimodalResidualFusion(
                self.units, self.blocks, dtype=self.dtype_policy, name=f"branch_{index}"
            )
            classifier = keras.layers.Dense(
                self.num_classes, dtype=self.dtype_policy, name=f"classifier_{index}"
            )
            branch.build(audio_shape, visual_shape)
            classifier.build(branch.compute_output_shape(audio_shape, visual_shape))
            self.branches.append(branch)
            self.classifiers.append(classifier)

    def branch_logits(self, audio, visual):
        """Returns the list of the branches' logits, each `[..., num_classes]` float32."""
        return [
            ops.cast(classifier(branch(audio, visual)), "float32")
            for branch, classifier in zip(self.branches, self.classifiers, strict=True)
        ]

    def call(self, audio, visual):
        log_probs = [
            ops.log_softmax(logits, axis=-1) for logits in self.branch_logits(audio, visual)
        ]
        return ops.logsumexp(ops.stack(log_probs, axis=0), axis=0) - math.log(NUM_BRANCHES)

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "units": self.units, "blocks": self.blocks})
        return config
