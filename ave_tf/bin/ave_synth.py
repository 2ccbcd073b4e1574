"""Writes the embedded default dataset: synthetic features on the real AVE label structure.

Example:
  ave_synth --output_dir=tfrecords/ave_synthetic            # default scale (a quarter)
  ave_synth --output_dir=/data/ave_synthetic --full_scale   # all 4143 rows + 178 noisy videos

The same flags write the same bytes on every x86-64 machine with AVX2 and FMA: numpy's and
OpenBLAS's kernels are pinned to their AVX2 ones (ave_tf/utils/portable_numerics.py), which makes
generation ~3x slower on AVX-512 machines than their own kernels would.
"""

import sys
import time

from ave_tf.utils.portable_numerics import pin_avx2_kernels

# Before numpy loads: the same --seed writes the same bytes on AVX2 and AVX-512 machines.
pin_avx2_kernels()

from absl import app, flags  # noqa: E402

from ave_tf.data import schema  # noqa: E402
from ave_tf.data.dataset_info import DatasetError  # noqa: E402
from ave_tf.data.synthetic_config import SyntheticConfig, SyntheticConfigError  # noqa: E402
from ave_tf.data.synthetic_dataset import write_dataset  # noqa: E402
from ave_tf.utils.cli import fail, run_main  # noqa: E402

FLAGS = flags.FLAGS


def define_flags(flag_values: flags.FlagValues = FLAGS) -> None:
    """Defines the flags (into the global FLAGS unless tests pass their own FlagValues)."""
    flags.DEFINE_string(
        "output_dir",
        None,
        "Dataset directory to write (shards + dataset.json).",
        flag_values=flag_values,
    )
    flags.DEFINE_float(
        "fraction",
        SyntheticConfig.fraction,
        "Share of every split's videos to generate, stratified by class (0 < f <= 1).",
        flag_values=flag_values,
    )
    flags.DEFINE_boolean(
        "full_scale",
        False,
        "Generate all 4143 annotated rows and 178 noisy videos.",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "seed",
        SyntheticConfig.seed,
        "Seed of the class prototypes and videos.",
        flag_values=flag_values,
    )
    flags.DEFINE_enum(
        "visual_dtype",
        SyntheticConfig.visual_dtype,
        list(schema.VISUAL_DTYPES),
        "Storage of visual maps (float16 halves the disk; reading always gives float32).",
        flag_values=flag_values,
    )
    flags.DEFINE_boolean(
        "overwrite", False, "Replace a dataset already in --output_dir.", flag_values=flag_values
    )
    flags.DEFINE_integer("shard_mb", 100, "Target shard size in MiB.", flag_values=flag_values)
    flags.DEFINE_integer(
        "workers", 1, "Processes generating videos (1: this process only).", flag_values=flag_values
    )
    flags.DEFINE_boolean(
        "progress",
        None,
        "Show a progress bar (default: when stdout is a terminal).",
        flag_values=flag_values,
    )


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not FLAGS.output_dir:
        fail("--output_dir is required")
    if FLAGS.shard_mb <= 0:
        fail(f"--shard_mb must be positive, got {FLAGS.shard_mb}")
    if FLAGS.workers <= 0:
        fail(f"--workers must be positive, got {FLAGS.workers}")
    try:
        config = SyntheticConfig(
            seed=FLAGS.seed,
            fraction=FLAGS.fraction,
            full_scale=FLAGS.full_scale,
            visual_dtype=FLAGS.visual_dtype,
        ).validate()
    except SyntheticConfigError as e:
        fail(f"--{e}")
    start = time.time()
    try:
        info = write_dataset(
            FLAGS.output_dir,
            config,
            overwrite=FLAGS.overwrite,
            shard_bytes=FLAGS.shard_mb * 2**20,
            workers=FLAGS.workers,
            verbose=sys.stdout.isatty() if FLAGS.progress is None else FLAGS.progress,
        )
    except (DatasetError, OSError) as e:
        fail(e)
    videos = sum(split["videos"] for split in info.splits.values())
    seconds = time.time() - start
    counts = ", ".join(f"{name} {split['videos']}" for name, split in info.splits.items())
    print(
        f"wrote {videos} SYNTHETIC videos to {FLAGS.output_dir} in {seconds:.0f}s "
        f"({videos / max(seconds, 1e-9):.1f} videos/s): {counts}",
        file=sys.stderr,
    )


def run() -> None:
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
