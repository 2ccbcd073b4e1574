"""ave_convert: the public AVE feature release (h5) -> TFRecord shards, streaming.

  ave_convert --h5_dir=AVE_Dataset --output_dir=tfrecords/ave

Reads `audio_feature.h5`, `visual_feature.h5` (7.7 GB float64, read in chunks, never whole),
optional `labels.h5` (else labels come from Annotations.txt), the `*_order.h5` split files, and
where present the weak-training background videos (`*_noisy.h5` -> split `train_noisy`) and the
cross-modality `*_order_match.h5` splits. A missing split file is taken from ave_tf's copies only
when the release's annotations are the shipped ones; otherwise a missing match split is derived
from its main split, and a missing main split is an error. A video in two splits of one family
(train/val/test, or the *_match ones) is an error. Writes each split's videos in a seeded random
order (--seed) into `<split>-NNNNN-of-MMMMM.tfrecord` shards, plus dataset.json, into
--output_dir, atomically.
"""

import sys

from absl import flags

from ave_tf.utils.cli import fail, require_flags, run_main

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_string("h5_dir", None, "Folder of the AVE feature release (h5 files).")
    flags.DEFINE_string("output_dir", None, "Dataset directory to write (shards + dataset.json).")
    flags.DEFINE_string(
        "annotations",
        "",
        "Annotations.txt (with or without header). Default: H5_DIR/Annotations.txt if present, "
        "else the copy shipped with ave_tf.",
    )
    flags.DEFINE_list(
        "splits",
        [],
        "Splits to write (train,val,test,train_noisy,train_match,val_match,test_match). "
        "Default: every split the release has.",
    )
    flags.DEFINE_boolean(
        "labels_h5",
        True,
        "Take segment labels from H5_DIR/labels.h5 when present; --nolabels_h5 takes them from "
        "the annotations.",
    )
    flags.DEFINE_enum(
        "visual_dtype",
        "float32",
        ["float32", "float16"],
        "Storage of visual maps: float32 (exact) or float16 (half the disk).",
    )
    flags.DEFINE_integer("shard_mb", 200, "Target shard size in MiB.", lower_bound=1)
    flags.DEFINE_enum("compression", "", ["", "GZIP"], "TFRecord compression.")
    flags.DEFINE_boolean("overwrite", False, "Replace a dataset already in --output_dir.")
    flags.DEFINE_integer("chunk_videos", 32, "Videos per h5 read.", lower_bound=1)
    flags.DEFINE_boolean("progress", True, "Draw a progress bar.")
    flags.DEFINE_integer(
        "seed",
        0,
        "Seed of each split's random write order (the release lists videos grouped by class).",
        lower_bound=0,
    )


def _note(message: str) -> None:
    print(f"ave_convert: {message}", file=sys.stderr, flush=True)


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
    require_flags("h5_dir", "output_dir")
    from ave_tf.data import convert
    from ave_tf.data.ave_metadata import AnnotationError
    from ave_tf.data.ave_release import ReleaseError
    from ave_tf.data.dataset_info import DatasetError

    config = convert.ConvertConfig(
        h5_dir=FLAGS.h5_dir,
        output_dir=FLAGS.output_dir,
        annotations=FLAGS.annotations,
        splits=tuple(FLAGS.splits),
        use_labels_file=FLAGS.labels_h5,
        visual_dtype=FLAGS.visual_dtype,
        shard_bytes=FLAGS.shard_mb * 2**20,
        compression=FLAGS.compression,
        overwrite=FLAGS.overwrite,
        chunk_videos=FLAGS.chunk_videos,
        show_progress=FLAGS.progress,
        seed=FLAGS.seed,
    )
    try:
        result = convert.convert(config, log=_note)
    except (convert.ConvertError, ReleaseError, AnnotationError, DatasetError) as e:
        fail(str(e))
    for split, counts in result.info.splits.items():
        print(f"{split}: {counts['videos']} videos in {counts['shards']} shard(s)")
    print(
        f"wrote {result.videos} videos ({result.output_bytes / 2**20:.0f} MiB) to "
        f"{config.output_dir} in {result.seconds:.1f} s; read {result.input_bytes / 2**20:.0f} MiB "
        f"of h5 features at {result.input_mb_per_s:.0f} MiB/s"
    )


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
