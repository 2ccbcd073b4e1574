"""Test accuracy, ours against the authors' own code, on the same release, over several seeds.

  .venv/bin/python benchmarks/full_size_check.py --work_dir=/tmp/full_check --runs=none
  make venv-torch
  .venv/bin/python benchmarks/authors_accuracy.py --work_dir=/tmp/full_check --models=cmbs \
      --repo=cmbs=PATH/CMBS --seeds=0,1,2 --epochs=10

For each model and seed, the authors' training script (as benchmarks/authors_speed.py runs it:
their run-script flags, PyTorch on the CPU) and `ave_train --experiment=NAME --seed=N` train for
--epochs epochs on the same release; both are scored the same way: the test accuracy of the
epoch with the best validation accuracy (the first such epoch). Their scripts pick the epoch on
the test split, so the copy of their script run here is patched, and only so:
  - its fixed seed (CMBS 43, PSP 123) becomes the seed asked for (CACE-Net takes --seed);
  - after each epoch's test pass it also scores the validation split with their own evaluation
    function and prints both (one `AUTHORS_EPOCH {json}` line); PSP already scores both and runs
    with --save_epoch=1 --check_epoch=1 so it does so every epoch (but the first, which their
    loop never scores). Ours validates every epoch too (`trainer.validate_every=1`).
An extra evaluation pass draws from their data loaders' random stream, so a patched run is not
bit-identical to an unpatched one with the same seed; it is the same recipe. Their own rule
(best test epoch) is printed beside, for reference. Each patch must match their script exactly
once, so a changed upstream script fails here instead of being measured wrongly.

Their scripts are slow on 2 cores (CMBS: ~10 s per batch in float64, ~50 min per 5-epoch run),
so a comparison may take several sittings: with --output_json every finished run is written at
once, and --resume keeps those (checked: same epochs, same release bytes) and runs only the rest.

Prints one table: per model, mean ± std over seeds of both and the difference of the means.
Not part of ave_tf or its tests: PyTorch is never a dependency.
"""

import argparse
import dataclasses
import hashlib
import json
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from authors_speed import (  # noqa: E402
    REPO,
    RUNS,
    _timed,
    driver,
    prepare_checkout,
    release_paths,
)

EPOCH_TAG = "AUTHORS_EPOCH "

# CMBS and CACE-Net share the loop `acc = validate_epoch(mainModel, test_dataloader, ...)`;
# validation reuses their evaluation function on a loader built like their test loader.
_THEIR_TEST_PASS = (
    " " * 12
    + "acc = validate_epoch(mainModel, test_dataloader, criterion, criterion_event, epoch)\n"
)
_VALIDATE_BOTH = (
    _THEIR_TEST_PASS,
    _THEIR_TEST_PASS + "            _val_loader = DataLoader(AVEDataset('./data/', split='val'),"
    " batch_size=args.test_batch_size, shuffle=False, num_workers=0)\n"
    "            _val_acc = validate_epoch("
    "mainModel, _val_loader, criterion, criterion_event, epoch)\n"
    f"            print({EPOCH_TAG!r} + json.dumps({{'epoch': epoch, 'val': float(_val_acc),"
    " 'test': float(acc)}), flush=True)\n",
)


@dataclasses.dataclass(frozen=True)
class Patched:
    """How one authors' script is made to report validation and test per epoch: exact
    (old, new) text replacements, extra flags ({seed} filled in) and the accuracy scale."""

    patches: tuple
    flags: tuple = ()
    percent: bool = True  # their accuracy is in % (CMBS, CACE-Net) or a fraction (PSP)


PATCHES = {
    "cmbs": Patched(
        patches=(("SEED = 43\n", "SEED = int(os.environ['AUTHORS_SEED'])\n"), _VALIDATE_BOTH),
    ),
    "cace_net": Patched(patches=(_VALIDATE_BOTH,), flags=("--seed={seed}",)),
    "psp": Patched(
        patches=(
            ("FixSeed = 123\n", "FixSeed = int(os.environ['AUTHORS_SEED'])\n"),
            (
                "            print('test accuracy:', test_acc, 'epoch=', epoch)\n",
                "            print('test accuracy:', test_acc, 'epoch=', epoch)\n"
                "            import json\n"
                f"            print({EPOCH_TAG!r} + json.dumps({{'epoch': epoch,"
                " 'val': float(val_acc), 'test': float(test_acc)}), flush=True)\n",
            ),
        ),
        flags=("--save_epoch=1", "--check_epoch=1"),
        percent=False,
    ),
}


def _parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work_dir", required=True, help="full_size_check.py's work_dir.")
    parser.add_argument("--models", default="cmbs", help=f"Comma-separated, of {list(PATCHES)}.")
    parser.add_argument("--repo", action="append", default=[], help="NAME=PATH (as authors_speed).")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--torch_python", default=os.path.join(REPO, ".venv-torch/bin/python"))
    parser.add_argument("--sides", default="theirs,ours", help="Which runs: theirs, ours or both.")
    parser.add_argument("--output_json", default="", help="Also write every run's result here.")
    parser.add_argument("--ours_params", default="", help="Appended to ours' --params_override.")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="Keep the finished runs already in --output_json (same epochs, same release) and run"
        " only the rest: a comparison longer than one sitting is done in several.",
    )
    args = parser.parse_args()
    if args.resume and not args.output_json:
        parser.error("--resume needs --output_json")
    unknown = sorted(set(args.models.split(",")) - set(PATCHES))
    if unknown:
        parser.error(f"--models: unknown {unknown} (known: {list(PATCHES)})")
    args.repos = dict(item.split("=", 1) for item in args.repo)
    args.seed_list = [int(s) for s in args.seeds.split(",")]
    return args


def patch_script(path: str, patches: tuple) -> None:
    with open(path) as f:
        text = f.read()
    for old, new in patches:
        if text.count(old) != 1:
            sys.exit(f"{path}: expected exactly one {old.strip()!r}; their script changed")
        text = text.replace(old, new)
    with open(path, "w") as f:
        f.write(text)


def validation_selected(epochs: list) -> dict:
    """Test accuracy at the first epoch of best validation accuracy, and their own rule."""
    best = max(epochs, key=lambda e: (e["val"], -e["epoch"]))
    return {
        "test_accuracy": best["test"],
        "selected_epoch": best["epoch"],
        "best_val_accuracy": best["val"],
        "test_selected_accuracy": max(e["test"] for e in epochs),
        "last_epoch_test_accuracy": epochs[-1]["test"],
    }


def run_theirs(name: str, seed: int, args, release: str, scratch: str, logs: str) -> dict:
    spec, patched = RUNS[name], PATCHES[name]
    checkout = os.path.join(scratch, f"{name}_theirs_seed{seed}")
    cwd = prepare_checkout(name, args.repos[name], release, checkout)
    patch_script(os.path.join(cwd, spec.script), patched.patches)
    flags = [f.format(epochs=args.epochs, release=release) for f in spec.flags]
    flags = [f for f in flags if not f.startswith("--seed=")]
    flags += [f.format(seed=seed) for f in patched.flags]
    log_path = os.path.join(logs, f"{name}_theirs_seed{seed}.log")
    env = dict(os.environ, AUTHORS_SEED=str(seed))
    command = [args.torch_python, "-c", driver(spec), spec.script, *flags]
    code, seconds, _ = _timed(command, cwd, log_path, env=env)
    row = {"code": code, "seconds": seconds, "log": log_path}
    scale = 0.01 if patched.percent else 1.0
    with open(log_path) as f:
        epochs = [json.loads(line.split(EPOCH_TAG, 1)[1]) for line in f if EPOCH_TAG in line]
    for epoch in epochs:
        epoch["val"] *= scale
        epoch["test"] *= scale
    if code == 0 and epochs:
        row.update(validation_selected(epochs))
    row["epochs"] = epochs
    return row


def run_ours(name: str, seed: int, args, data_dir: str, scratch: str, logs: str) -> dict:
    model_dir = os.path.join(scratch, f"{name}_ours_seed{seed}")
    log_path = os.path.join(logs, f"{name}_ours_seed{seed}.log")
    train = [
        sys.executable, "-m", "ave_tf.bin.ave_train", f"--data_dir={data_dir}",
        f"--model_dir={model_dir}", f"--experiment={RUNS[name].experiment}", f"--seed={seed}",
        # Validated every epoch, as their patched scripts are: both select among the same epochs.
        f"--params_override=trainer.epochs={args.epochs},trainer.validate_every=1"
        + (f",{args.ours_params}" if args.ours_params else ""),
        "--noprogress",
    ]  # fmt: skip
    code, seconds, _ = _timed(train, REPO, log_path)
    row = {"code": code, "seconds": seconds, "log": log_path}
    if code:
        return row
    output = os.path.join(model_dir, "eval_test.json")
    evaluate = [
        sys.executable, "-m", "ave_tf.bin.ave_eval", f"--model_dir={model_dir}",
        f"--data_dir={data_dir}", "--split=test", f"--output={output}",
    ]  # fmt: skip
    code, _, _ = _timed(evaluate, REPO, log_path.replace(".log", "_eval.log"))
    row["code"] = code
    if code == 0:
        with open(output) as f:
            row["test_accuracy"] = json.load(f)["accuracy"]
        with open(os.path.join(model_dir, "metrics.jsonl")) as f:
            epochs = [json.loads(line) for line in f if line.strip()]
        row["epochs"] = [
            {"epoch": i, "val": e["val"].get("accuracy")} for i, e in enumerate(epochs)
        ]
    return row


def _summary(values: list) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{100 * values[0]:.1f} (n=1)"
    mean, std = 100 * statistics.mean(values), 100 * statistics.stdev(values)
    return f"{mean:.1f} ± {std:.1f} (n={len(values)})"


def release_fingerprint(release: str) -> str:
    """Identifies the release a stored run was trained on: every small file whole, the large
    visual file by its size and first 64 MiB (generated features differ from the first bytes)."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(release)):
        path = os.path.join(release, name)
        digest.update(f"{name}:{os.path.getsize(path)}".encode())
        with open(path, "rb") as f:
            digest.update(f.read(64 << 20))
    return digest.hexdigest()[:16]


def load_finished(args, fingerprint: str) -> tuple[dict, dict]:
    """The runs of an earlier sitting to keep (--resume): only finished ones (exit code 0); and
    the file's other top-level entries (notes on the runs), kept as they are."""
    if not (args.resume and os.path.exists(args.output_json)):
        return {}, {}
    with open(args.output_json) as f:
        stored = json.load(f)
    where = f"--resume: {args.output_json}"
    if stored.get("epochs") != args.epochs:
        sys.exit(f"{where} holds {stored.get('epochs')}-epoch runs, not {args.epochs}")
    if stored.get("release_fingerprint") != fingerprint:
        sys.exit(
            f"{where} was trained on release {stored.get('release_fingerprint')}, "
            f"{args.work_dir} holds {fingerprint}"
        )
    finished = {
        name: {
            side: {int(seed): row for seed, row in rows.items() if row.get("code") == 0}
            for side, rows in sides.items()
        }
        for name, sides in stored["results"].items()
    }
    own = ("epochs", "release_fingerprint", "results")
    notes = {k: v for k, v in stored.items() if k not in own}
    return finished, notes


def machine() -> str:
    """The CPU a run trained on, as runs of one comparison may span machine kinds."""
    with open("/proc/cpuinfo") as f:
        info = f.read()
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                  if line.startswith("model name")), "unknown CPU")  # fmt: skip
    simd = "AVX-512" if " avx512f" in info else "AVX2" if " avx2" in info else "no AVX2"
    return f"{model}, {simd}, {os.cpu_count()} cores"


def portable(results: dict, work_dir: str) -> dict:
    """`results` as stored: log paths under --work_dir written as `<work_dir>/...`."""
    prefix = os.path.abspath(work_dir) + os.sep
    return {
        name: {
            side: {
                seed: {**row, "log": row["log"].replace(prefix, "<work_dir>/")}
                if isinstance(row.get("log"), str) else row
                for seed, row in runs.items()
            }
            for side, runs in sides.items()
        }
        for name, sides in results.items()
    }  # fmt: skip


def main() -> None:
    args = _parse_args()
    release, data_dir, logs = release_paths(args.work_dir)
    fingerprint = release_fingerprint(release)
    results, notes = load_finished(args, fingerprint)

    def save() -> None:  # after every run: a long comparison keeps what it has
        if not args.output_json:
            return
        stored = {
            "epochs": args.epochs,
            "release_fingerprint": fingerprint,
            "results": portable(results, args.work_dir),
            **notes,
        }
        with open(args.output_json + ".tmp", "w") as f:
            json.dump(stored, f, indent=2)
        os.replace(args.output_json + ".tmp", args.output_json)

    with tempfile.TemporaryDirectory(dir=args.work_dir) as scratch:
        for name in args.models.split(","):
            results.setdefault(name, {"theirs": {}, "ours": {}})
            for seed in args.seed_list:
                for side in ("theirs", "ours"):
                    if side not in args.sides or seed in results[name][side]:
                        continue
                    if side == "theirs":
                        if name not in args.repos:
                            sys.exit(f"--repo={name}=PATH is needed for the authors' {name} run")
                        row = run_theirs(name, seed, args, release, scratch, logs)
                    else:
                        row = run_ours(name, seed, args, data_dir, scratch, logs)
                    row["machine"] = machine()
                    results[name][side][seed] = row
                    shown = {k: v for k, v in row.items() if k != "epochs"}
                    print(f"{name} seed {seed}: {side} {json.dumps(shown)}", flush=True)
                    save()
    print(f"\nTest accuracy (%), validation-selected, {args.epochs} epochs, seeds {args.seeds}")
    print(f"({release}; logs in {logs})\n")
    print("| model | theirs | ours | ours - theirs | theirs, their rule (best test epoch) |")
    print("|---|---|---|---|---|")

    def values(rows: dict, key="test_accuracy") -> list:
        return [r[key] for r in rows.values() if r.get("code") == 0 and r.get(key) is not None]

    for name, sides in results.items():
        theirs, ours = values(sides["theirs"]), values(sides["ours"])
        difference = "-"
        if theirs and ours:
            difference = f"{100 * (statistics.mean(ours) - statistics.mean(theirs)):+.1f}"
        their_rule = _summary(values(sides["theirs"], "test_selected_accuracy"))
        print(f"| {name} | {_summary(theirs)} | {_summary(ours)} | {difference} | {their_rule} |")


if __name__ == "__main__":
    main()
