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
            keras.initializers.RandomUniform(
                -bound, bound, seed=None if seed is None else seed + i
            )
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
    dense.bias.assign(linear_bias(int(dense.kernel.shape[0]))(dense.bias.shape, dense.bias.dtype))
