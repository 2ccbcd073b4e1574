"""ave_eval: evaluates a trained model on a split (default: test) with the paper's metric.

  ave_eval --data_dir=tfrecords/ave_synthetic --model_dir=runs/demo --output=eval.json

Localization models: pooled segment accuracy over the split (background is the 29th class),
per-class accuracy, confusion matrix, event-vs-background precision/recall, and optionally one
attention-map PNG per video. Cross-modal models: A2V and V2A exact-match accuracy.
"""

import os

from absl import flags

from ave_tf.bin.common import fail, require_flags, run_main

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_string("data_dir", None, "Dataset directory (dataset.json + shards).")
    flags.DEFINE_string("model_dir", None, "A model_dir written by ave_train.")
    flags.DEFINE_string("split", "test", "Split to evaluate.")
    flags.DEFINE_string("output", None, "Write the metrics as JSON to this file.")
    flags.DEFINE_integer("batch_size", 64, "Videos per batch.")
    flags.DEFINE_string("plots_dir", None, "Write attention-map and confusion-matrix PNGs here.")
    flags.DEFINE_integer("num_plots", 8, "Videos whose attention maps are drawn.")
    flags.DEFINE_boolean("skip_corrupt", False, "Skip unreadable records instead of failing.")


def _evaluate_localization(model, dataset):
    from ave_tf.evaluation.localization_eval import evaluate_localization

    keep = FLAGS.num_plots if FLAGS.plots_dir else 0
    result, sample = evaluate_localization(model, dataset, keep_attention=keep)
    if FLAGS.plots_dir:
        _write_plots(result, sample)
    return result


def _write_plots(result, sample) -> None:
    from ave_tf.data.ave_metadata import class_names
    from ave_tf.evaluation.attention_plots import plot_attention_maps, plot_confusion_matrix

    os.makedirs(FLAGS.plots_dir, exist_ok=True)
    names = class_names()
    plot_confusion_matrix(
        result["confusion_matrix"], names, os.path.join(FLAGS.plots_dir, "confusion_matrix.png")
    )
    if sample is None:
        return
    for i, video_id in enumerate(sample.video_ids):
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in video_id)
        plot_attention_maps(
            sample.attention[i],
            sample.labels[i],
            sample.predictions[i],
            names,
            title=video_id,
            path=os.path.join(FLAGS.plots_dir, f"attention_{i:03d}_{safe}.png"),
        )


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
    require_flags("data_dir", "model_dir")
    import tensorflow as tf

    from ave_tf.data import pipeline
    from ave_tf.data.dataset_info import DatasetError
    from ave_tf.evaluation.report import summary_text, write_eval_json
    from ave_tf.training.model_io import load_trained_model
    from ave_tf.training.run_dir import RunDirError
    from ave_tf.training.tasks import describe_data_loss

    try:
        model, task, _ = load_trained_model(FLAGS.model_dir)
        config = pipeline.InputConfig(batch_size=FLAGS.batch_size, skip_corrupt=FLAGS.skip_corrupt)
        if FLAGS.skip_corrupt:
            from ave_tf.training.tasks import announce_skipped_records

            announce_skipped_records(FLAGS.data_dir, [FLAGS.split])
        if task == "cross_modal":
            from ave_tf.training.cross_modal_task import evaluate_cross_modal_split

            result = evaluate_cross_modal_split(model, FLAGS.data_dir, FLAGS.split, config)
        else:
            dataset = pipeline.make_dataset(FLAGS.data_dir, FLAGS.split, config)
            result = _evaluate_localization(model, dataset)
    except (DatasetError, RunDirError, ValueError, OSError) as e:
        fail(str(e))
    except tf.errors.DataLossError as e:
        fail(describe_data_loss(FLAGS.data_dir, e))

    extra = {"task": task, "split": FLAGS.split, "model_dir": FLAGS.model_dir}
    extra["data_dir"] = FLAGS.data_dir
    print(f"split {FLAGS.split}:\n" + summary_text(result), end="")
    if FLAGS.output:
        write_eval_json(FLAGS.output, result, extra)
        print(f"wrote {FLAGS.output}")


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
