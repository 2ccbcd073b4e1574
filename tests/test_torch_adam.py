"""TorchAdam: torch.optim.Adam's update, nn.LSTM's two biases and clip_grad_norm_ in Keras."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ave_tf.experiments import get_experiment
from ave_tf.training.torch_adam import TorchAdam, lstm_bias_paths
from ave_tf.training.trainer import _make_optimizer
from ave_tf.utils import hyperparams

BIASES = ["rnn/backward_lstm/lstm_cell/bias", "rnn/forward_lstm/lstm_cell/bias"]


def _model():
    keras.utils.set_random_seed(3)
    x = keras.Input((5, 3))
    lstm = keras.layers.LSTM(4, return_sequences=True, use_cudnn=False, name="lstm")
    y = keras.layers.Bidirectional(lstm, name="rnn")(x)
    return keras.Model(x, keras.layers.Dense(2, name="head")(y))


def _gradients(model):
    x = np.random.default_rng(0).normal(size=(6, 5, 3)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(model(x)))
    return tape.gradient(loss, model.trainable_variables)


def _steps(optimizer, steps=3):
    """Variables' change after `steps` updates, all with the starting point's gradients."""
    model = _model()
    grads = _gradients(model)
    before = {v.path: np.array(v) for v in model.trainable_variables}
    for _ in range(steps):
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
    deltas = {v.path: np.array(v) - before[v.path] for v in model.trainable_variables}
    return deltas, {
        v.path: np.array(g, np.float64)
        for v, g in zip(model.trainable_variables, grads, strict=True)
    }


def _torch_reference(grads, lr, eps, clip, steps=3, beta_1=0.9, beta_2=0.999):
    """What torch.optim.Adam + clip_grad_norm_ do to a model whose Keras LSTM bias is
    PyTorch's bias_ih + bias_hh (each updated alike): float64, written from their formulas."""
    weight = {p: 2.0 if p in BIASES else 1.0 for p in grads}
    m = {p: 0.0 * g for p, g in grads.items()}
    v = {p: 0.0 * g for p, g in grads.items()}
    deltas = {p: 0.0 * g for p, g in grads.items()}
    for t in range(1, steps + 1):
        scale = 1.0
        if clip:
            total = np.sqrt(sum(weight[p] * np.sum(g**2) for p, g in grads.items()))
            scale = min(1.0, clip / (total + 1e-6))
        for p, g in grads.items():
            g = g * scale
            m[p] = beta_1 * m[p] + (1 - beta_1) * g
            v[p] = beta_2 * v[p] + (1 - beta_2) * g**2
            denominator = np.sqrt(v[p]) / np.sqrt(1 - beta_2**t) + eps
            deltas[p] -= weight[p] * lr / (1 - beta_1**t) * m[p] / denominator
    return deltas


def test_finds_both_directions_biases():
    assert lstm_bias_paths(_model()) == BIASES


@pytest.mark.parametrize("clip", [None, 0.05])
def test_updates_as_torch_adam_with_two_lstm_biases(clip):
    # epsilon 1e-2 is of the gradients' size: where PyTorch and Keras add it matters.
    lr, eps = 0.05, 1e-2
    ours, grads = _steps(TorchAdam(BIASES, learning_rate=lr, epsilon=eps, global_clipnorm=clip))
    expected = _torch_reference(grads, lr, eps, clip)
    for path, delta in expected.items():
        np.testing.assert_allclose(ours[path], delta, rtol=2e-4, atol=3e-7, err_msg=path)
    keras_adam, _ = _steps(
        keras.optimizers.Adam(learning_rate=lr, epsilon=eps, global_clipnorm=clip)
    )
    for path in ("head/kernel", BIASES[0]):  # the differences the optimizer exists for
        assert not np.allclose(keras_adam[path], expected[path], rtol=2e-2), path


def test_a_path_the_model_lacks_is_refused():
    optimizer = TorchAdam(["rnn/forward_lstm/lstm_cel/bias"])
    with pytest.raises(ValueError, match="no trainable variable 'rnn/forward_lstm/lstm_cel/bias'"):
        optimizer.build(_model().trainable_variables)
    with pytest.raises(ValueError, match="global norm only"):
        TorchAdam(BIASES, clipnorm=1.0)


def test_the_trainer_builds_it_from_the_config():
    # The zoo recipes follow their authors' PyTorch training: TorchAdam unless told otherwise.
    experiment = get_experiment("cmbs")
    off = hyperparams.override(
        experiment, hyperparams.parse_override("trainer.optimizer.pytorch=false")
    )
    assert type(_make_optimizer(off, _model())) is keras.optimizers.Adam
    optimizer = _make_optimizer(experiment, _model())
    assert isinstance(optimizer, TorchAdam) and optimizer.doubled_paths == tuple(BIASES)
    assert optimizer.torch_clipnorm == experiment.trainer.optimizer.global_clipnorm
    assert float(optimizer.learning_rate) == pytest.approx(7e-4) and optimizer.epsilon == 1e-8
    with pytest.raises(ValueError, match="needs the model"):
        _make_optimizer(experiment)
