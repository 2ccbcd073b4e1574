"""Cross-modality localization: AVDLN vs DCCA (paper Table 3) on a dataset directory.

Trains each model with the cross-modal train step, keeps the epoch with the best mean
validation A2V/V2A accuracy, then evaluates it on the test split (the `*_match` splits when the
dataset has them) and prints a markdown table beside the paper's numbers.

  .venv/bin/python benchmarks/cross_modal_benchmark.py --data_dir=tfrecords/ave_synthetic \
      --epochs=10 --output=/tmp/cross_modal.json

`--variants` takes `method[:negatives]` entries, e.g. `avdln:background,avdln:mixed,dcca`.
"""

import os
import sys
import time

from absl import app, flags

FLAGS = flags.FLAGS

# Table 3 of the paper (accuracy, %).
PAPER_TABLE3 = {"avdln": {"a2v": 44.8, "v2a": 35.6}, "dcca": {"a2v": 34.8, "v2a": 34.1}}


def define_flags() -> None:
    flags.DEFINE_string("data_dir", None, "Dataset directory (dataset.json + shards).")
    flags.DEFINE_list("variants", ["avdln", "dcca"], "method[:negatives] entries to train.")
    flags.DEFINE_integer("epochs", 10, "Training epochs per model.")
    flags.DEFINE_integer("batch_size", 32, "Videos per batch (pairs are built from them).")
    flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate.")
    flags.DEFINE_integer("seed", 0, "Seeds weights, data order and negatives.")
    flags.DEFINE_string("output", None, "Write the results as JSON here.")


def _fail(message: str) -> None:
    print(f"{os.path.basename(sys.argv[0])}: error: {message}", file=sys.stderr)
    sys.exit(1)


def _train_one(variant, data_dir, splits):
    import keras
    import tensorflow as tf

    from ave_tf.data import pipeline
    from ave_tf.evaluation.cross_modal_search import evaluate_cross_modal
    from ave_tf.models.cross_modal import CrossModalConfig, build_cross_modal_model
    from ave_tf.training.cross_modal_task import make_train_step
    from ave_tf.training.linear_cca import fit_linear_cca

    method, _, negatives = variant.partition(":")
    values = {"method": method}
    if negatives:
        values["negatives"] = negatives
    config = CrossModalConfig(**values).validate()
    keras.utils.set_random_seed(FLAGS.seed)
    model = build_cross_modal_model(config)
    step = make_train_step(model, keras.optimizers.Adam(FLAGS.learning_rate), config)
    once = pipeline.InputConfig(batch_size=FLAGS.batch_size)

    def dataset(split, input_config=once):
        return pipeline.make_dataset(data_dir, splits[split], input_config)

    best, best_weights, history, start = -1.0, None, [], time.time()
    for epoch in range(FLAGS.epochs):
        shuffled = pipeline.InputConfig(
            batch_size=FLAGS.batch_size, shuffle=True, seed=FLAGS.seed * 1000 + epoch
        )
        losses = []
        for index, batch in enumerate(dataset("train", shuffled)):
            loss, _, _ = step(batch, tf.constant([FLAGS.seed, epoch * 100_000 + index], tf.int32))
            losses.append(float(loss))
        if method == "dcca":
            fit_linear_cca(model, dataset("train"), config)
        val = evaluate_cross_modal(model, dataset("val"))
        score = (val["a2v"] + val["v2a"]) / 2
        history.append({"epoch": epoch + 1, "loss": sum(losses) / len(losses), **val})
        print(
            f"  {variant} epoch {epoch + 1}: loss {history[-1]['loss']:.4f} "
            f"val a2v {val['a2v']:.3f} v2a {val['v2a']:.3f}",
            flush=True,
        )
        if score > best:
            best, best_weights = score, model.get_weights()
    model.set_weights(best_weights)
    test = evaluate_cross_modal(model, dataset("test"))
    return {
        "method": method,
        # DCCA trains on positive pairs only: its negatives setting plays no part.
        "negatives": config.negatives if method == "avdln" else "n/a",
        "test": test,
        "best_val": best,
        "history": history,
        "seconds": time.time() - start,
    }


def _table(results) -> str:
    lines = [
        "| model | negatives | A2V | V2A | paper A2V | paper V2A |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        paper = PAPER_TABLE3[r["method"]]
        lines.append(
            f"| {r['method'].upper()} | {r['negatives']} | {100 * r['test']['a2v']:.1f} | "
            f"{100 * r['test']['v2a']:.1f} | {paper['a2v']} | {paper['v2a']} |"
        )
    return "\n".join(lines)


def main(argv):
    del argv
    if not FLAGS.data_dir:
        _fail("--data_dir is required")
    from ave_tf.data.dataset_info import DatasetError, load_dataset_info
    from ave_tf.evaluation.cross_modal_search import cross_modal_split
    from ave_tf.utils.atomic_files import write_json_atomic

    try:
        available = load_dataset_info(FLAGS.data_dir).splits
    except DatasetError as e:
        _fail(str(e))
    splits = {name: cross_modal_split(available, name) for name in ("train", "val", "test")}
    missing = sorted(split for split in splits.values() if split not in available)
    if missing:
        _fail(f"{FLAGS.data_dir}: no {missing} split(s) (has {sorted(available)})")
    print(f"splits: {splits}", flush=True)
    results = []
    from ave_tf.models.cross_modal import CrossModalConfig

    for variant in FLAGS.variants:  # all checked before the first (long) training
        method, _, negatives = variant.partition(":")
        try:
            CrossModalConfig(
                method=method, **({"negatives": negatives} if negatives else {})
            ).validate()
        except ValueError as e:
            _fail(f"--variants={variant}: {e}")
    for variant in FLAGS.variants:
        results.append(_train_one(variant, FLAGS.data_dir, splits))
    table = _table(results)
    print(table)
    if FLAGS.output:
        write_json_atomic(FLAGS.output, {"splits": splits, "results": results, "table": table})


if __name__ == "__main__":
    define_flags()
    app.run(main)
