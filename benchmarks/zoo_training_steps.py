"""Zoo training steps, ours against the authors' code: same start, same batches, same updates?

The forward passes and losses match theirs to 1e-5 (tests/test_zoo_cmbs.py,
tests/test_zoo_cace_net.py); this checks what those fixtures cannot: the update rule of the
`cmbs` or `cace_net` recipe (its optimizer, epsilon, global-norm clipping, learning rate, the
loss's reduction, and for CACE-Net the contrastive term's gradient) against their
supv_main.py's train_epoch (torch.optim.Adam, clip_grad_norm_(0.5), float64). Dropout is off on
both sides (their eval mode, our training=False) so the two runs are deterministic and
comparable step by step:

  .venv-torch/bin/python benchmarks/zoo_training_steps.py --model=cmbs --side=theirs \
      --repo=PATH/CMBS --work=/tmp/cmbs_steps.npz
  .venv/bin/python benchmarks/zoo_training_steps.py --model=cmbs --side=ours \
      --work=/tmp/cmbs_steps.npz

(`--model=cace_net --repo=PATH/CACE-Net`: their run_supp.sh model, Co-Guide, psai 0.3,
Lambda 0.6, its contrastive switch on as after their first n_epoch / 8 epochs, and the
contrastive term in the loss; `--switch_off` for the first epochs. The contrastive key's noise
is zero on both sides, their `data_augmentation` patched to the identity.)

Theirs starts from PyTorch's own initialization (seeded) and writes its initial state dict,
the seeded batches (AVE-shaped: one class per video, a contiguous event, background elsewhere)
and per step the loss and the global gradient norm before clipping. Ours loads that state dict
(`load_cmbs_torch_weights`, `load_cace_net_torch_weights`), trains on the same batches with the
recipe's optimizer and loss, and prints both trajectories with their relative difference.
Theirs runs in float64 as their script does, ours in float32: expect ~1e-6 relative at the
start, growing slowly with the steps. `--keras_adam` trains ours with Keras' Adam instead
(`trainer.optimizer.pytorch=false`), the recipes' optimizer before TorchAdam.
Not part of ave_tf or its tests: PyTorch is never a dependency.
"""

import argparse
import dataclasses
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

CONFIG = dict(video_inputdim=512, audio_inputdim=128, d_model=256, alpha=0.1, gamma=0.3, beta=0.4)
LEARNING_RATE, CLIP = 7e-4, 0.5  # supv_train.sh (CMBS), run_supp.sh (CACE-Net)


def seeded_batches(steps: int, batch: int, seed: int) -> dict:
    """ReLU'd Gaussian features and AVE-like labels: a contiguous event of one class."""
    rng = np.random.default_rng(seed)
    audio = np.maximum(rng.normal(0.3, 1.0, (steps, batch, 10, 128)), 0)
    visual = np.maximum(rng.normal(0.0, 1.0, (steps, batch, 10, 7, 7, 512)), 0)
    labels = np.full((steps, batch, 10), 28, np.int64)
    for step in range(steps):
        for row in range(batch):
            start = rng.integers(0, 10)
            end = rng.integers(start + 1, 11)
            labels[step, row, start:end] = rng.integers(0, 28)
    return dict(audio=audio.astype(np.float32), visual=visual.astype(np.float32), labels=labels)


def _their_model_and_loss(args):
    """Their model (seeded PyTorch init) and a loss(model outputs, labels) of their train_epoch."""
    import torch
    from make_zoo_fixtures_cace_net import OPTIONS, _their_loss, _their_module

    torch.nn.Module.cuda = lambda self, *a, **k: self
    torch.Tensor.cuda = lambda self, *a, **k: self
    if args.model == "cmbs":
        sys.path.insert(0, os.path.abspath(args.repo))
        from model.main_model import supv_main_model

        torch.manual_seed(args.seed)
        # CMBS's train_epoch has CACE-Net's four terms, line for line, and no contrastive one.
        model = supv_main_model(CONFIG)
        return model, lambda out, labels: _their_loss(out, None, None, labels, contrastive=False)
    main_model = _their_module(args.repo)
    main_model.SupvLocalizeModule.data_augmentation = lambda self, x, *a, **k: x
    torch.manual_seed(args.seed)
    model = main_model.supv_main_model(CONFIG, **OPTIONS)
    model.contrastive_switch = not args.switch_off
    switch = model.contrastive_switch  # their train_epoch adds the term from the same epoch on
    return model, lambda out, labels: _their_loss(out[:4], out[4], out[5], labels, switch)


def run_theirs(args):
    import torch

    model, their_loss = _their_model_and_loss(args)
    state = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    dtype = torch.float32 if args.float32 else torch.float64  # their train_epoch: float64
    model.to(dtype).eval()  # eval: dropout off
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    data = seeded_batches(args.steps, args.batch, args.seed)
    losses, norms, single_bias = [], [], []
    for step in range(args.steps):
        visual = torch.from_numpy(data["visual"][step]).to(dtype)
        audio = torch.from_numpy(data["audio"][step]).to(dtype)
        loss = their_loss(model(visual, audio), data["labels"][step])
        loss.backward()
        # PyTorch's LSTMs add two biases (bias_ih + bias_hh) where Keras has one: both get the
        # same gradient, so their norm counts it twice and Adam moves the sum twice as far.
        hh = [p.grad for n, p in model.named_parameters() if "bias_hh" in n]
        single_bias.append(float(sum((g**2).sum() for g in hh)))
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)))
        single_bias[-1] = (norms[-1] ** 2 - single_bias[-1]) ** 0.5
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        print(f"theirs step {step}: loss {losses[-1]:.6f} grad norm {norms[-1]:.6f}", flush=True)
    state_arrays = {f"state/{k}": v for k, v in state.items()}
    final = {f"final/{k}": v.detach().numpy() for k, v in model.state_dict().items()}
    np.savez(
        args.work, **data, **state_arrays, **final, losses=np.array(losses), norms=np.array(norms),
        norms_single_bias=np.array(single_bias), state_keys=np.array(list(state)),
        model=np.array(args.model), switch_off=np.array(args.switch_off),
    )  # fmt: skip


def _our_builder(name: str, config):
    """(build(), load(model, state dict)) for zoo model `name`, dropout off and no key noise."""
    if name == "cmbs":
        from ave_tf.models.zoo.cmbs import build_cmbs_model
        from ave_tf.models.zoo.cmbs_torch_weights import load_cmbs_torch_weights

        return lambda: build_cmbs_model(config, use_cudnn=False), load_cmbs_torch_weights
    from ave_tf.models.zoo.cace_net import build_cace_net_model
    from ave_tf.models.zoo.cace_net_torch_weights import load_cace_net_torch_weights

    config = dataclasses.replace(config, key_noise=0.0)  # theirs patched to add none
    return lambda: build_cace_net_model(config, use_cudnn=False), load_cace_net_torch_weights


def run_ours(args):
    import tensorflow as tf

    from ave_tf.experiments import get_experiment
    from ave_tf.layers.epoch_switch import set_training_epoch
    from ave_tf.training.losses import get_loss
    from ave_tf.training.trainer import _make_optimizer
    from ave_tf.utils import hyperparams

    saved = np.load(args.work)
    if str(saved["model"]) != args.model or bool(saved["switch_off"]) != args.switch_off:
        raise SystemExit(f"{args.work}: written for --model={saved['model']} "
                         f"--switch_off={bool(saved['switch_off'])}; run theirs again")  # fmt: skip
    state = {str(k): saved[f"state/{k}"] for k in saved["state_keys"]}
    experiment = get_experiment(args.model)
    if args.keras_adam:
        override = "trainer.optimizer.pytorch=false"
        experiment = hyperparams.override(experiment, hyperparams.parse_override(override))
    build, load = _our_builder(args.model, experiment.model)
    model = build()
    load(model, state)
    set_training_epoch(model, 0 if args.switch_off else 199, 200)  # their epoch 1 or 200 of 200
    optimizer = _make_optimizer(experiment, model)
    loss_fn = get_loss(experiment.task.loss)
    optimizer.build(model.trainable_variables)

    @tf.function
    def step(audio, visual, labels):
        batch = {
            "labels": labels,
            "mask": tf.ones_like(labels, tf.float32),
            "video_label": tf.zeros_like(labels[:, 0]),
        }
        with tf.GradientTape() as tape:
            outputs = model({"audio": audio, "visual": visual}, training=False)
            total, count = loss_fn("supervised", batch, outputs)
            loss = total / count
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss, tf.linalg.global_norm(gradients)

    theirs_loss, theirs_norm = saved["losses"], saved["norms_single_bias"]
    print(f"{type(optimizer).__name__}: learning rate {float(optimizer.learning_rate):g}, "
          f"epsilon {optimizer.epsilon:g}")  # fmt: skip
    print("grad norm: theirs counting each LSTM's bias once (bias_ih + bias_hh is one of ours)")
    print("| step | loss theirs | loss ours | rel. diff | grad norm theirs | ours | rel. diff |")
    print("|---|---|---|---|---|---|---|")
    worst = 0.0
    for i in range(len(theirs_loss)):
        loss, norm = step(
            tf.constant(saved["audio"][i]), tf.constant(saved["visual"][i]),
            tf.constant(saved["labels"][i].astype(np.int32)),
        )  # fmt: skip
        loss, norm = float(loss), float(norm)
        d_loss = abs(loss - theirs_loss[i]) / abs(theirs_loss[i])
        d_norm = abs(norm - theirs_norm[i]) / abs(theirs_norm[i])
        worst = max(worst, d_loss)
        print(f"| {i} | {theirs_loss[i]:.6f} | {loss:.6f} | {d_loss:.1e} "
              f"| {theirs_norm[i]:.5f} | {norm:.5f} | {d_norm:.1e} |")  # fmt: skip
    print(f"largest relative loss difference over {len(theirs_loss)} steps: {worst:.1e}")
    # Where the weights went: theirs after the steps, loaded as ours loads a state dict.
    start, theirs = build(), build()
    load(start, state)
    load(theirs, {k: saved[f"final/{k}"] for k in state})
    groups = {}
    for mine, first, their in zip(model.weights, start.weights, theirs.weights, strict=True):
        if not mine.trainable:
            continue
        group = "LSTM biases" if mine.path.endswith("lstm_cell/bias") else "other weights"
        moved, off = their.numpy() - first.numpy(), mine.numpy() - their.numpy()
        if args.per_variable:
            moved_off = f"moved {np.linalg.norm(moved):.4f}, off {np.linalg.norm(off):.4f}"
            print(f"  {mine.path}: {moved_off}")
        sums = groups.setdefault(group, [0.0, 0.0])
        sums[0] += float(np.sum(moved**2))
        sums[1] += float(np.sum(off**2))
    for group, (moved, off) in groups.items():
        print(f"{group}: theirs moved {moved**0.5:.4f} (L2), ours ends {off**0.5:.4f} from theirs")


def main():
    flags = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    flags.add_argument("--model", choices=("cmbs", "cace_net"), default="cmbs")
    flags.add_argument("--side", choices=("theirs", "ours"), required=True)
    flags.add_argument("--repo", help="a checkout of marmot-xy/CMBS or Brain-Cog-Lab/CACE-Net")
    flags.add_argument("--work", default="/tmp/zoo_steps.npz", help="theirs writes, ours reads")
    flags.add_argument("--steps", type=int, default=30)
    flags.add_argument("--batch", type=int, default=16)
    flags.add_argument("--seed", type=int, default=0)
    flags.add_argument("--switch_off", action="store_true", help="CACE-Net before the switch")
    flags.add_argument("--per_variable", action="store_true", help="ours: where each ends")
    flags.add_argument("--float32", action="store_true", help="theirs in float32, not float64")
    flags.add_argument("--keras_adam", action="store_true", help="ours with Keras' Adam")
    args = flags.parse_args()
    if args.side == "theirs":
        if not args.repo:
            flags.error("--side=theirs needs --repo")
        run_theirs(args)
    else:
        run_ours(args)


if __name__ == "__main__":
    main()
