"""The user-provided weight files of the feature extractors, and clear errors when one is missing.

Nothing is downloaded at run time: the user fetches the files once (the addresses below) and
passes their paths. `--random_weights` replaces all of them for tests and smoke runs.
"""

import os

# The flags of `ave_extract` / `ave_localize` that name each file (used in error messages).
VGG19_FLAG = "vgg19_weights"
VGGISH_FLAG = "vggish_weights"
VGGISH_PCA_FLAG = "vggish_pca_params"

VGG19_WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG19_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" + VGG19_WEIGHTS_FILE
)
VGGISH_CHECKPOINT_URL = "https://storage.googleapis.com/audioset/vggish_model.ckpt"
VGGISH_WEIGHTS_FILE = "vggish.weights.h5"
VGGISH_PCA_URL = "https://storage.googleapis.com/audioset/vggish_pca_params.npz"

VGG19_HOW_TO_GET = (
    f"download the Keras VGG-19 ImageNet weights ({VGG19_WEIGHTS_FILE}) from {VGG19_WEIGHTS_URL} "
    "or pass --random_weights for a smoke run"
)
VGGISH_HOW_TO_GET = (
    f"download the VGGish checkpoint from {VGGISH_CHECKPOINT_URL} and convert it with "
    "`python -m ave_tf.features.convert_vggish --checkpoint=vggish_model.ckpt "
    f"--output={VGGISH_WEIGHTS_FILE}`, or pass --random_weights for a smoke run"
)
VGGISH_PCA_HOW_TO_GET = f"download the VGGish PCA parameters from {VGGISH_PCA_URL}"


class WeightsError(ValueError):
    """A weight file that is missing or unusable (names the flag and the file)."""


def require_weight_file(path: str | None, flag: str, how_to_get: str) -> str:
    """Returns `path` if it is a file; else raises WeightsError naming `--flag` and the file."""
    if not path:
        raise WeightsError(f"--{flag} is required (no weight file given); {how_to_get}")
    if not os.path.isfile(path):
        raise WeightsError(f"--{flag}: weight file {path} not found; {how_to_get}")
    return path


def load_weight_file(model, path: str, flag: str, what: str, how_to_get: str):
    """Loads the weight file `path` into `model` and returns the model.

    Raises:
      WeightsError: Keras cannot load the file into `model`: `--flag: <path> is not <what>
        (<first line of the reason>); <how_to_get>`, e.g. `what` = "a VGG-19 notop weight file".
    """
    try:
        model.load_weights(path)
    except Exception as e:  # noqa: BLE001 - h5py/Keras raise many types for a bad file
        reason = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise WeightsError(f"--{flag}: {path} is not {what} ({reason}); {how_to_get}") from None
    return model
