"""ave_train: trains an event localization (supervised/weak) or cross-modal model.

  ave_train --data_dir=tfrecords/ave_synthetic --model_dir=runs/av_att_dmrn \
      --modality=av --attention --fusion=dmrn --fusion_stage=late --epochs=30 --seed=0

Killed runs resume from their last checkpoint when started again with the same flags.
"""

from absl import flags

from ave_tf.bin.common import fail, require_flags, run_main

FLAGS = flags.FLAGS

FUSIONS = (
    "concat", "additive", "max", "gated", "bilinear", "gated_bilinear", "gmu", "mrn", "dmrn",
    "dmrfe",
)  # fmt: skip


def define_flags() -> None:
    flags.DEFINE_string("data_dir", None, "Dataset directory (dataset.json + shards).")
    flags.DEFINE_string("model_dir", None, "Where checkpoints, config and TensorBoard go.")
    flags.DEFINE_enum("task", "supervised", ["supervised", "weak", "cross_modal"], "Task.")
    # Model (localization).
    flags.DEFINE_enum("modality", "av", ["audio", "visual", "av"], "Input modalities.")
    flags.DEFINE_boolean("attention", True, "Audio-guided visual attention (needs audio).")
    flags.DEFINE_enum("fusion", "dmrn", FUSIONS, "Audio-visual fusion (Table 2).")
    flags.DEFINE_enum("fusion_stage", "late", ["early", "late", "decision"], "Fusion stage.")
    flags.DEFINE_enum("temporal", "lstm", ["lstm", "bilstm", "ed_tcn"], "Temporal model.")
    flags.DEFINE_boolean("bidirectional", False, "Shorthand for --temporal=bilstm.")
    flags.DEFINE_integer("hidden_size", 128, "LSTM hidden size (the paper: 128).")
    flags.DEFINE_integer("dmrn_blocks", 1, "Stacked DMRN/MRN residual blocks.")
    flags.DEFINE_integer(
        "attention_dim", 512, "Attention projection size d (eq. 4; 512 in the authors' code)."
    )
    flags.DEFINE_enum("mil_pooling", "mean", ["mean", "max"], "Weak task: MIL pooling (eq. 7).")
    flags.DEFINE_float("dropout", None, "Dropout rate (default: the model config's).")
    # Model (cross-modal).
    flags.DEFINE_enum("cross_modal_method", "avdln", ["avdln", "dcca"], "Cross-modal model.")
    flags.DEFINE_float("margin", 2.0, "Contrastive loss margin (eq. 10).")
    flags.DEFINE_string("negatives", None, "Negative pairs (default: the config's).")
    # Training.
    flags.DEFINE_integer("epochs", 30, "Total epochs.")
    flags.DEFINE_integer("batch_size", 64, "Videos per batch.")
    flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate.")
    flags.DEFINE_enum("lr_schedule", "step", ["constant", "step", "cosine"], "LR schedule.")
    flags.DEFINE_integer("lr_decay_epochs", 10, "Step schedule: epochs between decays.")
    flags.DEFINE_float("lr_decay_rate", 0.5, "Step schedule: decay factor.")
    flags.DEFINE_integer("seed", 0, "Seeds weights, data order and dropout.")
    flags.DEFINE_integer(
        "shuffle_buffer", 0, "Records held for shuffling (0: as many as --shuffle_buffer_mb holds)."
    )
    flags.DEFINE_integer("shuffle_buffer_mb", 256, "Memory budget of the shuffle buffer (MiB).")
    flags.DEFINE_integer(
        "range_records",
        4,
        "Training reads shards as ranges of this many records in random order (0: whole shards).",
    )
    flags.DEFINE_string("cache", "", "'' (stream), 'memory', or a cache file path.")
    flags.DEFINE_boolean("use_noisy", True, "Weak task: add train_noisy background videos.")
    flags.DEFINE_integer("max_steps_per_epoch", 0, "0 = full pass over the training split.")
    flags.DEFINE_string("val_split", "val", "Split used for model selection (never test).")
    flags.DEFINE_enum(
        "mixed_precision", "", ["", "mixed_bfloat16", "mixed_float16"], "Mixed precision."
    )
    flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"], "Strategy.")
    flags.DEFINE_integer("keep_checkpoints", 3, "Epoch checkpoints kept.")
    flags.DEFINE_integer("log_attention_videos", 4, "Validation videos drawn in TensorBoard.")
    flags.DEFINE_boolean("deterministic", True, "Reproducible ops and input order.")
    flags.DEFINE_boolean("skip_corrupt", False, "Skip unreadable records instead of failing.")
    flags.DEFINE_boolean("progress", True, "Show a progress bar.")


def model_config_from_flags():
    if FLAGS.task == "cross_modal":
        from ave_tf.models.cross_modal import CrossModalConfig

        values = {"method": FLAGS.cross_modal_method, "margin": FLAGS.margin}
        if FLAGS.negatives:
            values["negatives"] = FLAGS.negatives
        config = CrossModalConfig(**values)
    else:
        from ave_tf.models.config import ModelConfig

        # Fusion only exists for audio-visual models; single-modality models ignore its flags
        # (so the defaults, DMRN late fusion, do not make `--modality=audio` an error).
        av = FLAGS.modality == "av"
        values = dict(
            task=FLAGS.task,
            modality=FLAGS.modality,
            attention=FLAGS.attention and FLAGS.modality != "audio",
            fusion=FLAGS.fusion if av else "concat",
            fusion_stage=FLAGS.fusion_stage if av else "late",
            temporal="bilstm" if FLAGS.bidirectional else FLAGS.temporal,
            hidden_size=FLAGS.hidden_size,
            dmrn_blocks=FLAGS.dmrn_blocks,
            attention_dim=FLAGS.attention_dim,
            mil_pooling=FLAGS.mil_pooling,
        )
        if FLAGS.dropout is not None:
            values["dropout"] = FLAGS.dropout
        config = ModelConfig(**values)
    config.validate()
    return config


def train_config_from_flags():
    from ave_tf.training.train_config import TrainConfig

    config = TrainConfig(
        task=FLAGS.task,
        epochs=FLAGS.epochs,
        batch_size=FLAGS.batch_size,
        learning_rate=FLAGS.learning_rate,
        lr_schedule=FLAGS.lr_schedule,
        lr_decay_epochs=FLAGS.lr_decay_epochs,
        lr_decay_rate=FLAGS.lr_decay_rate,
        seed=FLAGS.seed,
        shuffle_buffer=FLAGS.shuffle_buffer,
        shuffle_buffer_mb=FLAGS.shuffle_buffer_mb,
        range_records=FLAGS.range_records,
        cache=FLAGS.cache,
        use_noisy=FLAGS.use_noisy,
        max_steps_per_epoch=FLAGS.max_steps_per_epoch,
        val_split=FLAGS.val_split,
        mixed_precision=FLAGS.mixed_precision,
        strategy=FLAGS.strategy,
        keep_checkpoints=FLAGS.keep_checkpoints,
        log_attention_videos=FLAGS.log_attention_videos,
        deterministic=FLAGS.deterministic,
        skip_corrupt=FLAGS.skip_corrupt,
        verbose=FLAGS.progress,
    )
    config.validate()
    return config


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
    require_flags("data_dir", "model_dir")
    import tensorflow as tf

    from ave_tf.data.ave_metadata import AnnotationError
    from ave_tf.data.dataset_info import DatasetError
    from ave_tf.training.run_dir import RunDirError
    from ave_tf.training.tasks import make_task
    from ave_tf.training.trainer import TrainingError, train
    from ave_tf.utils.metric_values import format_metric

    try:
        model_config = model_config_from_flags()
        train_config = train_config_from_flags()
        task = make_task(train_config, model_config, FLAGS.data_dir)
        run_config = {
            "task": train_config.task,
            "model": model_config.to_dict(),
            "train": train_config.to_dict(),
            "data": {"data_dir": FLAGS.data_dir},
        }
        if FLAGS.skip_corrupt:
            from ave_tf.data.dataset_info import load_dataset_info
            from ave_tf.training.tasks import announce_skipped_records

            available = load_dataset_info(FLAGS.data_dir).splits
            splits = task.train_splits(available)
            splits.append(task.validation_split(available, FLAGS.val_split))
            announce_skipped_records(FLAGS.data_dir, splits)
        result = train(task, train_config, FLAGS.data_dir, FLAGS.model_dir, run_config)
    except (DatasetError, RunDirError, TrainingError, AnnotationError, ValueError) as e:
        fail(str(e))
    except tf.errors.DataLossError as e:
        from ave_tf.training.tasks import describe_data_loss

        fail(describe_data_loss(FLAGS.data_dir, e))
    print(
        f"Trained {result.epochs_run} epoch(s) in {result.seconds:.1f}s; best epoch "
        f"{result.best_epoch} ({task.selection_metric}={format_metric(result.best_metric)}); "
        f"weights: {FLAGS.model_dir}/best.weights.h5"
    )


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
