"""A+V-att training under KERAS_BACKEND=jax, without TensorFlow: s/epoch and test accuracy.

For a machine with a GPU and JAX but no TensorFlow (the device machine some tasks are lent):

  KERAS_BACKEND=jax python benchmarks/gpu_jax_train.py                     # full size, 30 epochs
  KERAS_BACKEND=jax python benchmarks/gpu_jax_train.py --fraction=0.05 --epochs=2   # smoke test

It generates the synthetic release in memory with the package's numpy generator (the real AVE
annotations and splits: 3339 / 402 / 402 videos at --fraction=1; --seed picks another world),
builds the `table1/av_att` model (A+V-att, concat fusion, the registered experiment's config) with
`build_localization_model`, trains it with Adam (the experiment's learning rate and batch size)
through a jitted JAX step, selects the epoch on validation accuracy and prints one JSON line:
device, s/epoch (training steps only, and whole epoch with validation), the best epoch and the
test accuracy there. Nothing is read from disk or the network; ave_tf's TensorFlow-only modules
are never imported (`--check_no_tensorflow` asserts it).
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=1.0, help="Share of each split.")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0, help="World and training seed.")
    parser.add_argument("--batch_size", type=int, default=0, help="0: the experiment's.")
    parser.add_argument("--check_no_tensorflow", action="store_true")
    parser.add_argument("--json", default="", help="Also write the result here.")
    return parser.parse_args()


def generate(fraction: float, seed: int) -> dict[str, tuple[np.ndarray, ...]]:
    """{split: (audio [N,10,128], visual [N,10,7,7,512], labels [N,10])} in float32."""
    from ave_tf.data import ave_metadata
    from ave_tf.data.synthetic import SyntheticGenerator
    from ave_tf.data.synthetic_config import SyntheticConfig
    from ave_tf.data.synthetic_splits import select_rows

    config = SyntheticConfig(seed=seed, fraction=fraction, full_scale=fraction >= 1.0)
    generator = SyntheticGenerator(config)
    fraction = config.effective_fraction
    annotations = ave_metadata.read_annotations()
    out = {}
    for split, order in ave_metadata.default_split_orders().items():
        rows = select_rows(order, split, fraction, seed)
        videos = [generator.annotated(annotations[int(r)]) for r in rows]
        out[split] = (
            np.stack([v.audio for v in videos]).astype(np.float32),
            np.stack([v.visual for v in videos]).astype(np.float32),
            np.stack([v.labels for v in videos]).astype(np.int32),
        )
    return out


def av_att_experiment():
    """The `table1/av_att` experiment, built here: the experiments package imports TensorFlow
    (the zoo's losses), which this machine lacks. tests/test_gpu_jax_script.py checks that it
    equals the registered one."""
    from ave_tf.models.config import ModelConfig
    from ave_tf.training.experiment_config import ExperimentConfig, TaskConfig

    return ExperimentConfig(
        task=TaskConfig(name="supervised"),
        model=ModelConfig(task="supervised", modality="av", attention=True),
    )


def main() -> None:
    args = _parse_args()
    import jax
    import keras

    from ave_tf.models.localization import build_localization_model

    start = time.perf_counter()
    data = generate(args.fraction, args.seed)
    generate_seconds = time.perf_counter() - start
    experiment = av_att_experiment()
    batch_size = args.batch_size or experiment.trainer.batch_size
    keras.utils.set_random_seed(args.seed)
    model = build_localization_model(experiment.model)
    optimizer = keras.optimizers.Adam(experiment.trainer.optimizer.learning_rate)
    optimizer.build(model.trainable_variables)

    def loss_fn(trainable, non_trainable, audio, visual, labels):
        logits, non_trainable = model.stateless_call(
            trainable, non_trainable, {"audio": audio, "visual": visual}, training=True
        )
        logits = logits["logits"] if isinstance(logits, dict) else logits
        log_probs = jax.nn.log_softmax(logits.astype("float32"), axis=-1)
        picked = jax.numpy.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]
        return -picked.mean(), non_trainable

    @jax.jit
    def train_step(state, audio, visual, labels):
        trainable, non_trainable, opt_vars = state
        (loss, non_trainable), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            trainable, non_trainable, audio, visual, labels
        )
        trainable, opt_vars = optimizer.stateless_apply(opt_vars, grads, trainable)
        return (trainable, non_trainable, opt_vars), loss

    @jax.jit
    def predict(trainable, non_trainable, audio, visual):
        outputs, _ = model.stateless_call(
            trainable, non_trainable, {"audio": audio, "visual": visual}, training=False
        )
        return outputs["logits"].argmax(-1)

    def accuracy(state, split):
        audio, visual, labels = data[split]
        correct = 0
        for i in range(0, len(labels), 256):
            got = predict(state[0], state[1], audio[i : i + 256], visual[i : i + 256])
            correct += int((np.asarray(got) == labels[i : i + 256]).sum())
        return correct / labels.size

    state = (
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in optimizer.variables],
    )
    audio, visual, labels = data["train"]
    rng = np.random.default_rng(args.seed)
    step_seconds, epoch_seconds, history = [], [], []
    best = (-1.0, 0, 0.0)
    for epoch in range(args.epochs):
        epoch_start = time.perf_counter()
        order = rng.permutation(len(labels))
        for i in range(0, len(order) - batch_size + 1, batch_size):  # whole batches: one trace
            index = np.sort(order[i : i + batch_size])
            state, loss = train_step(state, audio[index], visual[index], labels[index])
        loss.block_until_ready()
        step_seconds.append(time.perf_counter() - epoch_start)
        val = accuracy(state, "val")
        if val > best[0]:
            best = (val, epoch + 1, accuracy(state, "test"))
        epoch_seconds.append(time.perf_counter() - epoch_start)
        history.append({"epoch": epoch + 1, "loss": float(loss), "val_accuracy": val})
        print(json.dumps(history[-1]), flush=True)
    steady = step_seconds[1:] or step_seconds  # the first epoch includes compilation
    result = {
        "device": str(jax.devices()[0]),
        "backend": keras.backend.backend(),
        "train_videos": int(len(labels)),
        "batch_size": batch_size,
        "epochs": args.epochs,
        "generate_seconds": round(generate_seconds, 1),
        "train_seconds_per_epoch": round(float(np.median(steady)), 2),
        "first_epoch_seconds": round(step_seconds[0], 2),
        "epoch_seconds_with_validation": round(
            float(np.median(epoch_seconds[1:] or epoch_seconds)), 2
        ),
        "best_val_epoch": best[1],
        "best_val_accuracy": round(best[0], 4),
        "test_accuracy_at_best_val": round(best[2], 4),
        "tensorflow_imported": "tensorflow" in sys.modules,
    }
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
    if args.check_no_tensorflow and result["tensorflow_imported"]:
        raise SystemExit("tensorflow was imported")


if __name__ == "__main__":
    main()
