"""Whole-run training speed, ours against the authors' own code, on the same release, in one run.

  .venv/bin/python benchmarks/full_size_check.py --work_dir=/tmp/full_check --runs=none
  make venv-torch
  .venv/bin/python benchmarks/authors_speed.py --work_dir=/tmp/full_check --epochs=10 \
      --models=av_att,cmbs --repo=av_att=PATH/AVE-ECCV18 --repo=cmbs=PATH/CMBS

For each model, the authors' training script (their defaults and run-script flags; PyTorch on the
CPU from .venv-torch, `.cuda()` made a no-op, nothing else changed) and then `ave_train` with the
matching experiment train for --epochs epochs on the same files: the h5 release in
WORK_DIR/release for theirs, its `ave_convert` TFRecords in WORK_DIR/tfrecords for ours. Each is
timed as a whole process (start-up, loading, training, their validation or test passes, their
checkpoints), the issue's "whole run per epoch". Ours also prints its per-epoch overhead: the
part of the whole run outside the training steps (metrics.jsonl's train seconds), which should
stay under 10%. Not part of ave_tf or its tests: PyTorch is never a dependency.

`--repo NAME=PATH` takes a checkout or a bare git mirror (as `fetch` leaves it) of
YapengTian/AVE-ECCV18 (av_att), marmot-xy/CMBS (cmbs), jasongief/PSP_CVPR_2021 (psp) or
Brain-Cog-Lab/CACE-Net (cace_net). Run it on a quiet machine: both sides share the same cores.
The release must be full size: AVE-ECCV18's validation reads 402 videos in one batch.
"""

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE_FILES = (
    "visual_feature.h5", "audio_feature.h5", "labels.h5",
    "train_order.h5", "val_order.h5", "test_order.h5",
)  # fmt: skip

# Makes the authors' scripts run on the CPU: their `.cuda()` calls become no-ops (the brief's
# recipe), the modules a run names in `stubs` become empty ones, then their script runs as
# `python SCRIPT ARGS` would run it.
_DRIVER = """
import runpy, sys, types, torch
torch.Tensor.cuda = lambda self, *args, **kwargs: self
torch.nn.Module.cuda = lambda self, *args, **kwargs: self
for module, names in {stubs!r}:
    sys.modules[module] = types.ModuleType(module)
    for name in names:
        setattr(sys.modules[module], name, None)
sys.argv = sys.argv[1:]
sys.path.insert(0, ".")
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def driver(spec) -> str:
    """The `python -c` program that runs the authors' script of `spec` (an AuthorsRun)."""
    return _DRIVER.format(stubs=spec.stubs)


@dataclasses.dataclass(frozen=True)
class AuthorsRun:
    """How the authors train one model: their script (in `subdir` of their repository), its
    flags (their run script's; `{epochs}`, `{release}` filled in) and whether it reads the
    release from ./data/; `experiment` is ours. `stubs`: (module, attribute names) made empty
    before their script runs, for imports of code the trained model never uses."""

    experiment: str
    script: str
    flags: tuple
    subdir: str = ""
    data_in_cwd: bool = False
    stubs: tuple = ()


RUNS = {
    "av_att": AuthorsRun(
        "authors_av_att",
        "supervised_main.py",
        (
            "--train",
            "--model_name=AV_att",
            "--nb_epoch={epochs}",
            "--batch_size=64",
            "--dir_video={release}/visual_feature.h5",
            "--dir_audio={release}/audio_feature.h5",
            "--dir_labels={release}/labels.h5",
            "--dir_order_train={release}/train_order.h5",
            "--dir_order_val={release}/val_order.h5",
            "--dir_order_test={release}/test_order.h5",
        ),
    ),  # fmt: skip
    "psp": AuthorsRun(
        "psp",
        "fully_supervised_main.py",
        (
            "--train",
            "--nb_epoch={epochs}",
            "--batch_size=128",
            "--threshold=0.099",
            "--dir_video={release}/visual_feature.h5",
            "--dir_audio={release}/audio_feature.h5",
            "--dir_labels={release}/labels.h5",
            "--dir_order_train={release}/train_order.h5",
            "--dir_order_val={release}/val_order.h5",
            "--dir_order_test={release}/test_order.h5",
        ),
    ),  # fmt: skip
    "cmbs": AuthorsRun(
        "cmbs",
        "supv_main.py",
        (
            "--gpu=0",
            "--lr=0.0007",
            "--clip_gradient=0.5",
            "--snapshot_pref=./Exps/Supv/exp1/",
            "--n_epoch={epochs}",
            "--batch_size=64",
            "--test_batch_size=16",
            "--print_freq=1",
        ),
        data_in_cwd=True,
    ),  # fmt: skip
    "cace_net": AuthorsRun(
        "cace_net",
        "supv_main.py",
        (
            "--gpu=0",
            "--lr=0.0007",
            "--clip_gradient=0.5",
            "--snapshot_pref=./Exps/Supv/exp1/",
            "--n_epoch={epochs}",
            "--batch_size=64",
            "--test_batch_size=64",
            "--print_freq=10",
            "--seed=3917",
            "--guide=Co-Guide",
            "--psai=0.3",
            "--contrastive",
            "--Lambda=0.6",
            "--contras_coeff=1.0",
        ),
        subdir="CACE",
        data_in_cwd=True,
        # main_model.py imports an SNN encoder it never builds from their vendored braincog,
        # whose package __init__ pulls in torchvision and more.
        stubs=(
            ("braincog", ()),
            ("braincog.model_zoo", ()),
            ("braincog.model_zoo.fc_snn", ("SHD_SNN",)),
        ),
    ),  # fmt: skip
}


def _parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work_dir", required=True, help="full_size_check.py's work_dir.")
    parser.add_argument("--models", default="av_att", help=f"Comma-separated, of {list(RUNS)}.")
    parser.add_argument("--repo", action="append", default=[], help="NAME=PATH (see above).")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--torch_python", default=os.path.join(REPO, ".venv-torch/bin/python"))
    parser.add_argument("--sides", default="theirs,ours", help="Which runs: theirs, ours or both.")
    parser.add_argument("--output_json", default="", help="Also write the rows here.")
    parser.add_argument(
        "--ours_params",
        default="",
        help="Appended to ours' --params_override, e.g. trainer.mixed_precision=mixed_bfloat16 "
        "(bfloat16 pays on CPUs with AMX or avx512_bf16; theirs stays float32).",
    )
    parser.add_argument(
        "--ours_records",
        default="float32",
        choices=["float32", "float16"],
        help="Which conversion of the release ours reads: WORK_DIR/tfrecords (ave_convert's "
        "default, float32 maps) or WORK_DIR/tfrecords_float16 (--visual_dtype=float16: half the "
        "bytes to read and parse; converted once here when missing, not timed).",
    )
    args = parser.parse_args()
    unknown = sorted(set(args.models.split(",")) - set(RUNS))
    if unknown:
        parser.error(f"--models: unknown {unknown} (known: {list(RUNS)})")
    args.repos = dict(item.split("=", 1) for item in args.repo)
    return args


def _timed(command: list, cwd: str, log_path: str, env=None) -> tuple[int, float, float]:
    """(exit code, wall seconds, peak RSS in MiB of the process) of one whole run."""
    started = time.time()
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
    return os.waitstatus_to_exitcode(status), time.time() - started, usage.ru_maxrss / 1024


def _checkout(path: str, target: str) -> None:
    """Their repository's code into `target`, without data, weights or media (a mirror may lack
    those blobs): a work tree is copied, a bare mirror's HEAD is read file by file."""
    skipped = (".h5", ".pt", ".pth", ".jpg", ".png", ".pdf", ".mp3", ".wav", ".mp4")
    if not (os.path.isdir(os.path.join(path, "objects")) and os.path.exists(f"{path}/HEAD")):
        shutil.copytree(
            path, target, ignore=shutil.ignore_patterns(".git", *map("*{}".format, skipped))
        )
        return
    git = ["git", f"--git-dir={path}"]
    names = subprocess.run(
        [*git, "ls-tree", "-r", "--name-only", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    for name in names:
        if name.lower().endswith(skipped):
            continue
        blob = subprocess.run([*git, "cat-file", "blob", f"HEAD:{name}"], capture_output=True)
        if blob.returncode:
            continue  # a large file the mirror does not hold
        os.makedirs(os.path.dirname(os.path.join(target, name)), exist_ok=True)
        with open(os.path.join(target, name), "wb") as f:
            f.write(blob.stdout)


def prepare_checkout(name: str, repo: str, release: str, target: str) -> str:
    """Their code in `target`, ready to run on `release`; returns the folder their script runs
    in (their ./model/ made, the release linked as ./data/ where they read it from there)."""
    spec = RUNS[name]
    _checkout(repo, target)
    cwd = os.path.join(target, spec.subdir)
    os.makedirs(os.path.join(cwd, "model"), exist_ok=True)  # where AVE-ECCV18/PSP save
    if spec.data_in_cwd:
        data = os.path.join(cwd, "data")
        os.makedirs(data, exist_ok=True)
        for file_name in RELEASE_FILES:
            link = os.path.join(data, file_name)
            if os.path.lexists(link):
                os.remove(link)  # their sample h5 files are not ours
            os.symlink(os.path.join(release, file_name), link)
    return cwd


def release_paths(work_dir: str) -> tuple[str, str, str]:
    """(h5 release, its TFRecords, logs folder) of full_size_check.py's work_dir; exits when
    the release or its conversion is missing."""
    release = os.path.abspath(os.path.join(work_dir, "release"))
    data_dir = os.path.abspath(os.path.join(work_dir, "tfrecords"))
    for path, what in ((release, "visual_feature.h5"), (data_dir, "dataset.json")):
        if not os.path.exists(os.path.join(path, what)):
            sys.exit(f"{path}/{what} is missing: run benchmarks/full_size_check.py --runs=none")
    logs = os.path.join(work_dir, "logs")
    os.makedirs(logs, exist_ok=True)
    return release, data_dir, logs


def run_theirs(name: str, args, release: str, scratch: str, logs: str) -> dict:
    spec = RUNS[name]
    cwd = prepare_checkout(name, args.repos[name], release, os.path.join(scratch, f"{name}_repo"))
    flags = [f.format(epochs=args.epochs, release=release) for f in spec.flags]
    command = [args.torch_python, "-c", driver(spec), spec.script, *flags]
    code, seconds, rss = _timed(command, cwd, os.path.join(logs, f"{name}_theirs.log"))
    return {"code": code, "seconds": seconds, "peak_rss_mib": rss}


def convert_float16(release: str, data_dir: str, logs: str) -> str:
    """The release as float16 records (`ave_convert --visual_dtype=float16`), made once."""
    if not os.path.exists(os.path.join(data_dir, "dataset.json")):
        command = [
            sys.executable, "-m", "ave_tf.bin.ave_convert", f"--h5_dir={release}",
            f"--output_dir={data_dir}", "--visual_dtype=float16", "--noprogress",
        ]  # fmt: skip
        code, _, _ = _timed(command, REPO, os.path.join(logs, "convert_float16.log"))
        if code:
            sys.exit(f"ave_convert --visual_dtype=float16 failed; see {logs}/convert_float16.log")
    return data_dir


def run_ours(name: str, args, data_dir: str, scratch: str, logs: str) -> dict:
    model_dir = os.path.join(scratch, f"{name}_ours")
    command = [
        sys.executable, "-m", "ave_tf.bin.ave_train", f"--data_dir={data_dir}",
        f"--model_dir={model_dir}", f"--experiment={RUNS[name].experiment}",
        f"--params_override=trainer.epochs={args.epochs}"
        + (f",{args.ours_params}" if args.ours_params else ""),
        "--noprogress",
    ]  # fmt: skip
    code, seconds, rss = _timed(command, REPO, os.path.join(logs, f"{name}_ours.log"))
    row = {"code": code, "seconds": seconds, "peak_rss_mib": rss}
    metrics = os.path.join(model_dir, "metrics.jsonl")
    if code == 0 and os.path.exists(metrics):
        with open(metrics) as f:
            epochs = [json.loads(line) for line in f if line.strip()]
        steps = sum(e["train"]["seconds"] for e in epochs)
        row["step_seconds_per_epoch"] = steps / len(epochs)
        # The validation-selected figure, so a faster setting is seen not to cost accuracy.
        accuracies = [e["val"]["accuracy"] for e in epochs if e["val"].get("accuracy") is not None]
        row["best_val_accuracy"] = max(accuracies) if accuracies else None
    return row


def main() -> None:
    args = _parse_args()
    release, data_dir, logs = release_paths(args.work_dir)
    if args.ours_records == "float16":
        data_dir = convert_float16(release, data_dir + "_float16", logs)
    rows = []
    with tempfile.TemporaryDirectory(dir=args.work_dir) as scratch:
        for name in args.models.split(","):
            row = {"model": name, "epochs": args.epochs}
            if "theirs" in args.sides:
                if name not in args.repos:
                    sys.exit(f"--repo={name}=PATH is needed for the authors' {name} run")
                row["theirs"] = run_theirs(name, args, release, scratch, logs)
                print(f"{name}: theirs {json.dumps(row['theirs'])}", flush=True)
            if "ours" in args.sides:
                row["ours"] = run_ours(name, args, data_dir, scratch, logs)
                print(f"{name}: ours {json.dumps(row['ours'])}", flush=True)
            rows.append(row)
    if args.output_json:
        with open(args.output_json, "w") as f:
            json.dump(rows, f, indent=2)
    setting = f"; ours with {args.ours_params}" if args.ours_params else ""
    print(f"\nWhole run per epoch, {args.epochs} epochs ({data_dir}{setting}; logs in {logs})\n")
    print(
        "| model | theirs s/epoch | ours s/epoch | theirs / ours | ours overhead "
        "| peak RSS theirs / ours (MiB) |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        ours, theirs = row.get("ours", {}), row.get("theirs", {})

        def per_epoch(side):
            if not side:
                return None
            return side["seconds"] / args.epochs if side["code"] == 0 else None

        mine, their = per_epoch(ours), per_epoch(theirs)
        show = lambda v, unit="": "-" if v is None else f"{v:.1f}{unit}"  # noqa: E731
        ratio = their / mine if mine and their else None
        overhead = None
        if mine and ours.get("step_seconds_per_epoch"):
            overhead = 100 * (1 - ours["step_seconds_per_epoch"] / mine)
        failed = [s for s, r in (("theirs", theirs), ("ours", ours)) if r and r["code"]]
        note = f" (failed: {', '.join(failed)}; see the logs)" if failed else ""
        rss = f"{show(theirs.get('peak_rss_mib'))} / {show(ours.get('peak_rss_mib'))}"
        print(
            f"| {row['model']} | {show(their)} | {show(mine)} | {show(ratio, 'x')} | "
            f"{show(overhead, '%')} | {rss} |{note}"
        )


if __name__ == "__main__":
    main()
