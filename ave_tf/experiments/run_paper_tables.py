"""Trains and evaluates every configuration of the paper's tables; writes a markdown report.

  python -m ave_tf.experiments.run_paper_tables --data_dir=tfrecords/ave_synthetic \
      --output_dir=runs/paper_tables --seeds=0,1,2 --epochs=20

Each (configuration, seed) trains into its own model_dir through the same library as
ave_train (so interrupted runs resume and finished ones are skipped), is evaluated on the test
split, and is logged to TensorBoard's HParams dashboard under `output_dir/hparams`.
`output_dir/experiments.md` holds the tables beside the paper's numbers.
"""

import json
import os
import re
import time

from absl import flags

from ave_tf.bin.common import fail, require_flags, run_main

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_string("data_dir", None, "Dataset directory.")
    flags.DEFINE_string("output_dir", None, "Where runs, HParams logs and experiments.md go.")
    flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds; mean and spread are reported.")
    flags.DEFINE_list("tables", ["table1", "table2", "ed_tcn", "table3"], "Tables to run.")
    flags.DEFINE_string("only", "", "Regular expression on configuration names.")
    flags.DEFINE_integer("epochs", 20, "Epochs per run.")
    flags.DEFINE_integer("batch_size", 64, "Videos per batch.")
    flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate.")
    flags.DEFINE_string("split", "test", "Evaluation split.")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def run_one(experiment, seed: int, run_dir: str) -> dict:
    """Trains (or resumes) one configuration and evaluates it; cached in eval.json."""
    import keras

    from ave_tf.data import pipeline
    from ave_tf.evaluation.report import write_eval_json
    from ave_tf.training.model_io import load_trained_model
    from ave_tf.training.tasks import make_task
    from ave_tf.training.train_config import TrainConfig
    from ave_tf.training.trainer import train

    result_path = os.path.join(run_dir, f"eval_{FLAGS.split}.json")
    if os.path.exists(result_path):
        with open(result_path, encoding="utf-8") as f:
            return json.load(f)
    keras.backend.clear_session()
    if experiment.task == "cross_modal":
        from ave_tf.models.cross_modal import CrossModalConfig

        model_config = CrossModalConfig(**experiment.model)
    else:
        from ave_tf.models.config import ModelConfig

        model_config = ModelConfig(**experiment.model)
    model_config.validate()
    train_config = TrainConfig(
        task=experiment.task,
        epochs=FLAGS.epochs,
        batch_size=FLAGS.batch_size,
        learning_rate=FLAGS.learning_rate,
        seed=seed,
        verbose=False,
        log_attention_videos=0,
    )
    run_config = {
        "task": experiment.task,
        "model": model_config.to_dict(),
        "train": train_config.to_dict(),
        "data": {"data_dir": FLAGS.data_dir},
    }
    _write_commands(experiment, seed, run_dir)
    started = time.time()
    trained = train(
        make_task(train_config, model_config, FLAGS.data_dir),
        train_config,
        FLAGS.data_dir,
        run_dir,
        run_config,
    )
    model, task, _ = load_trained_model(run_dir)
    config = pipeline.InputConfig(batch_size=FLAGS.batch_size)
    if task == "cross_modal":
        from ave_tf.training.cross_modal_task import evaluate_cross_modal_split

        result = evaluate_cross_modal_split(model, FLAGS.data_dir, FLAGS.split, config)
    else:
        from ave_tf.evaluation.localization_eval import evaluate_localization

        dataset = pipeline.make_dataset(FLAGS.data_dir, FLAGS.split, config)
        result, _ = evaluate_localization(model, dataset)
    result["best_epoch"] = trained.best_epoch
    result["train_seconds"] = time.time() - started
    write_eval_json(result_path, result, {"name": experiment.name, "seed": seed})
    with open(result_path, encoding="utf-8") as f:
        return json.load(f)


def _write_commands(experiment, seed: int, run_dir: str) -> None:
    """run_dir/commands.txt: the same run through the binaries, for reproducing one cell."""
    from ave_tf.utils.atomic_files import write_text_atomic

    train_flags = [
        f"--data_dir={FLAGS.data_dir}", f"--model_dir={run_dir}", *experiment.ave_train_flags(),
        f"--epochs={FLAGS.epochs}", f"--batch_size={FLAGS.batch_size}",
        f"--learning_rate={FLAGS.learning_rate}", f"--seed={seed}", "--log_attention_videos=0",
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


def log_hparams(output_dir: str, experiment, seed: int, result: dict) -> None:
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    path = os.path.join(output_dir, "hparams", f"{_safe(experiment.name)}-seed{seed}")
    if os.path.exists(path):
        return
    hparams = {"name": experiment.name, "table": experiment.table, "task": experiment.task}
    hparams.update({k: v for k, v in experiment.model.items() if isinstance(v, (str, bool, int))})
    hparams["seed"] = seed
    with tf.summary.create_file_writer(path).as_default():
        hp.hparams(hparams, trial_id=f"{experiment.name}-seed{seed}")
        for key in ("accuracy", "a2v", "v2a", "video_accuracy"):
            if result.get(key) is not None:
                tf.summary.scalar(f"test/{key}", result[key], step=1)


def finished_results(output_dir: str) -> dict:
    """{configuration name: [eval result per finished seed]} of every run under output_dir,
    so the report covers earlier invocations (other tables, other seeds) too."""
    from ave_tf.experiments.registry import TABLES

    results: dict = {}
    for table in TABLES.values():
        for experiment in table():
            runs = os.path.join(output_dir, "runs", _safe(experiment.name))
            if not os.path.isdir(runs):
                continue
            for seed_dir in sorted(os.listdir(runs)):
                path = os.path.join(runs, seed_dir, f"eval_{FLAGS.split}.json")
                if os.path.exists(path):
                    with open(path, encoding="utf-8") as f:
                        results.setdefault(experiment.name, []).append(json.load(f))
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
    table3 = {
        n: {k: values(n, k) for k in ("a2v", "v2a")} for n in ("AVDLN", "DCCA") if n in results
    }
    if table3:
        parts += [
            "## Table 3: cross-modality localization accuracy (%)\n",
            report.markdown_grid(table3, report.PAPER_TABLE3, corner="model"),
        ]
    return "\n".join(parts)


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
    require_flags("data_dir", "output_dir")
    from ave_tf.experiments.registry import experiments
    from ave_tf.utils.atomic_files import write_text_atomic
    from ave_tf.utils.metric_values import format_metric

    try:
        seeds = [int(s) for s in FLAGS.seeds]
        selected = [e for e in experiments(FLAGS.tables) if re.search(FLAGS.only or "", e.name)]
    except ValueError as e:
        fail(str(e))
    if not selected:
        fail(f"--only={FLAGS.only!r} matches no configuration")
    total = len(selected) * len(seeds)
    done = 0
    for experiment in selected:
        for seed in seeds:
            run_dir = os.path.join(FLAGS.output_dir, "runs", _safe(experiment.name), f"seed{seed}")
            try:
                result = run_one(experiment, seed, run_dir)
            except Exception as e:  # noqa: BLE001 - report the failing configuration and go on
                print(f"[{experiment.name} seed {seed}] FAILED: {type(e).__name__}: {e}")
                continue
            log_hparams(FLAGS.output_dir, experiment, seed, result)
            done += 1
            shown = " ".join(
                f"{k}={format_metric(result[k])}" for k in ("accuracy", "a2v", "v2a") if k in result
            )
            print(f"[{done}/{total}] {experiment.name} seed {seed}: {shown}", flush=True)
            report = render_report(finished_results(FLAGS.output_dir))
            write_text_atomic(os.path.join(FLAGS.output_dir, "experiments.md"), report)
    print(render_report(finished_results(FLAGS.output_dir)))
    if done < total:
        fail(f"{total - done} of {total} runs failed (see above)")


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
