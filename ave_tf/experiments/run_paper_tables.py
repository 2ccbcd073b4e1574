"""Trains and evaluates the registered experiments of the paper's tables; writes a report.

  python -m ave_tf.experiments.run_paper_tables --data_dir=tfrecords/ave_synthetic \
      --output_dir=runs/paper_tables --seeds=0,1,2 --epochs=20

The runner iterates experiment names (`table1/a` ... `table3/dcca`, see `paper_tables.py`).
Each (experiment, seed) trains into its own model_dir through the same library as ave_train
(so interrupted runs resume and finished ones are skipped), is evaluated on the test split, and
is logged to TensorBoard's HParams dashboard under `output_dir/hparams`.
`output_dir/experiments.md` holds the tables beside the paper's numbers.
"""

import json
import os
import re
import shutil
import time

from absl import flags

from ave_tf.experiments.registry import experiment_names, experiment_spec, get_experiment
from ave_tf.utils.cli import fail, require_flags, run_main

FLAGS = flags.FLAGS
# The paper's tables, as the `table` of their registered experiments; "authors" holds the
# authors_* recipes (300 epochs each: run them with --tables=authors when there is time),
# "zoo" the later models (PSP, CMBS, CACE-Net).
PAPER_TABLES = ("table1", "table2", "ed_tcn", "table3")
TABLES = (*PAPER_TABLES, "authors", "zoo")
# The paper cell each authors_* recipe reproduces: "table/row" ("table2/stage/fusion").
_AUTHORS_CELLS = {
    "authors_a": "table1/A",
    "authors_v": "table1/V",
    "authors_v_att": "table1/V-att",
    "authors_av": "table1/A+V",
    "authors_av_att": "table1/A+V-att",
    "authors_av_att_original_loss": "table1/A+V-att",
    "authors_dmrn": "table2/late/dmrn",
    "authors_dmrfe": "table2/late/dmrfe",
    "authors_weak_av_att": "table1/W-A+V-att",
}


def define_flags() -> None:
    flags.DEFINE_string("data_dir", None, "Dataset directory.")
    flags.DEFINE_string("output_dir", None, "Where runs, HParams logs and experiments.md go.")
    flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds; mean and spread are reported.")
    flags.DEFINE_list("tables", list(PAPER_TABLES), f"Tables to run, of {list(TABLES)}.")
    flags.DEFINE_string("only", "", "Regular expression on experiment names (e.g. '^table1/a$').")
    flags.DEFINE_integer("epochs", 20, "Epochs per run (sets trainer.epochs).")
    flags.DEFINE_integer("batch_size", None, "Videos per batch (default: the experiment's).")
    flags.DEFINE_float("learning_rate", None, "Learning rate (default: the experiment's).")
    flags.DEFINE_multi_string("params_override", [], "Applied to every experiment, last.")
    flags.DEFINE_string("split", "test", "Evaluation split.")
    flags.DEFINE_multi_string(
        "write_into",
        [],
        f"Markdown files whose block between {MARKERS[0]!r} and {MARKERS[1]!r} is replaced by "
        "the report's tables (e.g. README.md).",
    )


MARKERS = ("<!-- paper-tables:begin -->", "<!-- paper-tables:end -->")


def replace_marked_block(text: str, block: str, path: str = "file") -> str:
    """`text` with the lines between the MARKERS replaced by `block` (ValueError without them)."""
    begin, end = (text.find(m) for m in MARKERS)
    if begin < 0 or end < begin:
        raise ValueError(f"{path}: no {MARKERS[0]} ... {MARKERS[1]} block to write the tables into")
    return text[: begin + len(MARKERS[0])] + "\n" + block.strip("\n") + "\n" + text[end:]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def experiment_config(name: str, seed: int):
    """The runner's config of one (experiment, seed): the registered one with the runner's flags."""
    from ave_tf.utils import hyperparams

    overrides: dict = {
        "data": {"data_dir": FLAGS.data_dir},
        "trainer": {"seed": seed, "epochs": FLAGS.epochs, "verbose": False},
    }
    overrides["trainer"]["log_attention_videos"] = 0
    if FLAGS.batch_size is not None:
        overrides["trainer"]["batch_size"] = FLAGS.batch_size
    if FLAGS.learning_rate is not None:
        overrides["trainer"]["optimizer"] = {"learning_rate": FLAGS.learning_rate}
    config = get_experiment(name).override(overrides)
    for text in FLAGS.params_override:
        config = config.override(hyperparams.parse_override(text))
    return config.validate()


def run_one(name: str, seed: int, run_dir: str) -> dict:
    """Trains (or resumes) one experiment and evaluates it; cached in eval_<split>.json."""
    import keras

    from ave_tf.data import pipeline
    from ave_tf.evaluation.report import write_eval_json
    from ave_tf.training.model_io import load_trained_experiment
    from ave_tf.training.task_registry import make_task
    from ave_tf.training.trainer import train

    result_path = os.path.join(run_dir, f"eval_{FLAGS.split}.json")
    experiment = experiment_config(name, seed)
    fingerprint = run_fingerprint(experiment, FLAGS.data_dir)
    if os.path.exists(result_path):
        with open(result_path, encoding="utf-8") as f:
            cached = json.load(f)
        if cached.get("fingerprint") == fingerprint:
            return cached
        # A finished run of another config or dataset: its checkpoints must not be resumed
        # (same config, other data) either. An interrupted run (no result yet) of another
        # config is refused by train(), naming the differing field, never silently discarded.
        print(f"[{name} seed {seed}] {result_path} is of another config or dataset: rerunning")
        shutil.rmtree(run_dir)
    keras.backend.clear_session()
    _write_commands(name, experiment, run_dir)
    started = time.time()
    trained = train(experiment, run_dir)
    model, experiment = load_trained_experiment(run_dir)
    config = pipeline.InputConfig(batch_size=experiment.trainer.batch_size)
    task = make_task(experiment)
    result, _ = task.evaluate(model, FLAGS.data_dir, FLAGS.split, config)
    result["best_epoch"] = trained.best_epoch
    result["train_seconds"] = time.time() - started
    # The epochs of this invocation only (a resumed run's earlier epochs were timed before).
    result["seconds_per_epoch"] = trained.seconds / max(trained.epochs_run, 1)
    write_eval_json(result_path, result, {"name": name, "seed": seed, "fingerprint": fingerprint})
    with open(result_path, encoding="utf-8") as f:
        return json.load(f)


def run_fingerprint(experiment, data_dir: str) -> str:
    """What a cached result must match to be reused: the experiment config (without the data's
    path) and the dataset's dataset.json (its generator settings and split sizes)."""
    import hashlib

    from ave_tf.utils import file_io, hyperparams

    config = hyperparams.to_dict(experiment)
    config["data"].pop("data_dir", None)
    dataset = json.loads(file_io.read_text(os.path.join(data_dir, "dataset.json")))
    text = json.dumps({"config": config, "dataset": dataset}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _write_commands(name: str, experiment, run_dir: str) -> None:
    """run_dir/commands.txt: the same run through the binaries, for reproducing one cell."""
    from ave_tf.utils.atomic_files import write_text_atomic

    trainer = experiment.trainer
    overrides = [
        f"trainer.epochs={trainer.epochs}", f"trainer.batch_size={trainer.batch_size}",
        f"trainer.optimizer.learning_rate={trainer.optimizer.learning_rate}",
        f"trainer.seed={trainer.seed}", "trainer.log_attention_videos=0",
    ]  # fmt: skip
    train_flags = [
        f"--data_dir={FLAGS.data_dir}", f"--model_dir={run_dir}", f"--experiment={name}",
        f"--params_override={','.join(overrides)}",
        *(f"--params_override={text}" for text in FLAGS.params_override),
    ]  # fmt: skip
    eval_flags = [
        f"--model_dir={run_dir}",
        f"--data_dir={FLAGS.data_dir}",
        f"--split={FLAGS.split}",
    ]
    os.makedirs(run_dir, exist_ok=True)
    write_text_atomic(
        os.path.join(run_dir, "commands.txt"),
        "ave_train " + " ".join(train_flags) + "\nave_eval " + " ".join(eval_flags) + "\n",
    )


def log_hparams(output_dir: str, name: str, seed: int, result: dict) -> None:
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    from ave_tf.utils import hyperparams

    spec = experiment_spec(name)
    path = os.path.join(output_dir, "hparams", f"{_safe(name)}-seed{seed}")
    if os.path.exists(path):
        return
    experiment = get_experiment(name)
    hparams = {"name": spec.label, "experiment": name, "table": spec.table or ""}
    hparams["task"] = experiment.task.name
    hparams["model"] = experiment.model_name
    model = hyperparams.to_dict(experiment.model)
    hparams.update({k: v for k, v in model.items() if isinstance(v, (str, bool, int))})
    hparams["seed"] = seed
    with tf.summary.create_file_writer(path).as_default():
        hp.hparams(hparams, trial_id=f"{name}-seed{seed}")
        for key in ("accuracy", "a2v", "v2a", "video_accuracy"):
            if result.get(key) is not None:
                tf.summary.scalar(f"test/{key}", result[key], step=1)


def finished_results(output_dir: str) -> dict:
    """{row label: [eval result per finished seed]} of every run under output_dir, so the
    report covers earlier invocations (other tables, other seeds) too."""
    results: dict = {}
    for name in experiment_names(TABLES):
        runs = os.path.join(output_dir, "runs", _safe(name))
        if not os.path.isdir(runs):
            continue
        for seed_dir in sorted(os.listdir(runs)):
            path = os.path.join(runs, seed_dir, f"eval_{FLAGS.split}.json")
            if os.path.exists(path):
                spec = experiment_spec(name)
                # authors_* and zoo rows are keyed by name (the authors_* labels repeat the
                # paper tables'; the zoo table names its experiments).
                key = name if spec.table in ("authors", "zoo") else spec.label
                with open(path, encoding="utf-8") as f:
                    results.setdefault(key, []).append(json.load(f))
    return results


def render_report(results: dict) -> str:
    """Markdown tables of all finished runs beside the paper's numbers."""
    from ave_tf.evaluation import report

    def values(name, key="accuracy"):
        # Undefined results stay (as None) so that a finished run's cell reads "n/a", not "-".
        return [r.get(key) for r in results.get(name, [])]

    parts = ["# Paper tables reproduced\n"]
    table1 = [{"name": n, "values": values(n)} for n in report.PAPER_TABLE1 if n in results]
    if table1:
        parts += [
            "## Table 1: event localization accuracy (%)\n",
            report.markdown_table(table1, report.PAPER_TABLE1),
        ]
    grid = {}
    for name in results:
        if "/" in name:
            stage, fusion = name.split("/")
            grid.setdefault(stage, {})[fusion] = values(name)
    if grid:
        parts += [
            "## Table 2: fusion methods x stages, accuracy (%)\n",
            report.markdown_grid(grid, report.PAPER_TABLE2, corner="stage"),
        ]
    if "ED-TCN" in results:
        parts += [
            "## ED-TCN baseline (Sec. 6.3), accuracy (%)\n",
            report.markdown_table(
                [{"name": "ED-TCN", "values": values("ED-TCN")}], {"ED-TCN": report.PAPER_ED_TCN}
            ),
        ]
    paper_cells = {
        "table1": report.PAPER_TABLE1,
        "table2": report.PAPER_TABLE2,
        "table3": report.PAPER_TABLE3,
    }
    authors = [
        {"name": cell, "label": name, "values": values(name)}
        for name, cell in _AUTHORS_CELLS.items()
        if name in results
    ]
    if "authors_avdln" in results:
        authors += [
            {"name": f"table3/AVDLN/{k}", "label": f"authors_avdln {k.upper()}",
             "values": values("authors_avdln", k)}
            for k in ("a2v", "v2a")
        ]  # fmt: skip
    if authors:
        parts += [
            "## The authors' recipes (authors_*), accuracy (%)\n",
            report.markdown_table(authors, paper_cells, name_header="experiment"),
        ]
    zoo = [
        {
            "name": experiment_spec(name).label,
            "label": f"`{name}`",
            "values": values(name),
            "extra": [_seconds_per_epoch(results[name])],
        }
        for name in experiment_names(("zoo",))
        if name in results
    ]
    if zoo:
        parts += [
            "## Model zoo: later models on the same features, accuracy (%)\n",
            report.markdown_table(
                zoo, report.PAPER_ZOO, name_header="experiment", extra_headers=["s/epoch"]
            ),
        ]
    table3 = {
        n: {k: values(n, k) for k in ("a2v", "v2a")} for n in ("AVDLN", "DCCA") if n in results
    }
    if table3:
        parts += [
            "## Table 3: cross-modality localization accuracy (%)\n",
            report.markdown_grid(table3, report.PAPER_TABLE3, corner="model"),
        ]
    return "\n".join(parts)


def _seconds_per_epoch(results: list) -> str:
    """The mean training time per epoch over the seeds that recorded it ("-" if none did)."""
    seconds = [r["seconds_per_epoch"] for r in results if r.get("seconds_per_epoch")]
    return f"{sum(seconds) / len(seconds):.1f}" if seconds else "-"


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
    require_flags("data_dir", "output_dir")
    from ave_tf.utils.atomic_files import write_text_atomic
    from ave_tf.utils.metric_values import format_metric

    try:
        seeds = [int(s) for s in FLAGS.seeds]
        unknown = sorted(set(FLAGS.tables) - set(TABLES))
        if unknown:
            raise ValueError(f"--tables: unknown table(s) {unknown} (known: {list(TABLES)})")
        names = experiment_names(FLAGS.tables)
        selected = [n for n in names if re.search(FLAGS.only or "", n)]
        for name in selected:
            experiment_config(name, seeds[0])  # a bad override fails before any training
    except (ValueError, LookupError) as e:
        fail(str(e.args[0]) if isinstance(e, LookupError) and e.args else str(e))
    if not selected:
        fail(f"--only={FLAGS.only!r} matches no experiment of {FLAGS.tables}")
    for path in FLAGS.write_into:  # a missing block fails before hours of training
        try:
            with open(path, encoding="utf-8") as f:
                replace_marked_block(f.read(), "", path)
        except (OSError, ValueError) as e:
            fail(f"--write_into: {e}")
    total = len(selected) * len(seeds)
    done = 0
    for name in selected:
        for seed in seeds:
            run_dir = os.path.join(FLAGS.output_dir, "runs", _safe(name), f"seed{seed}")
            try:
                result = run_one(name, seed, run_dir)
            except Exception as e:  # noqa: BLE001 - report the failing experiment and go on
                print(f"[{name} seed {seed}] FAILED: {type(e).__name__}: {e}")
                continue
            log_hparams(FLAGS.output_dir, name, seed, result)
            done += 1
            shown = " ".join(
                f"{k}={format_metric(result[k])}" for k in ("accuracy", "a2v", "v2a") if k in result
            )
            print(f"[{done}/{total}] {name} seed {seed}: {shown}", flush=True)
            report = render_report(finished_results(FLAGS.output_dir))
            write_text_atomic(os.path.join(FLAGS.output_dir, "experiments.md"), report)
    final = render_report(finished_results(FLAGS.output_dir))
    print(final)
    # Without the report's title, one heading level down (the tables go under a section).
    tables = re.sub(r"^## ", "### ", final.split("\n", 1)[1], flags=re.MULTILINE)
    for path in FLAGS.write_into:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        write_text_atomic(path, replace_marked_block(text, tables, path))
        print(f"wrote the tables into {path}")
    if done < total:
        fail(f"{total - done} of {total} runs failed (see above)")


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
