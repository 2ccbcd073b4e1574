"""Adam as the authors' PyTorch code trains: `torch.optim.Adam` + `clip_grad_norm_` + nn.LSTM.

Three differences from `keras.optimizers.Adam`, each found by benchmarks/zoo_training_steps.py
(same start and batches as CMBS's own code: the first gradient equal, the weights apart after):
- Epsilon: PyTorch adds it to the bias-corrected sqrt(v / (1 - beta_2^t)), Keras to sqrt(v).
  Keras' epsilon is in effect eps / sqrt(1 - beta_2^t) of PyTorch's (30x at the first step), which
  slows the weights whose gradients are tiny at the start: attention queries and keys.
- LSTM biases: PyTorch's LSTM adds `bias_ih` and `bias_hh` where Keras' LSTMCell has one
  `bias`. Both receive the same gradient and take the same Adam step, so their sum moves twice
  as far per update; `clip_grad_norm_` counts that gradient twice.
- Clipping: `clip_grad_norm_` scales by max_norm / (norm + 1e-6) when that is below 1.
"""

import keras
from keras import ops


def lstm_bias_paths(model) -> list[str]:
    """Paths of the bias of every LSTM cell in `model` (Bidirectional: both directions)."""
    return sorted(
        layer.bias.path
        for layer in model._flatten_layers(include_self=False)
        if isinstance(layer, keras.layers.LSTMCell) and layer.use_bias
    )


class TorchAdam(keras.optimizers.Adam):
    """torch.optim.Adam (no weight decay, no amsgrad), LSTM biases as PyTorch's two.

    Args:
        doubled_paths: paths of Keras LSTM biases that stand for PyTorch's two
            (`lstm_bias_paths(model)`): they step twice as far and count twice in the clipping.
        global_clipnorm: clip as `clip_grad_norm_` does; None or 0: no clipping.
        **kwargs: keras.optimizers.Adam's (clipnorm, clipvalue and amsgrad are refused).
    """

    def __init__(self, doubled_paths=(), global_clipnorm=None, **kwargs):
        if kwargs.get("clipnorm") or kwargs.get("clipvalue") or kwargs.get("amsgrad"):
            raise ValueError("TorchAdam: clipping by global norm only, no amsgrad")
        super().__init__(**kwargs)
        self.doubled_paths = tuple(doubled_paths)
        self.torch_clipnorm = global_clipnorm or None
        self._doubled_indices = frozenset()

    def build(self, variables):
        super().build(variables)
        paths = set(self.doubled_paths)
        missing = paths - {v.path for v in variables}
        if missing:
            raise ValueError(f"TorchAdam: no trainable variable {sorted(missing)[0]!r}")
        self._doubled_indices = frozenset(
            self._get_variable_index(v) for v in variables if v.path in paths
        )

    def _is_doubled(self, variable) -> bool:
        return self._get_variable_index(variable) in self._doubled_indices

    def apply(self, grads, trainable_variables=None):
        if self.torch_clipnorm:
            variables = trainable_variables or self._trainable_variables
            if not self.built:  # as Adam.apply would, before the indices are needed
                self.build(variables)
            squares = [
                ops.sum(ops.square(ops.cast(g, "float32"))) * (2.0 if self._is_doubled(v) else 1.0)
                for g, v in zip(grads, variables, strict=True)
                if g is not None
            ]
            total = ops.sqrt(ops.sum(ops.stack(squares)))
            scale = ops.minimum(1.0, self.torch_clipnorm / (total + 1e-6))
            grads = [None if g is None else g * ops.cast(scale, g.dtype) for g in grads]
        return super().apply(grads, trainable_variables)

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        if self._is_doubled(variable):
            lr = lr * 2.0
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        correction_1 = 1 - ops.power(ops.cast(self.beta_1, dtype), step)
        correction_2 = 1 - ops.power(ops.cast(self.beta_2, dtype), step)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        denominator = ops.sqrt(v) / ops.sqrt(correction_2) + self.epsilon
        self.assign_sub(variable, (lr / correction_1) * m / denominator)

    def get_config(self):
        config = super().get_config()
        config.update(doubled_paths=list(self.doubled_paths), global_clipnorm=self.torch_clipnorm)
        return config
