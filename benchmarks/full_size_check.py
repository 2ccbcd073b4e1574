"""The full-size check: a release-format AVE folder the default never shows, through the binaries.

  .venv/bin/python benchmarks/full_size_check.py --work_dir=/tmp/full_check      # ~1 h, 2 cores
  .venv/bin/python benchmarks/full_size_check.py --work_dir=... --runs=a,v --epochs=3   # quicker

1. release: writes an AVE feature release (the real file names, keys and float64 dtypes; the
   real Annotations.txt, its 4143 rows in their class-grouped order, the real split files, the
   178 background videos) whose features come from the synthetic generator with ANOTHER seed,
   harder settings and other value scales than the embedded default (raw-VGGish-like audio
   magnitudes, brighter visual maps). ~8.4 GB of h5, written block by block.
2. convert: `ave_convert` with default flags (float32 records).
3. train/eval: `ave_train --experiment=table1/{a,v,av,av_att}` (A+V rows with late concat fusion
   as in Table 1) and its default trainer settings, then `ave_eval --split=test`.
Prints one table: test accuracy, best validation epoch, seconds per epoch and peak RSS of every
run. Stages whose output exists are reused (delete the folder to start over).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from ave_tf.utils.portable_numerics import pin_avx2_kernels  # noqa: E402

# The release is written with numpy's and OpenBLAS's AVX2 kernels on AVX2 and AVX-512 machines
# alike, so it is byte-identical on both kinds (authors_accuracy --resume checks the bytes).
# Before numpy loads; the binaries run below get the environment they were given.
_GIVEN_ENV = dict(os.environ)
pin_avx2_kernels()

import h5py  # noqa: E402
import numpy as np  # noqa: E402

from ave_tf.data import ave_metadata, ave_release, schema  # noqa: E402
from ave_tf.data.synthetic import SyntheticGenerator  # noqa: E402
from ave_tf.data.synthetic_config import NOISY_VIDEOS, SyntheticConfig  # noqa: E402

# Other statistics than the embedded default (seed 0, SyntheticConfig's defaults).
HARDER = SyntheticConfig(
    seed=20261130,
    full_scale=True,
    visual_dtype="float32",
    audio_offset_prob=0.2,
    audible_only_prob=0.35,
    visible_only_prob=0.35,
    distractor_prob=0.3,
    interference_prob=0.35,
    shared_confusion_prob=0.35,
    object_radius=(0.45, 0.9),
    scene_context=0.25,
)
AUDIO_SCALE = 4.0  # raw (unquantized) VGGish embeddings reach larger magnitudes
VISUAL_SCALE = 1.7

RUNS = {  # name: (ave_train model flags, epochs as the issue asks)
    "a": (["--experiment=table1/a"], 15),
    "v": (["--experiment=table1/v"], 15),
    "av": (["--experiment=table1/av"], 15),
    "av_att": (["--experiment=table1/av_att"], 30),
}
LABELS = {"a": "A", "v": "V", "av": "A+V", "av_att": "A+V-att"}
_BLOCK = 32


def _parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work_dir", required=True, help="Release, dataset and runs go here.")
    parser.add_argument(
        "--runs",
        default="a,v,av,av_att",
        help="Comma-separated: a,v,av,av_att or any registered experiment name (e.g. "
        "authors_av_att, authors_avdln); 'none' only writes and converts the release.",
    )
    parser.add_argument("--epochs", type=int, default=0, help="Override every run's epochs.")
    parser.add_argument("--seed", type=int, default=0, help="ave_train --seed.")
    parser.add_argument("--videos", type=int, default=0, help="Debug: only the first N rows.")
    parser.add_argument("--train_flags", default="", help="Extra ave_train flags, space-separated.")
    parser.add_argument("--tag", default="", help="Suffix of the run folders (e.g. a variant).")
    parser.add_argument(
        "--class_sorted",
        action="store_true",
        help="Train on a copy whose train split is in class order, without per-shard record "
        "counts, as an older ave_convert wrote it (checks that the reader alone copes).",
    )
    return parser.parse_args()


def _write_features(f, key, videos, render, shape):
    dataset = f.create_dataset(key, (len(videos), *shape), "<f8")
    for start in range(0, len(videos), _BLOCK):
        block = [render(v) for v in videos[start : start + _BLOCK]]
        dataset[start : start + len(block)] = np.stack(block).astype(np.float64)


def _staging_unless_done(final: str, marker: str, what: str) -> str | None:
    """A fresh staging folder for `final`, or None when `final/marker` shows it is done."""
    if os.path.exists(os.path.join(final, marker)):
        print(f"{what}: reusing {final}")
        return None
    staging = final + ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    return staging


def write_release(h5_dir: str, limit: int = 0) -> None:
    """The release folder (written in a staging folder, renamed when complete)."""
    staging = _staging_unless_done(h5_dir, ave_release.VISUAL_FILE, "release")
    if staging is None:
        return
    started = time.time()
    annotations = ave_metadata.read_annotations()
    if limit:
        annotations = annotations[:limit]
    generator = SyntheticGenerator(HARDER.validate())
    cache: dict = {}

    def video(row):
        if row not in cache:
            cache.clear()  # one block at a time: audio and visual are written in two passes
            for a in annotations[row : row + _BLOCK]:
                cache[a.row] = generator.annotated(a)
        return cache[row]

    rows = [a.row for a in annotations]
    segments = (schema.NUM_SEGMENTS,)
    for name, render, shape in (
        (ave_release.AUDIO_FILE, lambda r: video(r).audio * AUDIO_SCALE, (schema.AUDIO_DIM,)),
        (ave_release.VISUAL_FILE, lambda r: video(r).visual * VISUAL_SCALE, schema.VISUAL_SHAPE),
    ):
        with h5py.File(os.path.join(staging, name), "w") as f:
            _write_features(f, ave_release.FEATURE_KEY, rows, render, (*segments, *shape))
    labels = np.stack([ave_metadata.segment_labels(a) for a in annotations])
    with h5py.File(os.path.join(staging, ave_release.LABELS_FILE), "w") as f:
        f.create_dataset(ave_release.FEATURE_KEY, data=np.eye(schema.NUM_CLASSES)[labels])
    noisy = [generator.background(i) for i in range(NOISY_VIDEOS)]
    for name, values in (
        (ave_release.AUDIO_NOISY_FILE, [v.audio * AUDIO_SCALE for v in noisy]),
        (ave_release.VISUAL_NOISY_FILE, [v.visual * VISUAL_SCALE for v in noisy]),
    ):
        with h5py.File(os.path.join(staging, name), "w") as f:
            f.create_dataset(ave_release.FEATURE_KEY, data=np.stack(values).astype(np.float64))
    with h5py.File(os.path.join(staging, ave_release.LABELS_NOISY_FILE), "w") as f:
        background = np.full([NOISY_VIDEOS], schema.BACKGROUND_CLASS)
        f.create_dataset(ave_release.FEATURE_KEY, data=np.eye(schema.NUM_CLASSES)[background])
    meta = os.path.dirname(ave_metadata.default_annotations_path())
    for name in os.listdir(meta):
        if name.endswith(".h5") or name == ave_release.ANNOTATIONS_FILE:
            if limit and name.endswith(".h5"):
                continue  # the real splits index all 4143 rows
            shutil.copy(os.path.join(meta, name), staging)
    if limit:
        _write_limited_orders(staging, len(annotations))
    os.replace(staging, h5_dir)
    print(f"release: wrote {h5_dir} in {time.time() - started:.0f}s")


def _write_limited_orders(staging, num_rows):
    """Debug runs on the first rows: the real splits restricted to them."""
    for match in (False,):  # the match splits are then derived by ave_convert
        for split, order in ave_metadata.default_split_orders(match=match).items():
            kept = order[order < num_rows]
            if not len(kept):
                continue
            with h5py.File(os.path.join(staging, ave_release.order_file_name(split)), "w") as f:
                f.create_dataset(ave_release.ORDER_KEY, data=kept)
    with open(os.path.join(staging, ave_release.ANNOTATIONS_FILE)) as f:
        lines = f.read().splitlines()
    header = 1 if lines and lines[0].startswith("Category") else 0
    with open(os.path.join(staging, ave_release.ANNOTATIONS_FILE), "w") as f:
        f.write("\n".join(lines[: header + num_rows]) + "\n")


def _run(command: list, log_path: str) -> tuple[int, float, float]:
    """Runs a binary, logging its output; returns (exit code, seconds, peak RSS in MiB)."""
    started = time.time()
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=_GIVEN_ENV
        )
        _, status, usage = os.wait4(process.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return code, time.time() - started, usage.ru_maxrss / 1024


def _binary(name: str) -> list:
    return [sys.executable, "-m", f"ave_tf.bin.{name}"]


def convert(h5_dir: str, data_dir: str, logs: str) -> None:
    if os.path.exists(os.path.join(data_dir, schema.DATASET_INFO_FILE)):
        print(f"convert: reusing {data_dir}")
        return
    command = _binary("ave_convert") + [
        f"--h5_dir={h5_dir}",
        f"--output_dir={data_dir}",
        "--noprogress",
    ]
    code, seconds, rss = _run(command, os.path.join(logs, "convert.log"))
    if code:
        sys.exit(f"ave_convert failed (exit {code}); see {logs}/convert.log")
    print(f"convert: {seconds:.0f}s, peak RSS {rss:.0f} MiB")


def train_and_evaluate(run, data_dir, runs_dir, logs, args) -> dict:
    """Trains and tests one run: a RUNS key or an experiment name, "NAME:EPOCHS" to set its
    epochs (else --epochs, else the run's own)."""
    name, _, run_epochs = run.partition(":")
    model_flags, epochs = RUNS.get(name, ([f"--experiment={name}"], None))
    epochs = int(run_epochs) if run_epochs else args.epochs or epochs
    name = name.replace("/", "_")
    suffix = "_class_sorted" if args.class_sorted else ""
    model_dir = os.path.join(runs_dir, f"{name}{suffix}{args.tag}")
    result_path = os.path.join(model_dir, "test.json")
    if not os.path.exists(result_path):
        command = _binary("ave_train") + [
            f"--data_dir={data_dir}",
            f"--model_dir={model_dir}",
            *([f"--epochs={epochs}"] if epochs else []),
            f"--seed={args.seed}",
            "--noprogress",
            *model_flags,
            *args.train_flags.split(),
        ]
        log = os.path.join(logs, f"train_{name}{suffix}{args.tag}.log")
        code, train_seconds, rss = _run(command, log)
        if code:
            return {"run": name, "error": f"ave_train exit {code}", "peak_rss_mb": rss}
        command = _binary("ave_eval") + [
            f"--data_dir={data_dir}",
            f"--model_dir={model_dir}",
            "--split=test",
            f"--output={result_path}.eval",
        ]
        code, _, _ = _run(command, os.path.join(logs, f"eval_{name}{suffix}{args.tag}.log"))
        if code:
            return {"run": name, "error": f"ave_eval exit {code}"}
        with open(f"{result_path}.eval") as f:
            evaluated = json.load(f)
        with open(os.path.join(model_dir, "metrics.jsonl")) as f:
            epochs = sum(1 for line in f if line.strip())
        summary = {
            # Cross-modal runs report A2V and V2A instead of a segment accuracy.
            **{k: evaluated.get(k) for k in ("accuracy", "a2v", "v2a") if k in evaluated},
            "epochs": epochs,
            "train_seconds": train_seconds,
            "peak_rss_mb": rss,
        }
        with open(os.path.join(model_dir, "best.json")) as f:
            summary["best_epoch"] = json.load(f).get("epoch")
        with open(result_path, "w") as f:
            json.dump(summary, f)
    with open(result_path) as f:
        return {"run": name, **json.load(f)}


def write_class_sorted_copy(data_dir: str, sorted_dir: str) -> None:
    """`data_dir` with its train split rewritten in annotation-row (= class) order, the shards
    holding as many records as before, and no `shard_records` in dataset.json."""
    staging = _staging_unless_done(sorted_dir, schema.DATASET_INFO_FILE, "class-sorted copy")
    if staging is None:
        return
    import tensorflow as tf
    from tensorflow.core.example import example_pb2

    with open(os.path.join(data_dir, schema.DATASET_INFO_FILE)) as f:
        info = json.load(f)
    for split, entry in info["splits"].items():
        entry.pop("shard_records", None)
        if split != "train":
            for name in entry["files"]:
                os.link(os.path.join(data_dir, name), os.path.join(staging, name))
            continue
        files = [os.path.join(data_dir, name) for name in entry["files"]]
        records = list(tf.data.TFRecordDataset(files).as_numpy_iterator())  # ~3.3 GB

        def row(record):
            context = example_pb2.SequenceExample.FromString(record).context.feature
            return context[schema.ANNOTATION_INDEX_KEY].int64_list.value[0]

        records.sort(key=row)
        per_shard = -(-len(records) // len(files))
        for index, name in enumerate(entry["files"]):
            with tf.io.TFRecordWriter(os.path.join(staging, name)) as writer:
                for record in records[index * per_shard : (index + 1) * per_shard]:
                    writer.write(record)
        del records
    info["extra"]["write_order"] = {"shuffled": False, "note": "train in class order (check)"}
    with open(os.path.join(staging, schema.DATASET_INFO_FILE), "w") as f:
        json.dump(info, f)
    os.replace(staging, sorted_dir)
    print(f"class-sorted copy: wrote {sorted_dir}")


def _cell(value, fmt):
    return "n/a" if value is None else format(value, fmt)


def main():
    args = _parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    logs = os.path.join(args.work_dir, "logs")
    os.makedirs(logs, exist_ok=True)
    h5_dir = os.path.join(args.work_dir, "release")
    data_dir = os.path.join(args.work_dir, "tfrecords")
    write_release(h5_dir, args.videos)
    convert(h5_dir, data_dir, logs)
    if args.class_sorted:
        sorted_dir = data_dir + "_class_sorted"
        # In a child process: the copy holds the split in memory, and a parent's RSS at fork
        # would show up in every later child's ru_maxrss.
        import multiprocessing

        copier = multiprocessing.get_context("spawn").Process(
            target=write_class_sorted_copy, args=(data_dir, sorted_dir)
        )
        copier.start()
        copier.join()
        if copier.exitcode:
            sys.exit(f"writing the class-sorted copy failed (exit {copier.exitcode})")
        data_dir = sorted_dir
    rows = []
    for name in [] if args.runs == "none" else args.runs.split(","):
        row = train_and_evaluate(name, data_dir, os.path.join(args.work_dir, "runs"), logs, args)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\nFull-size check ({data_dir}; seed {args.seed})\n")
    print("| model | epochs | test accuracy | best val epoch | s/epoch | peak RSS (MiB) |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        if "error" in row:
            print(f"| {LABELS.get(row['run'], row['run'])} | - | {row['error']} | - | - | - |")
            continue
        if "a2v" in row:
            result = f"A2V {_cell(row['a2v'], '.3f')}, V2A {_cell(row['v2a'], '.3f')}"
        else:
            result = _cell(row.get("accuracy"), ".3f")
        print(
            f"| {LABELS.get(row['run'], row['run'])} | {row['epochs']} | {result} | "
            f"{row.get('best_epoch')} | {row['train_seconds'] / row['epochs']:.1f} | "
            f"{row['peak_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
