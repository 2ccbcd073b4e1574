"""Optional VGGish post-processing: PCA whitening, clipping and 8-bit quantization.

The public AVE features are raw embeddings (no PCA); AudioSet / YouTube-8M release the
post-processed ones. This follows `vggish_postprocess.py`: PCA with the user's
`vggish_pca_params.npz`, clip to [-2, 2], quantize to 0..255 (returned as float32 values).
"""

import numpy as np

from ave_tf.features.weight_files import (
    VGGISH_PCA_FLAG,
    VGGISH_PCA_HOW_TO_GET,
    WeightsError,
    require_weight_file,
)

PCA_EIGEN_VECTORS = "pca_eigen_vectors"
PCA_MEANS = "pca_means"
QUANTIZE_MIN = -2.0
QUANTIZE_MAX = 2.0


class PcaPostprocessor:
    """Applies VGGish's PCA + quantization to [N, 128] embeddings.

    Args:
      params_path: the `.npz` file with `pca_eigen_vectors` [128, 128] and `pca_means` [128, 1].
      quantize: clip and quantize to 0..255 (the released behaviour); False returns the PCA
        projection only.
    """

    def __init__(self, params_path: str, quantize: bool = True):
        require_weight_file(params_path, VGGISH_PCA_FLAG, VGGISH_PCA_HOW_TO_GET)
        try:
            with np.load(params_path, allow_pickle=False) as params:
                self.eigen_vectors = np.asarray(params[PCA_EIGEN_VECTORS], np.float64)
                self.means = np.asarray(params[PCA_MEANS], np.float64).reshape(-1, 1)
        except (OSError, KeyError, ValueError) as e:
            raise WeightsError(
                f"--{VGGISH_PCA_FLAG}: {params_path} is not a VGGish PCA file "
                f"(needs {PCA_EIGEN_VECTORS} and {PCA_MEANS}): {e}"
            ) from None
        if self.eigen_vectors.shape != (128, 128) or self.means.shape != (128, 1):
            raise WeightsError(
                f"--{VGGISH_PCA_FLAG}: {params_path}: expected [128, 128] eigenvectors, 128 means; "
                f"got {self.eigen_vectors.shape} and {self.means.shape}"
            )
        self.quantize = quantize

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        projected = np.dot(self.eigen_vectors, (embeddings.T - self.means)).T
        if not self.quantize:
            return projected.astype(np.float32)
        clipped = np.clip(projected, QUANTIZE_MIN, QUANTIZE_MAX)
        quantized = (clipped - QUANTIZE_MIN) * (255.0 / (QUANTIZE_MAX - QUANTIZE_MIN))
        return quantized.astype(np.uint8).astype(np.float32)
