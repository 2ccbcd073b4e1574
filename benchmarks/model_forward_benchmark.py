"""FLOPs and CPU/GPU throughput of one localization model (default: A+V-att, late DMRN).

  .venv/bin/python benchmarks/model_forward_benchmark.py
  .venv/bin/python benchmarks/model_forward_benchmark.py --fusion=concat --batch_size=64 --steps=20

Prints the analytic forward FLOPs per 1-s segment by layer group (the visual attention
projection U_v, 49 x 512 x 512 per segment, dominates), the FLOPs TensorFlow's profiler counts
in the traced forward graph, and the throughput (segments/s) of the traced forward pass and
of a traced training step (forward, backward, Adam) on random inputs, with the implied time
and TFLOP of one epoch of the AVE training split (3339 videos x 10 segments).
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from ave_tf.data import schema  # noqa: E402
from ave_tf.models.config import ModelConfig  # noqa: E402
from ave_tf.models.localization import build_localization_model  # noqa: E402
from ave_tf.models.temporal import temporal_output_width  # noqa: E402

TRAIN_SEGMENTS = 3339 * schema.NUM_SEGMENTS
TRAIN_FLOPS_FACTOR = 3  # backward ~ 2x forward


def _parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modality", default="av", choices=["audio", "visual", "av"])
    parser.add_argument("--no_attention", action="store_true")
    parser.add_argument("--fusion", default="dmrn")
    parser.add_argument("--fusion_stage", default="late")
    parser.add_argument("--temporal", default="lstm")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--time_steps", type=int, default=schema.NUM_SEGMENTS)
    parser.add_argument("--steps", type=int, default=10, help="Timed iterations.")
    parser.add_argument("--mixed_precision", default="", choices=["", "mixed_bfloat16"])
    parser.add_argument("--jit_compile", action="store_true", help="XLA-compile both functions.")
    return parser.parse_args()


def analytic_flops_per_segment(config: ModelConfig) -> dict[str, int]:
    """Forward multiply-add FLOPs (2 per MAC) of the dense parts, per segment, by group.

    Counts the matmuls of the attention, the LSTMs and the classifier; for the late fusion it
    counts concat/DMRN exactly and skips other fusions (a few 10^4, negligible). Elementwise
    ops (activations, softmax) are left out.
    """
    cells, channels, audio = schema.VISUAL_CELLS, schema.VISUAL_CHANNELS, schema.AUDIO_DIM
    d, k, hidden = config.attention_dim, config.attention_hidden_dim, config.hidden_size
    flops = {}
    if config.attention:
        flops["attention U_v (cells x 512 -> d)"] = 2 * cells * channels * d
        flops["attention W_v (cells x d -> k)"] = 2 * cells * d * k
        flops["attention U_a, W_a, W_f, weighted sum"] = (
            2 * audio * d + 2 * d * k + 2 * cells * k + 2 * cells * channels
        )
    elif config.modality != "audio":
        flops["visual average pooling"] = cells * channels
    directions = 2 if config.temporal == "bilstm" else 1

    def lstm(inputs):
        return directions * 2 * 4 * hidden * (inputs + hidden)

    if config.temporal != "ed_tcn":
        if config.modality in ("audio", "av"):
            flops["audio LSTM"] = lstm(audio)
        if config.modality in ("visual", "av"):
            flops["visual LSTM"] = lstm(channels)
    width = temporal_output_width(config)
    if config.modality == "av" and config.fusion_stage == "late":
        if config.fusion == "dmrn":
            flops["DMRN"] = config.dmrn_blocks * 2 * 2 * width * width
        width = 2 * width if config.fusion == "concat" else width
    flops["classifier"] = 2 * width * config.num_classes
    return flops


def profiler_flops(forward, inputs) -> int:
    """FLOPs TensorFlow's profiler counts in the traced forward graph (fixed shapes)."""
    graph = forward.get_concrete_function(inputs).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(graph, options=options).total_float_ops


def _time(function, inputs, steps):
    function(inputs)  # trace and warm up
    function(inputs)
    start = time.perf_counter()
    for _ in range(steps):
        result = function(inputs)
    keras.ops.convert_to_numpy(tf.nest.flatten(result)[0])
    return (time.perf_counter() - start) / steps


def main():
    args = _parse_args()
    if args.mixed_precision:
        keras.config.set_dtype_policy(args.mixed_precision)
    config = ModelConfig(
        modality=args.modality,
        attention=not args.no_attention and args.modality != "audio",
        fusion=args.fusion if args.modality == "av" else "concat",
        fusion_stage=args.fusion_stage if args.modality == "av" else "late",
        temporal=args.temporal,
    ).validate()
    keras.utils.set_random_seed(0)
    model = build_localization_model(config)
    rng = np.random.default_rng(0)
    batch, steps_t = args.batch_size, args.time_steps
    inputs = {
        "audio": tf.constant(rng.uniform(size=(batch, steps_t, schema.AUDIO_DIM)), tf.float32),
        "visual": tf.constant(rng.uniform(size=(batch, steps_t, *schema.VISUAL_SHAPE)), tf.float32),
    }
    labels = tf.constant(rng.integers(0, config.num_classes, size=(batch, steps_t)), tf.int32)
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=args.jit_compile)
    def forward(x):
        return model(x, training=False)["logits"]

    @tf.function(jit_compile=args.jit_compile)
    def train_step(x):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)["logits"]
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels, tf.cast(logits, tf.float32))
            )
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        return loss

    analytic = analytic_flops_per_segment(config)
    segments = batch * steps_t
    counted = profiler_flops(forward, inputs) / segments
    print(f"model {config.paper_name()}, {model.count_params():,} parameters")
    print(
        f"device: {tf.config.list_logical_devices()[-1].device_type}, policy: "
        f"{keras.config.dtype_policy().name}, batch {batch} x T={steps_t}"
    )
    print("analytic forward FLOPs per segment:")
    for name, value in analytic.items():
        print(f"  {name:42s} {value / 1e6:9.3f} M")
    total = sum(analytic.values())
    print(f"  {'total':42s} {total / 1e6:9.3f} M")
    print(f"profiler-counted forward FLOPs per segment: {counted / 1e6:.3f} M")
    epoch_tflop = TRAIN_FLOPS_FACTOR * total * TRAIN_SEGMENTS / 1e12
    print(f"training epoch (3 x forward x {TRAIN_SEGMENTS} segments): {epoch_tflop:.2f} TFLOP")
    forward_s = _time(forward, inputs, args.steps)
    train_s = _time(train_step, inputs, args.steps)
    print(f"forward: {segments / forward_s:,.0f} segments/s ({forward_s * 1e3:.1f} ms/batch)")
    print(
        f"train step: {segments / train_s:,.0f} segments/s ({train_s * 1e3:.1f} ms/batch), "
        f"one epoch ~ {TRAIN_SEGMENTS / segments * train_s:.1f} s"
    )


if __name__ == "__main__":
    main()
