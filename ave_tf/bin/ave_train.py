"""ave_train: trains a registered experiment (supervised/weak localization, cross-modal, ...).

  ave_train --data_dir=tfrecords/ave_synthetic --model_dir=runs/av_att_dmrn \
      --experiment=table2/late/dmrn --params_override=trainer.epochs=30 --seed=0

The resolved config is written to `model_dir/params.yaml` first; `--config_file` of that file
reproduces the run. Killed runs resume from their last checkpoint when started again with the
same configuration; another configuration in the same model_dir is refused (or, with
--overwrite, replaces the previous run) unless the previous run failed before finishing an epoch.
Errors are one line, exit code 2 (see ave_tf.utils.cli); SIGTERM and Ctrl-C remove temporary
files before exiting, and a killed run's are removed by the next start.
"""

from absl import flags

from ave_tf.experiments.cli import SHORTCUTS, define_experiment_flags, experiment_from_flags
from ave_tf.utils.cli import fail, require_flags, run_main

FLAGS = flags.FLAGS

_TRAIN_SHORTCUTS = tuple(s.flag for s in SHORTCUTS if not s.path.startswith("export."))


def define_flags() -> None:
    flags.DEFINE_string("data_dir", None, "Dataset directory (dataset.json + shards).")
    flags.DEFINE_string("model_dir", None, "Where params.yaml, checkpoints and TensorBoard go.")
    flags.DEFINE_bool("overwrite", False, "Replace a previous run of another config in model_dir.")
    define_experiment_flags(_TRAIN_SHORTCUTS)


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
    require_flags("data_dir", "model_dir")
    import tensorflow as tf

    from ave_tf.data.ave_metadata import AnnotationError
    from ave_tf.data.data_loss import (
        announce_skipped_records,
        describe_bad_record,
        describe_data_loss,
    )
    from ave_tf.data.dataset_info import DatasetError, load_dataset_info
    from ave_tf.training.run_dir import RunDirError
    from ave_tf.training.task_registry import make_task
    from ave_tf.training.trainer import TrainingError, train
    from ave_tf.utils.metric_values import format_metric

    def splits_read():
        available = load_dataset_info(FLAGS.data_dir).splits
        splits = task.train_splits(available)
        return splits + [task.validation_split(available, experiment.task.val_split)]

    try:
        experiment = experiment_from_flags()
        experiment = experiment.override({"data": {"data_dir": FLAGS.data_dir}})
        task = make_task(experiment)
        if experiment.data.skip_corrupt:
            announce_skipped_records(FLAGS.data_dir, splits_read())
        result = train(experiment, FLAGS.model_dir, task=task, overwrite=FLAGS.overwrite)
    except (DatasetError, RunDirError, TrainingError, AnnotationError, LookupError) as e:
        fail(str(e.args[0]) if isinstance(e, LookupError) and e.args else str(e))
    except (ValueError, ImportError) as e:
        fail(str(e))
    except tf.errors.DataLossError as e:
        fail(describe_data_loss(FLAGS.data_dir, e))
    except tf.errors.InvalidArgumentError as e:
        fail(describe_bad_record(FLAGS.data_dir, splits_read(), e))
    print(
        f"Trained {experiment.experiment or 'the experiment'} for {result.epochs_run} epoch(s) "
        f"in {result.seconds:.1f}s; best epoch {result.best_epoch} ({task.selection_metric}="
        f"{format_metric(result.best_metric)}); weights: {FLAGS.model_dir}/best.weights.h5"
    )


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
