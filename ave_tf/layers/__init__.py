"""Keras 3 layers (keras.ops only, backend-agnostic): attention, fusion, MIL pooling."""
