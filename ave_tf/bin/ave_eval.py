"""ave_eval: evaluates a trained model on a split (default: test) with the paper's metric.

  ave_eval --data_dir=tfrecords/ave_synthetic --model_dir=runs/demo --output=eval.json

Localization models: pooled segment accuracy over the split (background is the 29th class),
per-class accuracy, confusion matrix, event-vs-background precision/recall, and optionally one
attention-map PNG per video. Cross-modal models: A2V and V2A exact-match accuracy.
"""

import os

from absl import flags

from ave_tf.experiments.cli import define_experiment_flags, experiment_from_flags
from ave_tf.utils.cli import fail, require_flags, run_main

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_string("data_dir", None, "Dataset directory (default: the one params.yaml names).")
    flags.DEFINE_string("model_dir", None, "A model_dir written by ave_train.")
    flags.DEFINE_string("split", "test", "Split to evaluate.")
    flags.DEFINE_string("output", None, "Write the metrics as JSON to this file.")
    flags.DEFINE_string("plots_dir", None, "Write attention-map and confusion-matrix PNGs here.")
    flags.DEFINE_integer("num_plots", 8, "Videos whose attention maps are drawn.")
    # The model is rebuilt from model_dir/params.yaml; these change the evaluation's reading.
    define_experiment_flags(("batch_size", "skip_corrupt"))


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
    require_flags("model_dir")
    import tensorflow as tf

    from ave_tf.data import pipeline
    from ave_tf.data.data_loss import (
        announce_skipped_records,
        describe_bad_record,
        describe_data_loss,
    )
    from ave_tf.data.dataset_info import DatasetError
    from ave_tf.evaluation.report import summary_text, write_eval_json
    from ave_tf.training.model_io import load_trained_experiment
    from ave_tf.training.run_dir import RunDirError
    from ave_tf.training.task_registry import make_task

    data_dir = FLAGS.data_dir
    try:
        model, trained = load_trained_experiment(FLAGS.model_dir)
        if FLAGS.experiment and FLAGS.experiment != trained.experiment:
            raise ValueError(
                f"--experiment={FLAGS.experiment}: {FLAGS.model_dir} was trained as "
                f"{trained.experiment or 'an unnamed experiment'}"
            )
        experiment = experiment_from_flags(base=trained)
        data_dir = data_dir or experiment.data.data_dir
        if not data_dir:
            raise ValueError("--data_dir is required (params.yaml names no data_dir)")
        config = pipeline.InputConfig(
            batch_size=experiment.trainer.batch_size, skip_corrupt=experiment.data.skip_corrupt
        )
        if experiment.data.skip_corrupt:
            announce_skipped_records(data_dir, [FLAGS.split])
        keep = FLAGS.num_plots if FLAGS.plots_dir else 0
        task = make_task(experiment)
        result, sample = task.evaluate(model, data_dir, FLAGS.split, config, keep_attention=keep)
        if FLAGS.plots_dir and "confusion_matrix" in result:
            _write_plots(result, sample)
    except (DatasetError, RunDirError, ValueError, OSError, LookupError) as e:
        fail(e)
    except tf.errors.DataLossError as e:
        fail(describe_data_loss(data_dir, e))
    except tf.errors.InvalidArgumentError as e:
        fail(describe_bad_record(data_dir, [FLAGS.split], e))

    extra = {"task": experiment.task.name, "experiment": experiment.experiment}
    extra.update({"split": FLAGS.split, "model_dir": FLAGS.model_dir, "data_dir": data_dir})
    print(f"split {FLAGS.split}:\n" + summary_text(result), end="")
    if FLAGS.output:
        write_eval_json(FLAGS.output, result, extra)
        print(f"wrote {FLAGS.output}")


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
