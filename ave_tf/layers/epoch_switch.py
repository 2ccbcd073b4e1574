"""A branch that training turns on at a set epoch (CACE-Net's `contrastive_switch`)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ave_tf")
class EpochSwitch(keras.layers.Layer):
    """Passes its input through times 0 before a point of training and times 1 from then on.

    CACE-Net's training (Brain-Cog-Lab, supv_main.py) adds the contrastive enhancement to the
    event head, and the contrastive term to the loss, only from epoch `n_epoch / 8` on
    (`if epoch >= args.n_epoch / 8: model.contrastive_switch = True`). The trainer calls
    `set_epoch(epoch, epochs)` on every EpochSwitch of the model before each epoch
    (`set_training_epoch`); the switch is on for `epoch >= start_fraction * epochs`.

    The state is a non-trainable weight, saved with the others: weights chosen at an epoch
    before the switch are evaluated as they were trained. A model that was never trained
    starts on (their evaluation-only mode turns the switch on).

    Args:
        start_fraction: the fraction of the run's epochs trained with the switch off
            (CACE-Net: 1/8); 0 turns it on from the first epoch.
        **kwargs: keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        inputs: float tensor `[batch, ...]`.

    Returns:
        A tuple `(inputs * state, state per example)`: the input's shape and `[batch]`; the
        second tells a loss whether the switched branch is on.

    Example:
    ```python
    switch = EpochSwitch(1 / 8)
    gated, on = switch(np.ones((2, 10, 4)))  # on: [1., 1.] (never trained)
    switch.set_epoch(0, 200)                 # their first 25 of 200 epochs: off
    ```
    """

    def __init__(self, start_fraction: float, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(start_fraction) <= 1.0:
            raise ValueError(f"EpochSwitch start_fraction={start_fraction!r}: must be in [0, 1]")
        self.start_fraction = float(start_fraction)
        # Made here, not in build(): the trainer may set it before the first call.
        self.state = self.add_weight(shape=(), initializer="ones", trainable=False, name="state")

    def call(self, inputs):
        gated = inputs * ops.cast(self.state, inputs.dtype)
        return gated, ops.broadcast_to(ops.cast(self.state, "float32"), ops.shape(inputs)[:1])

    def set_epoch(self, epoch: int, epochs: int) -> None:
        """Sets the state for training epoch `epoch` (0-based) of `epochs`."""
        self.state.assign(1.0 if epoch >= self.start_fraction * epochs else 0.0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape), tuple(input_shape[:1])

    def get_config(self):
        return {**super().get_config(), "start_fraction": self.start_fraction}


def set_training_epoch(model: keras.Model, epoch: int, epochs: int) -> None:
    """Sets every EpochSwitch of `model` for training epoch `epoch` (0-based) of `epochs`."""
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, EpochSwitch):
            layer.set_epoch(epoch, epochs)
