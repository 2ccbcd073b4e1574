"""The training loop: tf.data -> tf.distribute -> Keras model, checkpoints, TensorBoard.

One epoch = one pass over the training split (or `max_steps_per_epoch` steps). After each
epoch the model is evaluated on the validation split; the best epoch's weights are written to
`best.weights.h5`, then a checkpoint (model, optimizer, epoch, best metric) is saved. A killed
run resumes from its last checkpoint and, with the same seed, continues exactly as if it had
never stopped: the data order of epoch e depends only on (seed, e).
"""

import concurrent.futures
import contextlib
import dataclasses
import errno
import math
import os
import shutil
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from ave_tf.data import pipeline
from ave_tf.data.dataset_info import DatasetError, load_dataset_info
from ave_tf.layers.epoch_switch import set_training_epoch
from ave_tf.training import run_dir, tensorboard_logging, workers
from ave_tf.training.experiment_config import ExperimentConfig
from ave_tf.training.task_registry import make_task
from ave_tf.training.torch_adam import TorchAdam, lstm_bias_paths
from ave_tf.utils import file_io
from ave_tf.utils.metric_values import format_metric, is_defined, ratio


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss became NaN); the last good checkpoint is kept."""


def make_strategy(name: str) -> tf.distribute.Strategy:
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


@contextlib.contextmanager
def dtype_policy(name: str):
    """Sets a Keras mixed-precision policy for the duration of training."""
    previous = keras.config.dtype_policy()
    if name:
        keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch) % (2**31 - 1)


@dataclasses.dataclass
class TrainResult:
    epochs_run: int
    best_epoch: int  # -1 when no epoch had a defined selection metric
    best_metric: float | None
    last_metrics: dict
    seconds: float


@dataclasses.dataclass(frozen=True)
class _RunDirs:
    """model_dir: the run (the chief's checkpoints are restored from it); out: where this
    process writes (model_dir itself, except on the other workers of a multi-worker run)."""

    model_dir: str
    out: str
    role: workers.WorkerRole


def train(
    experiment: ExperimentConfig, model_dir: str, task=None, overwrite: bool = False
) -> TrainResult:
    """Trains an experiment into `model_dir` (params.yaml written first); returns TrainResult.

    Args:
      experiment: the resolved config; `experiment.data.data_dir` is read.
      model_dir: where params.yaml, checkpoints, the selected weights and logs go; a run of
        the same configuration there resumes.
      task: the task object (default: the registered task `experiment.task.name`).
      overwrite: replace a previous run of another configuration in model_dir.

    Raises DatasetError / RunDirError / TrainingError with one-line messages.
    """
    experiment.validate()
    task = task or make_task(experiment)
    data_dir = experiment.data.data_dir
    if not data_dir:
        raise DatasetError("data.data_dir is empty (pass --data_dir)")
    info = load_dataset_info(data_dir)
    val_split = task.validation_split(info.splits, experiment.task.val_split)
    for split in task.train_splits(info.splits) + [val_split]:
        if split not in info.splits:
            raise DatasetError(f"{data_dir}: has no {split!r} split (has {sorted(info.splits)})")
    role = workers.worker_role(experiment.trainer.strategy)
    # Only the chief writes model_dir; the other workers of a multi-worker run write the same
    # files into a temporary directory (see ave_tf/training/workers.py).
    with workers.write_dir(model_dir, role) as out_dir:
        resumed = run_dir.prepare_run_dir(out_dir, experiment, overwrite=overwrite)
        if experiment.trainer.deterministic:
            tf.config.experimental.enable_op_determinism()
        keras.utils.set_random_seed(experiment.trainer.seed)

        run_dir.remove_temporary_files(out_dir)  # left by a run that was killed (SIGKILL)
        try:
            with dtype_policy(experiment.trainer.mixed_precision):
                return _train(
                    task, experiment, _RunDirs(model_dir, out_dir, role), info, resumed, val_split
                )
        finally:  # an error, Ctrl-C or SIGTERM (see ave_tf.utils.cli) mid-save
            run_dir.remove_temporary_files(out_dir)


def _make_optimizer(experiment: ExperimentConfig, model=None):
    optimizer = experiment.trainer.optimizer
    if optimizer.name != "adam":
        raise ValueError(f"trainer.optimizer.name={optimizer.name!r}: not supported")
    options = dict(
        learning_rate=optimizer.learning_rate,
        epsilon=optimizer.epsilon,
        global_clipnorm=optimizer.global_clipnorm or None,
    )
    if not optimizer.pytorch:
        return keras.optimizers.Adam(**options)
    if model is None:
        raise ValueError("trainer.optimizer.pytorch needs the model (its LSTMs)")
    return TorchAdam(lstm_bias_paths(model), **options)


def _train(task, experiment, dirs, info, resumed, val_split) -> TrainResult:
    cfg, data = experiment.trainer, experiment.data
    model_dir = dirs.out
    data_dir = data.data_dir
    strategy = make_strategy(cfg.strategy)
    with strategy.scope():
        model = task.build_model()
        optimizer = _make_optimizer(experiment, model)
        if cfg.mixed_precision == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        optimizer.build(model.trainable_variables)
        epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        sign = 1.0 if task.selection_mode == "max" else -1.0
        best_var = tf.Variable(-math.inf, dtype=tf.float64, trainable=False, name="best")
        best_epoch_var = tf.Variable(-1, dtype=tf.int64, trainable=False, name="best_epoch")

    # Keras 3 models are not trackable children of a tf.train.Checkpoint: track every model
    # variable (non-trainable ones too: seed-generator states, CCA projections) explicitly.
    checkpoint = tf.train.Checkpoint(
        model_variables=list(model.variables),
        optimizer=optimizer,
        epoch=epoch_var,
        best=best_var,
        best_epoch=best_epoch_var,
    )
    manager = tf.train.CheckpointManager(
        checkpoint, os.path.join(model_dir, run_dir.CHECKPOINT_DIR), cfg.keep_checkpoints
    )
    # Every worker resumes from the chief's checkpoint, once the chief has prepared model_dir.
    workers.barrier(strategy, dirs.role)
    latest = tf.train.latest_checkpoint(os.path.join(dirs.model_dir, run_dir.CHECKPOINT_DIR))
    if latest:
        checkpoint.restore(latest).assert_existing_objects_matched()
        print(f"Resuming from {latest} (epoch {int(epoch_var.numpy())})")
    elif resumed:
        print(f"{model_dir}: same configuration, no checkpoint yet: starting from epoch 0")
    run_dir.truncate_metrics(model_dir, int(epoch_var.numpy()))

    train_files, recorded = [], []
    for split in task.train_splits(info.splits):
        files = pipeline.list_shards(data_dir, split)
        train_files += files
        counts = pipeline.recorded_shard_counts(info, split, files)
        recorded = None if counts is None or recorded is None else recorded + counts
    train_videos = sum(info.splits[s]["videos"] for s in task.train_splits(info.splits))
    # A task may train on something other than batches of videos (e.g. the authors' shuffled
    # segment pairs): it reads it once, the trainer asks it for each epoch's batches.
    custom_input = getattr(task, "train_input", lambda *_: None)(
        data_dir, task.train_splits(info.splits)
    )
    examples = train_videos if custom_input is None else custom_input.size
    unit = "videos" if custom_input is None else "pairs"
    if data.drop_remainder:
        steps = examples // cfg.batch_size
        if not steps:
            raise TrainingError(
                f"data.drop_remainder: the training split of {data_dir} has {examples} {unit}, "
                f"fewer than one batch (trainer.batch_size={cfg.batch_size}): lower it or set "
                "data.drop_remainder=false"
            )
    else:
        steps = math.ceil(examples / cfg.batch_size)
    if cfg.max_steps_per_epoch:
        steps = min(steps, cfg.max_steps_per_epoch)
    # Record counts and the shuffle buffer are planned once; every epoch reuses them.
    plan = None
    if custom_input is None:
        plan = pipeline.shuffle_plan(
            train_files, _train_input_config(experiment, 0), info.compression, recorded
        )
        whole = data.cache if data.cache in ("memory", pipeline.PARSED) else ""
        print(f"Training input: {plan.describe(cached=whole)}", flush=True)
    else:
        print(f"Training input: {examples} {unit}, {steps} steps per epoch", flush=True)
    val_config = pipeline.InputConfig(
        batch_size=cfg.batch_size, deterministic=True, skip_corrupt=data.skip_corrupt
    )
    val_records = pipeline.records_dataset(
        pipeline.list_shards(data_dir, val_split), val_config, info.compression
    )
    parsed = data.cache == pipeline.PARSED
    if parsed:  # validated every few epochs: its parse is worth keeping too
        val_dataset = pipeline.batched_videos(
            pipeline.parsed_videos(val_records).cache(), val_config
        )
    else:
        val_dataset = pipeline.batched_features(val_records, val_config)
    # A cache belongs to one dataset object: build the cached records once, reshuffle on top.
    cached_records = None
    if data.cache and custom_input is None:
        cached_records = pipeline.records_dataset(
            train_files, _train_input_config(experiment, 0), info.compression, plan.shard_records
        )
        if parsed:
            cached_records = pipeline.parsed_videos(cached_records).cache()

    def epoch_batches(epoch):
        input_config = _train_input_config(experiment, epoch)
        if custom_input is not None:
            dataset = custom_input.dataset(cfg.batch_size, input_config.seed).take(steps)
            return _EpochInput(_distribute(strategy, dataset))
        records = cached_records
        if records is None:
            records = pipeline.records_dataset(
                train_files, input_config, info.compression, plan.shard_records
            )
        # A memory cache already holds the split: a buffer of all of it shares those tensors.
        buffer = plan.records if data.cache in ("memory", pipeline.PARSED) else plan.buffer_records
        batched = pipeline.batched_videos if parsed else pipeline.batched_features
        dataset = batched(records, input_config, buffer)
        dataset = dataset.map(task.select, num_parallel_calls=tf.data.AUTOTUNE).take(steps)
        # No autotuning model thread: deleting an epoch's iterator waits for that thread's
        # current optimization pass, which took 15-40 s on full-size data (epochs 2+, every
        # epoch); without it the parallel stages use every core and the steps run as fast.
        options = tf.data.Options()
        options.autotune.enabled = False
        dataset = dataset.with_options(options)
        return _EpochInput(_distribute(strategy, dataset))

    train_step = _make_train_step(task, model, optimizer, strategy)
    logger = tensorboard_logging.TrainLogger(model_dir)
    start = time.time()
    last_metrics: dict = {}
    first_epoch = int(epoch_var.numpy())
    next_input = epoch_batches(first_epoch) if first_epoch < cfg.epochs else None
    per_step_schedule = cfg.schedule.name == "step" and cfg.schedule.decay_steps > 0
    checkpoint_seconds = None  # the last save's duration, reported in the next metrics line
    for epoch in range(first_epoch, cfg.epochs):
        learning_rate = experiment.learning_rate_at(epoch, int(optimizer.iterations.numpy()))
        optimizer.learning_rate.assign(learning_rate)
        set_training_epoch(model, epoch, cfg.epochs)  # branches their code turns on mid-run
        batches, next_input = next_input, None

        if cfg.verbose:
            print(f"Epoch {epoch + 1}/{cfg.epochs}")
        progbar = keras.utils.Progbar(steps, verbose=1 if cfg.verbose else 0)
        loss_sum = correct = count = 0.0
        epoch_start = time.time()
        # Time spent waiting for the input pipeline (0 when it keeps up with the steps).
        input_wait, steps_run = 0.0, 0
        for step in range(steps):
            wait_start = time.time()
            batch = batches.next()
            input_wait += time.time() - wait_start
            if batch is None:
                break
            steps_run += 1
            if per_step_schedule:  # a function of the optimizer's step count: resumes exactly
                learning_rate = experiment.learning_rate_at(epoch, int(optimizer.iterations))
                optimizer.learning_rate.assign(learning_rate)
            loss, batch_correct, batch_count = (float(x) for x in train_step(batch))
            if not math.isfinite(loss):
                raise TrainingError(
                    f"loss is {loss} at epoch {epoch + 1} step {step + 1}; stopped, the last "
                    f"good checkpoint ({manager.latest_checkpoint or 'none'}) is kept"
                )
            loss_sum += loss
            correct += batch_correct
            count += batch_count
            progbar.update(step + 1, _progress_values(loss, batch_correct, batch_count))
        epoch_seconds = time.time() - epoch_start
        train_metrics = {
            "loss": ratio(loss_sum, steps_run),
            "accuracy": ratio(correct, count),
            "learning_rate": learning_rate,
            "seconds": epoch_seconds,
            "input_wait_seconds": input_wait,
            f"{unit}_per_second": ratio(min(steps * cfg.batch_size, examples), epoch_seconds),
        }

        # Where the epoch's time outside the training steps goes (metrics.jsonl "overhead").
        phases = _PhaseTimer()
        with phases("release_input"):  # tf.data joins the epoch's reader and parser threads
            del batches
        # Every n-th epoch from the first, and always the last: a shortened recipe (fewer
        # epochs than n divides) still selects among the weights it trained.
        validated = epoch % cfg.validate_every == 0 or epoch + 1 == cfg.epochs
        val_metrics, sample = {}, None
        if validated:
            with phases("validation"):
                val_metrics, sample = task.validate(
                    model, val_dataset, keep_attention=cfg.log_attention_videos
                )
        # Started after validation, not before: both pipelines at once cost ~300 MB of peak RSS.
        if epoch + 1 < cfg.epochs:  # its shuffle buffer fills during checkpointing and logging
            with phases("next_input"):
                next_input = epoch_batches(epoch + 1)
        selected = val_metrics.get(task.selection_metric.removeprefix("val_"))
        # Undefined (e.g. an unlabeled validation split): never the best epoch, training goes on.
        improved = is_defined(selected) and sign * selected > float(best_var.numpy())
        if improved:
            with phases("best_weights"):
                _save_weights_atomic(model, run_dir.best_weights_path(model_dir))
            best_var.assign(sign * selected)
            best_epoch_var.assign(epoch + 1)
            run_dir.write_best_info(model_dir, epoch + 1, task.selection_metric, selected)
        with phases("tensorboard"):
            logger.log_epoch(epoch + 1, train_metrics, val_metrics, sample)
        last_metrics = {
            "epoch": epoch + 1,
            "train": tensorboard_logging.scalar_metrics(train_metrics),
            "val": tensorboard_logging.scalar_metrics(val_metrics),
            # The checkpoint follows this line; the previous epoch's save time is given here.
            "overhead": phases.seconds(checkpoint=checkpoint_seconds),
        }
        # Metrics before the checkpoint: a kill in between redoes the epoch, whose line the
        # resumed run replaces (truncate_metrics), rather than losing it.
        run_dir.append_metrics(model_dir, last_metrics)
        epoch_var.assign(epoch + 1)
        save_start = time.time()
        manager.save(checkpoint_number=epoch + 1)
        checkpoint_seconds = time.time() - save_start
        if cfg.verbose and validated:
            print(
                f"  val {task.selection_metric}={format_metric(selected)}"
                + (" (best)" if improved else "")
                + f", {format_metric(train_metrics[f'{unit}_per_second'], 0)} {unit}/s"
            )
    logger.close()
    best_epoch = int(best_epoch_var.numpy())
    best = float(best_var.numpy()) * sign if best_epoch > 0 else None
    return TrainResult(
        epochs_run=cfg.epochs - first_epoch,
        best_epoch=best_epoch,
        best_metric=best,
        last_metrics=last_metrics,
        seconds=time.time() - start,
    )


class _PhaseTimer:
    """Seconds per named phase of one epoch's bookkeeping: `with timer("validation"): ...`."""

    def __init__(self):
        self._seconds: dict = {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self._seconds[name] = self._seconds.get(name, 0.0) + time.perf_counter() - start

    def seconds(self, **extra) -> dict:
        """{phase}_seconds for the timed phases and the given extra ones (None: not measured)."""
        timed = {**self._seconds, **extra}
        return {
            f"{name}_seconds": None if value is None else round(value, 4)
            for name, value in timed.items()
        }


def _train_input_config(experiment: ExperimentConfig, epoch: int) -> pipeline.InputConfig:
    data, trainer = experiment.data, experiment.trainer
    return pipeline.InputConfig(
        batch_size=trainer.batch_size,
        shuffle=True,
        shuffle_buffer=data.shuffle_buffer,
        shuffle_buffer_mb=data.shuffle_buffer_mb,
        range_records=data.range_records,
        seed=_epoch_seed(trainer.seed, epoch),
        cache=data.cache,
        deterministic=trainer.deterministic,
        skip_corrupt=data.skip_corrupt,
        drop_remainder=data.drop_remainder,
    )


def _distribute(strategy: tf.distribute.Strategy, dataset: tf.data.Dataset):
    """Each replica's share of every global batch.

    Every worker reads the whole split in the same seeded order and keeps its slice of each
    global batch (DATA sharding), so the batches, hence the run, are one worker's. Sharding by
    file would give each worker other records (and the ranges read in random order name no
    file list to shard); the price is that every worker reads and parses every record.
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))


class _EpochInput:
    """One epoch's batches, the first one fetched by a background thread from creation on.

    Filling the shuffle buffer (hundreds of MB) then overlaps the previous epoch's checkpoint
    and logging instead of stalling the first step. Errors (e.g. a corrupt shard) are
    raised by `next()` in the caller's thread, as a plain iterator would.
    """

    def __init__(self, dataset):
        self._iterator = iter(dataset)
        executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="first-batch")
        self._first = executor.submit(next, self._iterator, None)
        executor.shutdown(wait=False)

    def next(self):
        """The next batch, or None at the end of the epoch."""
        if self._first is not None:
            first, self._first = self._first, None
            return first.result()
        return next(self._iterator, None)


def _progress_values(loss: float, correct: float, count: float) -> list:
    accuracy = ratio(correct, count)  # a batch without labels has no accuracy to show
    return [("loss", loss)] + ([("acc", accuracy)] if accuracy is not None else [])


def _itemsize(dtype) -> int:
    try:
        return np.dtype(str(dtype)).itemsize
    except TypeError:  # e.g. bfloat16, which numpy does not know
        return 4


def _check_free_space(model, path: str) -> None:
    """Refuses to start an h5 file the disk cannot hold: HDF5 failing mid-write on a full
    disk leaves objects that print tracebacks, or crash the process, when freed."""
    needed = sum(math.prod(w.shape) * _itemsize(w.dtype) for w in model.weights)
    needed += 2048 * len(model.weights) + (64 << 10)  # HDF5 headers, generously
    # Keras writes a remote file locally first (a temporary directory), then copies it.
    local_dir = tempfile.gettempdir() if file_io.is_remote(path) else os.path.dirname(path)
    free = shutil.disk_usage(os.path.abspath(local_dir)).free
    if free < needed:
        raise OSError(
            errno.ENOSPC,
            f"No space left on device ({needed / 2**20:.1f} MiB needed, {free / 2**20:.1f} free)",
            path,
        )


def _save_weights_atomic(model, path: str) -> None:
    _check_free_space(model, path)
    if file_io.is_remote(path):  # Keras uploads the finished local file: published whole
        model.save_weights(path, overwrite=True)
        return
    tmp = os.path.join(os.path.dirname(path), ".tmp-" + os.path.basename(path))
    try:
        model.save_weights(tmp, overwrite=True)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _make_train_step(task, model, optimizer, strategy):
    scale_loss = getattr(optimizer, "scale_loss", None)

    def replica_step(batch):
        with tf.GradientTape() as tape:
            outputs = model(task.model_inputs(batch), training=True)
            loss, correct, count = task.loss_and_metrics(batch, outputs)
            scaled = scale_loss(loss) if scale_loss is not None else loss
        gradients = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss, correct, count

    @tf.function(reduce_retracing=True)
    def train_step(batch):
        loss, correct, count = strategy.run(replica_step, args=(batch,))
        reduce = lambda x: strategy.reduce(tf.distribute.ReduceOp.SUM, x, axis=None)  # noqa: E731
        return reduce(loss), reduce(correct), reduce(count)

    return train_step
