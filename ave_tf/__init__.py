"""ave_tf: audio-visual event localization (Tian et al., ECCV 2018) in TensorFlow/Keras."""

__version__ = "0.1.0"
