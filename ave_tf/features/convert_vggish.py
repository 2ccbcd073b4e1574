r"""Converts the released VGGish TF1 checkpoint into a Keras weight file for `vggish.py`.

Usage (once, after downloading https://storage.googleapis.com/audioset/vggish_model.ckpt):

  python -m ave_tf.features.convert_vggish \
      --checkpoint=vggish_model.ckpt --output=vggish.weights.h5

It reads the slim variables (`vggish/conv1/weights`, `vggish/conv1/biases`, ...,
`vggish/conv3/conv3_1/weights`, `vggish/fc1/fc1_2/weights`, `vggish/fc2/weights`) with
`tf.train.load_checkpoint`. Kernels keep their layout (slim and Keras both store HWIO
convolutions and [in, out] dense kernels), so the converted model computes the same function.
The output is written to a temporary name and renamed, so it is never half-written.
"""

import os
import tempfile

import numpy as np
import tensorflow as tf
from absl import app, flags

from ave_tf.features import vggish
from ave_tf.utils.cli import fail, run_main

FLAGS = flags.FLAGS


class CheckpointError(ValueError):
    """A checkpoint that does not hold the VGGish variables (names the file and variable)."""


def checkpoint_scope(layer_name: str) -> str:
    """Keras layer name -> slim variable scope: conv3_1 -> vggish/conv3/conv3_1."""
    if layer_name in ("conv1", "conv2", "fc2"):
        return f"vggish/{layer_name}"
    block = layer_name.split("_")[0]  # conv3_1 -> conv3, fc1_2 -> fc1
    return f"vggish/{block}/{layer_name}"


def read_checkpoint(checkpoint: str) -> dict[str, list[np.ndarray]]:
    """Layer name -> [kernel, bias] from a VGGish TF1 checkpoint."""
    try:
        reader = tf.train.load_checkpoint(checkpoint)
    except (tf.errors.OpError, ValueError) as e:
        message = getattr(e, "message", str(e)).splitlines()[0]
        raise CheckpointError(f"{checkpoint}: not a readable TF checkpoint: {message}") from None
    available = reader.get_variable_to_shape_map()
    weights = {}
    for layer_name in vggish.CONV_LAYERS + vggish.DENSE_LAYERS:
        scope = checkpoint_scope(layer_name)
        arrays = []
        for variable in (f"{scope}/weights", f"{scope}/biases"):
            if variable not in available:
                raise CheckpointError(f"{checkpoint}: missing variable {variable}")
            arrays.append(reader.get_tensor(variable))
        weights[layer_name] = arrays
    return weights


def convert(checkpoint: str, output: str) -> str:
    """Writes the Keras weight file `output` (must end in .weights.h5) from `checkpoint`."""
    if not output.endswith(".weights.h5"):
        raise ValueError(f"--output must end in .weights.h5 (Keras weight file), got {output}")
    weights = read_checkpoint(checkpoint)
    model = vggish.build_vggish(random_seed=None)
    for layer_name, arrays in weights.items():
        layer = model.get_layer(layer_name)
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if [a.shape for a in arrays] != expected:
            raise CheckpointError(
                f"{checkpoint}: {checkpoint_scope(layer_name)} has shapes "
                f"{[a.shape for a in arrays]}, VGGish expects {expected}"
            )
        layer.set_weights(arrays)
    directory = os.path.dirname(os.path.abspath(output))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".weights.h5", dir=directory)
    os.close(fd)
    try:
        model.save_weights(tmp, overwrite=True)
        os.replace(tmp, output)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return output


def define_flags() -> None:
    flags.DEFINE_string("checkpoint", None, "The VGGish TF1 checkpoint (vggish_model.ckpt).")
    flags.DEFINE_string("output", "vggish.weights.h5", "The Keras weight file to write.")


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not FLAGS.checkpoint:
        raise app.UsageError("--checkpoint is required")
    try:
        path = convert(FLAGS.checkpoint, FLAGS.output)
    except (CheckpointError, ValueError, OSError) as e:
        fail(str(e))
    print(f"wrote {path}")


def run() -> None:
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
