"""One set of checks that every ave_tf layer goes through (keras-hub `run_layer_test` style).

`run_layer_checks` builds the layer inside a functional model whose time axis is None and
checks, in order: output shapes for several sequence lengths (T = 1, 10, 13 by default);
get_config/from_config and serialize/deserialize round trips; a saved `.keras` model that
reloads without build warnings and gives identical outputs; the same layer under the
mixed_bfloat16 policy (float32 variables, outputs close to the float32 layer's with the same
weights); and one optimizer step that changes every trainable weight of the layer and lowers
a loss on all its outputs.

The checks run under the TensorFlow backend (the default, see conftest) and under JAX
(`make test-jax`); only the gradient of the training step is backend-specific
(`backend_gradients`, `value_and_gradients`).
"""

import warnings
from collections.abc import Callable, Sequence

import keras
import numpy as np
import pytest

TIME_STEPS = (1, 10, 13)
BATCH_SIZE = 2


def _as_tuple(outputs):
    return tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)


def _inputs(input_shapes, time_steps, rng):
    """Random float32 inputs `[batch, *shape]`, with None (the time axis) set to time_steps."""
    arrays = []
    for shape in input_shapes:
        concrete = tuple(time_steps if dim is None else dim for dim in shape)
        arrays.append(rng.normal(size=(BATCH_SIZE,) + concrete).astype("float32"))
    return arrays


def _functional_model(layer, input_shapes):
    inputs = [keras.Input(shape, name=f"input_{i}") for i, shape in enumerate(input_shapes)]
    outputs = _as_tuple(layer(*inputs))
    return keras.Model(inputs, list(outputs))


def _numpy_outputs(model, arrays):
    return [keras.ops.convert_to_numpy(x) for x in _as_tuple(model(arrays))]


def _check_shapes(model, input_shapes, expected_shapes, time_steps, rng):
    for steps in time_steps:
        outputs = _numpy_outputs(model, _inputs(input_shapes, steps, rng))
        expected = _as_tuple(expected_shapes(BATCH_SIZE, steps))
        if not isinstance(expected[0], tuple):
            expected = (expected,)
        got = tuple(o.shape for o in outputs)
        assert got == tuple(expected), f"T={steps}: output shapes {got}, expected {expected}"
        for output in outputs:
            assert np.all(np.isfinite(output)), f"T={steps}: non-finite output"


def _check_config_round_trip(layer, layer_cls):
    config = layer.get_config()
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is layer_cls
    assert restored.get_config() == config


def _check_saved_model(model, arrays, directory):
    path = str(directory / "layer_check.keras")
    model.save(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = keras.saving.load_model(path)
    messages = [str(w.message) for w in caught if "build" in str(w.message).lower()]
    assert not messages, f"warnings on load: {messages}"
    for got, want in zip(
        _numpy_outputs(loaded, arrays), _numpy_outputs(model, arrays), strict=True
    ):
        np.testing.assert_array_equal(got, want)


def _sum_of_squared_errors(outputs, targets):
    return sum(
        keras.ops.mean(keras.ops.square(keras.ops.cast(output, "float32") - target))
        for output, target in zip(_as_tuple(outputs), targets, strict=True)
    )


def backend_gradients(model, loss_of_outputs, inputs, variables, training=False):
    """`(loss, gradients of the loss w.r.t. variables)` for `loss_of_outputs(model(inputs))`.

    TensorFlow: a GradientTape around the eager call. JAX: `jax.value_and_grad` of the model's
    `stateless_call` (the variables must be trainable variables of `model`). Other backends
    skip the calling test.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_of_outputs(model(inputs, training=training))
        return loss, tape.gradient(loss, variables)
    if backend == "jax":
        import jax

        trainable = list(model.trainable_variables)
        non_trainable = [v.value for v in model.non_trainable_variables]

        def loss_of_values(values):
            outputs, _ = model.stateless_call(values, non_trainable, inputs, training=training)
            return loss_of_outputs(outputs)

        loss, gradients = jax.jit(jax.value_and_grad(loss_of_values))([v.value for v in trainable])
        by_variable = {id(v): g for v, g in zip(trainable, gradients, strict=True)}
        missing = [v.path for v in variables if id(v) not in by_variable]
        assert not missing, f"not trainable variables of the model: {missing}"
        return loss, [by_variable[id(v)] for v in variables]
    pytest.skip(f"no gradient helper for the {backend} backend")


def value_and_gradients(fn, args):
    """`(fn(*args), [d fn / d arg for arg in args])` for a scalar `fn` of numpy arrays."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tensors = [tf.constant(a) for a in args]
        with tf.GradientTape() as tape:
            tape.watch(tensors)
            value = fn(*tensors)
        return value, tape.gradient(value, tensors)
    if backend == "jax":
        import jax

        value, gradients = jax.value_and_grad(fn, argnums=tuple(range(len(args))))(*args)
        return value, list(gradients)
    pytest.skip(f"no gradient helper for the {backend} backend")


def _check_training_step(layer, model, arrays, rng):
    """One eager Adam step on the mean squared error of every output to random targets."""
    targets = [rng.normal(size=o.shape).astype("float32") for o in _numpy_outputs(model, arrays)]
    loss_of_outputs = lambda outputs: _sum_of_squared_errors(outputs, targets)
    before = [keras.ops.convert_to_numpy(w) for w in layer.trainable_weights]
    loss_before, gradients = backend_gradients(
        model, loss_of_outputs, arrays, layer.trainable_weights
    )
    keras.optimizers.Adam(1e-3).apply(gradients, layer.trainable_weights)
    loss_after = loss_of_outputs(model(arrays))
    assert float(loss_after) < float(loss_before), (
        f"loss did not decrease: {float(loss_before)} -> {float(loss_after)}"
    )
    for weight, old in zip(layer.trainable_weights, before, strict=True):
        new = keras.ops.convert_to_numpy(weight)
        assert not np.array_equal(new, old), f"weight {weight.path} did not change"


def _check_mixed_precision(layer_cls, init_kwargs, reference, input_shapes, rng):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        mixed = layer_cls(**init_kwargs)
        model = _functional_model(mixed, input_shapes)
    finally:
        keras.config.set_dtype_policy(previous)
    assert mixed.dtype_policy.name == "mixed_bfloat16"
    for weight in mixed.weights:
        assert weight.dtype == "float32", f"{weight.path} is {weight.dtype}"
    mixed.set_weights(reference.get_weights())
    arrays = _inputs(input_shapes, 10, rng)
    reference_model = _functional_model(reference, input_shapes)
    for got, want in zip(
        _numpy_outputs(model, arrays), _numpy_outputs(reference_model, arrays), strict=True
    ):
        assert got.dtype.name in ("bfloat16", "float32"), got.dtype
        got = got.astype("float32")
        assert np.all(np.isfinite(got))
        scale = max(1.0, float(np.max(np.abs(want))))
        np.testing.assert_allclose(got, want, atol=0.05 * scale, rtol=0.05)


def run_layer_checks(
    tmp_path,
    layer_cls: type,
    init_kwargs: dict,
    input_shapes: Sequence[tuple],
    expected_output_shapes: Callable[[int, int], tuple],
    *,
    time_steps: Sequence[int] = TIME_STEPS,
    check_training: bool = True,
    check_mixed_precision: bool = True,
    seed: int = 0,
):
    """Runs the shared layer checks; returns the checked (float32) layer.

    Args:
        tmp_path: a pytest `tmp_path` for the saved model.
        layer_cls: the layer class.
        init_kwargs: keyword arguments of the layer's constructor.
        input_shapes: one shape per positional call argument, without the batch axis; None
            marks the time axis.
        expected_output_shapes: `f(batch, time) -> shape or tuple of shapes`.
        time_steps: sequence lengths to run.
        check_training: run the training step (layers without weights are skipped anyway).
        check_mixed_precision: run the mixed_bfloat16 check.
        seed: seed of the weights and inputs.
    """
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    layer = layer_cls(**init_kwargs)
    model = _functional_model(layer, input_shapes)
    _check_shapes(model, input_shapes, expected_output_shapes, time_steps, rng)
    _check_config_round_trip(layer, layer_cls)
    arrays = _inputs(input_shapes, 10, rng)
    _check_saved_model(model, arrays, tmp_path)
    if check_mixed_precision:
        _check_mixed_precision(layer_cls, init_kwargs, layer, input_shapes, rng)
    if check_training and layer.trainable_weights:
        _check_training_step(layer, model, arrays, rng)
    return layer


_NUMPY_ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
}


def numpy_dense(dense, x):
    """A `keras.layers.Dense` applied in numpy (for hand-written references of equations)."""
    y = np.asarray(x) @ keras.ops.convert_to_numpy(dense.kernel)
    if dense.use_bias:
        y = y + keras.ops.convert_to_numpy(dense.bias)
    return _NUMPY_ACTIVATIONS[dense.activation.__name__](y)
