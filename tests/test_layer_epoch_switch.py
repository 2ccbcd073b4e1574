"""Tests of EpochSwitch (CACE-Net's contrastive switch)."""

import keras
import numpy as np
import pytest

from ave_tf.layers.epoch_switch import EpochSwitch, set_training_epoch
from tests.layer_checks import run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        EpochSwitch,
        {"start_fraction": 0.125},
        input_shapes=[(None, 6)],
        expected_output_shapes=lambda b, t: ((b, t, 6), (b,)),
    )


@pytest.mark.parametrize(
    "fraction, epochs, first_on",
    [(1 / 8, 200, 25), (1 / 8, 5, 1), (1 / 8, 8, 1), (1 / 8, 9, 2), (0.0, 3, 0), (1.0, 4, None)],
)
def test_on_from_epoch_fraction_times_epochs(fraction, epochs, first_on):
    """Their rule: on when epoch >= n_epoch / 8 (0-based epochs)."""
    switch = EpochSwitch(fraction)
    x = np.arange(6, dtype="float32").reshape(1, 2, 3) + 1
    for epoch in range(epochs):
        switch.set_epoch(epoch, epochs)
        gated, state = (keras.ops.convert_to_numpy(y) for y in switch(x))
        on = first_on is not None and epoch >= first_on
        np.testing.assert_array_equal(gated, x if on else np.zeros_like(x))
        np.testing.assert_array_equal(state, [1.0 if on else 0.0])


def test_never_trained_is_on_and_state_is_saved_with_the_weights(tmp_path):
    inputs = keras.Input((None, 3))
    gated, state = EpochSwitch(0.5, name="switch")(inputs)
    model = keras.Model(inputs, [gated, state])
    x = np.ones((2, 4, 3), "float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x)[1]), [1.0, 1.0])
    set_training_epoch(model, 0, 10)  # before the switch: off
    path = str(tmp_path / "off.weights.h5")
    model.save_weights(path)
    set_training_epoch(model, 9, 10)
    assert float(keras.ops.convert_to_numpy(model(x)[1][0])) == 1.0
    model.load_weights(path)  # weights chosen before the switch evaluate as trained
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x)[0]), np.zeros_like(x))
    assert not model.trainable_weights


def test_bad_fraction_is_refused():
    with pytest.raises(ValueError, match=r"start_fraction=1.5: must be in \[0, 1\]"):
        EpochSwitch(1.5)
