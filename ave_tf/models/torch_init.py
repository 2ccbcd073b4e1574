"""PyTorch's default initializations as Keras initializers, for models that follow PyTorch code.

Keras and PyTorch start layers differently (Keras: Glorot kernels, zero biases, orthogonal
recurrent kernels, forget-gate bias 1; PyTorch: `nn.Linear` kernel and bias uniform in
+-1/sqrt(fan_in), `nn.LSTM` every weight and both biases uniform in +-1/sqrt(units)). A recipe
that copies an author's code starts where the author's code starts: PSP's supervised model
trains visibly slower from Keras' start (benchmarks/authors_accuracy.py). Each function returns
new initializer objects: a Keras 3 initializer draws the same values at every call, so one
object must not be shared between layers.
"""

import math

import keras


def linear_kernel() -> keras.initializers.Initializer:
    """nn.Linear's weight: kaiming_uniform(a=sqrt(5)), i.e. uniform in +-1/sqrt(fan_in)."""
    return keras.initializers.VarianceScaling(1.0 / 3.0, mode="fan_in", distribution="uniform")


def linear_bias(fan_in: int) -> keras.initializers.Initializer:
    """nn.Linear's bias: uniform in +-1/sqrt(fan_in) of the layer's input width."""
    bound = 1.0 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(-bound, bound)


@keras.saving.register_keras_serializable(package="ave_tf")
class SumOfUniforms(keras.initializers.Initializer):
    """The sum of `count` independent uniforms in +-bound: PyTorch's LSTM adds two biases
    (b_ih + b_hh) where Keras' LSTM has one, so one Keras bias starts as their sum."""

    def __init__(self, bound: float, count: int = 2, seed=None):
        self.bound, self.count, self.seed = bound, count, seed
        self._parts = [
            keras.initializers.RandomUniform(-bound, bound, seed=None if seed is None else seed + i)
            for i in range(count)
        ]

    def __call__(self, shape, dtype=None):
        total = self._parts[0](shape, dtype)
        for part in self._parts[1:]:
            total = total + part(shape, dtype)
        return total

    def get_config(self):
        return {"bound": self.bound, "count": self.count, "seed": self.seed}


def lstm_kwargs(units: int) -> dict:
    """keras.layers.LSTM arguments that start it as nn.LSTM(hidden_size=units) starts."""
    bound = 1.0 / math.sqrt(units)
    return {
        "kernel_initializer": keras.initializers.RandomUniform(-bound, bound),
        "recurrent_initializer": keras.initializers.RandomUniform(-bound, bound),
        "bias_initializer": SumOfUniforms(bound),
        "unit_forget_bias": False,
    }


def reset_linear_bias(dense: keras.layers.Dense) -> None:
    """Redraws a built Dense layer's bias as nn.Linear's (for Dense layers inside shared layers,
    whose initializers the model does not choose)."""
    _uniform(dense.bias, 1.0 / math.sqrt(int(dense.kernel.shape[0])))


def _uniform(variable, bound: float) -> None:
    initializer = keras.initializers.RandomUniform(-bound, bound)
    variable.assign(initializer(variable.shape, variable.dtype))


def _reset_attention(attention: keras.layers.MultiHeadAttention) -> None:
    """nn.MultiheadAttention: the packed [3E, E] query/key/value weight Xavier-uniform (fan_in
    E, fan_out 3E), its bias 0; out_proj's weight nn.Linear's default, its bias 0."""
    width = int(attention._query_dense.kernel.shape[0])
    for dense in (attention._query_dense, attention._key_dense, attention._value_dense):
        _uniform(dense.kernel, math.sqrt(6.0 / (width + 3 * width)))
        if dense.bias is not None:
            dense.bias.assign(keras.ops.zeros_like(dense.bias))
    output = attention._output_dense
    _uniform(output.kernel, 1.0 / math.sqrt(width))
    if output.bias is not None:
        output.bias.assign(keras.ops.zeros_like(output.bias))


ALL_DENSE = "*"


def reset_to_torch_defaults(model: keras.Model, xavier_kernels=()) -> None:
    """Redraws every weight of a built model as PyTorch starts the module it copies, for models
    whose authors leave every layer at PyTorch's defaults (CMBS, CACE-Net): Dense as nn.Linear
    (and nn.Conv1d with kernel 1: the same rule), MultiHeadAttention as nn.MultiheadAttention,
    LSTM cells as nn.LSTM. LayerNormalization starts alike in both (ones, zeros); any other
    layer with weights is refused, so a new layer type cannot silently keep Keras' start.

    `xavier_kernels` names the Dense layers (by layer name; "*": all of them) whose kernels
    their code redraws with `init.xavier_uniform` (AVE-ECCV18's `init_weights`); their biases
    keep nn.Linear's default. A name that matches no Dense layer is refused (a typo would
    otherwise leave the layer at the other start)."""
    handled, xavier_done = set(), set()
    for layer in model._flatten_layers(include_self=False):
        if id(layer) in handled:
            continue
        if isinstance(layer, keras.layers.MultiHeadAttention):
            _reset_attention(layer)
            handled.update(id(sub) for sub in layer._flatten_layers(include_self=False))
        elif isinstance(layer, keras.layers.Dense):
            fan_in, fan_out = (int(n) for n in layer.kernel.shape)
            if ALL_DENSE in xavier_kernels or layer.name in xavier_kernels:
                _uniform(layer.kernel, math.sqrt(6.0 / (fan_in + fan_out)))
                xavier_done.add(layer.name)
            else:
                _uniform(layer.kernel, 1.0 / math.sqrt(fan_in))
            if layer.bias is not None:
                reset_linear_bias(layer)
        elif isinstance(layer, keras.layers.LSTMCell):
            bound = 1.0 / math.sqrt(layer.units)
            _uniform(layer.kernel, bound)
            _uniform(layer.recurrent_kernel, bound)
            if layer.use_bias:
                layer.bias.assign(SumOfUniforms(bound)(layer.bias.shape, layer.bias.dtype))
        elif isinstance(layer, keras.layers.LayerNormalization) or not layer._trainable_variables:
            continue
        else:
            raise ValueError(
                f"reset_to_torch_defaults: no PyTorch rule for {type(layer).__name__} "
                f"{layer.name!r}"
            )
    unknown = sorted(set(xavier_kernels) - xavier_done - {ALL_DENSE})
    if unknown:
        raise ValueError(f"reset_to_torch_defaults: xavier_kernels {unknown} name no Dense layer")
