"""Training: config dataclasses, the training loop, checkpoints, TensorBoard."""
