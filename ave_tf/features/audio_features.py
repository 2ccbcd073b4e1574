"""Audio segment features: VGGish embeddings of one 0.96-s log-mel example per 1-s segment."""

import numpy as np
import tensorflow as tf

from ave_tf.features import log_mel
from ave_tf.features.vggish import INPUT_SHAPE, build_vggish
from ave_tf.features.vggish_postprocess import PcaPostprocessor
from ave_tf.features.weight_files import (
    VGGISH_FLAG,
    VGGISH_HOW_TO_GET,
    load_weight_file,
    require_weight_file,
)


def load_vggish(
    weights_path: str | None = None,
    random_weights: bool = False,
    embedding_relu: bool = True,
    seed: int = 0,
):
    """Builds VGGish and loads the converted weights (see `convert_vggish`).

    With `random_weights`, the weights are random from `seed` instead and no file is read.

    Raises:
      WeightsError: the file is missing or does not hold VGGish weights.
    """
    if not random_weights:
        require_weight_file(weights_path, VGGISH_FLAG, VGGISH_HOW_TO_GET)
    model = build_vggish(embedding_relu, random_seed=seed if random_weights else None)
    if not random_weights:
        load_weight_file(
            model, weights_path, VGGISH_FLAG, "a converted VGGish weight file", VGGISH_HOW_TO_GET
        )
    return model


class AudioFeatureExtractor:
    """16 kHz waveform -> [T, 128] VGGish embeddings, one per 1-s segment.

    Args:
      weights_path: the converted `vggish.weights.h5`.
      random_weights: use random weights (tests, smoke runs, benchmarks).
      seed: seed of the random weights.
      embedding_relu: ReLU on the embedding, as in the AVE release (see `vggish.py`).
      framing: how segments map to 0.96-s examples, "aligned" or "release" (see `log_mel.py`).
      pca_params_path: optional `vggish_pca_params.npz`: PCA + 8-bit quantization, like AudioSet.
      batch_size: examples per forward pass.
    """

    def __init__(
        self,
        weights_path: str | None = None,
        random_weights: bool = False,
        embedding_relu: bool = True,
        framing: str = "aligned",
        pca_params_path: str | None = None,
        batch_size: int = 64,
        seed: int = 0,
    ):
        if framing not in log_mel.FRAMINGS:
            raise ValueError(f"framing must be one of {log_mel.FRAMINGS}, got {framing!r}")
        self.framing = framing
        self.batch_size = batch_size
        # PCA first: a bad PCA file fails before the large network is built.
        self.postprocess = PcaPostprocessor(pca_params_path) if pca_params_path else None
        self.model = load_vggish(weights_path, random_weights, embedding_relu, seed)
        self._forward = tf.function(
            lambda x: self.model(x, training=False),
            input_signature=[tf.TensorSpec([None, *INPUT_SHAPE], tf.float32)],
        )

    def examples(self, waveform: np.ndarray, num_segments: int) -> np.ndarray:
        """[num_segments, 96, 64] log-mel examples of a 16 kHz waveform."""
        return log_mel.segment_examples(waveform, num_segments, self.framing).numpy()

    def __call__(self, waveform: np.ndarray, num_segments: int) -> np.ndarray:
        """float32 [num_segments, 128] embeddings."""
        examples = self.examples(waveform, num_segments)
        embeddings = np.concatenate(
            [
                self._forward(examples[start : start + self.batch_size]).numpy()
                for start in range(0, len(examples), self.batch_size)
            ]
        )
        if self.postprocess is not None:
            embeddings = self.postprocess(embeddings)
        return embeddings.astype(np.float32)
