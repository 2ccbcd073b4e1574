"""PyTorch-default initializers (ave_tf.models.torch_init) and the zoo models' start."""

import dataclasses
import math

import keras
import numpy as np
import pytest

from ave_tf.models import torch_init
from ave_tf.models.zoo.cace_net import build_cace_net_model
from ave_tf.models.zoo.cmbs import CMBSConfig, build_cmbs_model
from ave_tf.models.zoo.psp import build_psp_model, psp_weak_config


def test_linear_kernel_and_bias_are_uniform_in_one_over_sqrt_fan_in():
    keras.utils.set_random_seed(0)
    kernel = np.asarray(torch_init.linear_kernel()((512, 256)))
    bias = np.asarray(torch_init.linear_bias(512)((20000,)))
    bound = 1 / math.sqrt(512)
    for values in (kernel, bias):
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.99 * bound
        assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)


def test_lstm_bias_is_the_sum_of_two_uniforms():
    keras.utils.set_random_seed(0)
    kwargs = torch_init.lstm_kwargs(128)
    assert kwargs["unit_forget_bias"] is False
    bias = np.asarray(kwargs["bias_initializer"]((40000,)))
    bound = 1 / math.sqrt(128)
    assert np.abs(bias).max() <= 2 * bound
    assert bias.std() == pytest.approx(bound * math.sqrt(2 / 3), rel=0.03)
    # Triangular, not uniform: the middle half of the range holds 3/4 of the values.
    assert np.mean(np.abs(bias) < bound) == pytest.approx(0.75, abs=0.02)


def test_sum_of_uniforms_round_trips_through_keras_serialization():
    initializer = torch_init.SumOfUniforms(0.5, count=3, seed=7)
    restored = keras.initializers.deserialize(keras.initializers.serialize(initializer))
    assert isinstance(restored, torch_init.SumOfUniforms)
    np.testing.assert_array_equal(np.asarray(restored((8,))), np.asarray(initializer((8,))))


@pytest.mark.parametrize("weak", [False, True])
def test_psp_starts_as_the_authors_modules_and_is_seeded(weak):
    def build():
        keras.utils.set_random_seed(11)
        model = build_psp_model(psp_weak_config() if weak else None, use_cudnn=False)
        return {w.path: w.numpy() for w in model.weights}

    first, second = build(), build()
    assert all(np.array_equal(first[k], second[k]) for k in first)
    lstm = [k for k in first if "lstm_cell" in k]
    assert len(lstm) == 12  # 2 BiLSTMs x 2 directions x (kernel, recurrent kernel, bias)
    for key in lstm:  # nn.LSTM: +-1/sqrt(128) each, the bias a sum of two such
        limit = (2 if key.endswith("bias") else 1) / math.sqrt(128)
        assert np.abs(first[key]).max() <= limit + 1e-7, key
    forward, backward = sorted(k for k in lstm if "audio" in k and k.endswith("/kernel"))
    assert not np.array_equal(first[forward], first[backward])  # no shared draws
    for key in ("visual_attention/cell_projection/bias", "visual_attention/guide_projection/bias"):
        fan_in = 512 if "cell" in key else 128  # visual cells or the (embedded) audio
        assert 0 < np.abs(first[key]).max() <= 1 / math.sqrt(fan_in) + 1e-7
    embedding = "visual_embedding/kernel" if weak else "visual_embedding_0/kernel"
    assert np.abs(first[embedding]).max() <= 1 / math.sqrt(512) + 1e-7


@pytest.mark.parametrize("name", ["cmbs", "cmbs_weak", "cace_net"])
def test_models_of_pytorch_defaults_start_as_pytorch_does(name):
    def build():
        keras.utils.set_random_seed(5)
        if name == "cace_net":
            return build_cace_net_model(use_cudnn=False)
        return build_cmbs_model(CMBSConfig(task="weak") if name == "cmbs_weak" else None, False)

    model = build()
    weights = {w.path: w.numpy() for w in model.weights}
    again = {w.path: w.numpy() for w in build().weights}
    assert all(np.array_equal(weights[k], again[k]) for k in weights)
    checked = 0
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.MultiHeadAttention):
            width = layer._query_dense.kernel.shape[0]
            bound = math.sqrt(6 / (4 * width))  # Xavier over the packed [3E, E] weight
            assert np.abs(layer._query_dense.kernel.numpy()).max() <= bound + 1e-7
            assert not np.any(layer._query_dense.bias.numpy())
            assert np.abs(layer._output_dense.kernel.numpy()).max() <= 1 / math.sqrt(width)
            checked += 1
        elif isinstance(layer, keras.layers.Dense):
            bound = 1 / math.sqrt(layer.kernel.shape[0]) + 1e-7
            assert np.abs(layer.kernel.numpy()).max() <= bound, layer.path
            if layer.bias is not None:  # nn.Linear's bias is drawn too, not zero
                assert 0 < np.abs(layer.bias.numpy()).max() <= bound, layer.path
            checked += 1
        elif isinstance(layer, keras.layers.LSTMCell):
            assert np.abs(layer.kernel.numpy()).max() <= 1 / math.sqrt(layer.units) + 1e-7
            checked += 1
    assert checked > 10


def test_a_layer_without_a_pytorch_rule_is_refused():
    inputs = keras.Input((4, 3))
    model = keras.Model(inputs, keras.layers.Conv1D(2, 3, name="odd")(inputs))
    with pytest.raises(ValueError, match="Conv1D 'odd'"):
        torch_init.reset_to_torch_defaults(model)


def _authors_model(name, **override):
    from ave_tf.experiments.registry import get_experiment
    from ave_tf.models.registry import build_model

    keras.utils.set_random_seed(3)
    config = dataclasses.replace(get_experiment(name).model, **override)
    return build_model(config, use_cudnn=False)


@pytest.mark.parametrize(
    "name, xavier",
    [("authors_av_att", None), ("authors_dmrn", {"classifier"})],  # None: every Dense layer
)
def test_authors_recipes_start_as_their_init_weights(name, xavier):
    model = _authors_model(name)
    again = {w.path: w.numpy() for w in _authors_model(name).weights}
    assert all(np.array_equal(w.numpy(), again[w.path]) for w in model.weights)  # seeded
    layers = list(model._flatten_layers(include_self=False))
    dense = [layer for layer in layers if isinstance(layer, keras.layers.Dense)]
    for layer in dense:
        fan_in, fan_out = layer.kernel.shape
        largest = np.abs(layer.kernel.numpy()).max()
        reaches = 0.98 if fan_in * fan_out >= 1000 else 0.0  # enough draws to near the bound
        if xavier is None or layer.name in xavier:  # init.xavier_uniform
            bound = math.sqrt(6 / (fan_in + fan_out))
        else:  # nn.Linear's default
            bound = 1 / math.sqrt(fan_in)
        assert reaches * bound < largest <= bound + 1e-7, layer.path
        if layer.bias is not None:  # nn.Linear's bias, never zero
            assert 0 < np.abs(layer.bias.numpy()).max() <= 1 / math.sqrt(fan_in) + 1e-7
    cells = [layer for layer in layers if isinstance(layer, keras.layers.LSTMCell)]
    assert len(cells) == 4  # two BiLSTMs
    for cell in cells:  # nn.LSTM: +-1/sqrt(128), no forget-gate bias of 1
        assert np.abs(cell.recurrent_kernel.numpy()).max() <= 1 / math.sqrt(128) + 1e-7
        assert np.abs(cell.bias.numpy()).max() <= 2 / math.sqrt(128) + 1e-7


def test_xavier_kernels_are_checked():
    with pytest.raises(ValueError, match=r"xavier_kernels \['clasifier'\] name no Dense layer"):
        _authors_model("authors_dmrn", xavier_kernels=("clasifier",))
    with pytest.raises(ValueError, match="xavier_kernels needs initialization='torch'"):
        _authors_model("authors_dmrn", initialization="keras")
    with pytest.raises(ValueError, match="ModelConfig.initialization"):
        _authors_model("authors_dmrn", initialization="pytorch")
    with pytest.raises(ValueError, match="no PyTorch rule for Conv1D"):  # ED-TCN
        _authors_model("authors_av_att", temporal="ed_tcn", xavier_kernels=())
