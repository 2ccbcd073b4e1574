"""Regenerates tests/fixtures/zoo/psp.npz and psp_weak.npz by running the PSP authors' modules.

NOT part of ave_tf or its tests: it needs the authors' code (github.com/jasongief/PSP_CVPR_2021:
fully_model.py, weakly_model.py, measure.py, dataloader.py), as a checkout or a bare git
directory (its files are then extracted with `git show` into a temporary folder), and PyTorch
(CPU wheel) with numpy and h5py:

  .venv-torch/bin/python benchmarks/make_zoo_fixtures_psp.py --psp_repo=PATH

Each `psp_net` gets seeded uniform weights (tests/authors_fixtures.py: one array per state-dict
key, in the order the fixture lists them, so a fixture holds keys, shapes and outputs, a few KB,
instead of ~6 MB of weights) and runs in eval mode on seeded inputs (B=2, T=10). Stored: the
seed, keys, shapes, their outputs and their loss on the seeded segment labels:
- psp: `logits` (their `out`), `av_similarity` (`cross_att`), `attention` (softmax of their
  `affine_h` output), and `loss` = CrossEntropy + 100 * AVPSLoss (fully_supervised_main.py),
  with the AVPS targets made by their dataloader's `get_segment_wise_relation`;
- psp_weak: `logits` (their weighted `score`), `segment_scores` (their `L2` output),
  `video_probabilities` (`out_avg`), `attention`, and `loss` = BCELoss(out_avg, p) where p is
  each class's share of the video's segments (what their prob_label.h5 holds, per the authors).
`threshold_margin` is the smallest distance of a normalized relevance to the pruning threshold,
so the two frameworks' float32 rounding (~1e-7) cannot flip a pruning decision (the script
refuses margins < 1e-5; with T = 10 the normalized relevances cluster around 1/T = 0.1).
tests/test_zoo_psp.py loads the same weights into ave_tf's PSP and compares.
"""

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import types

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tests.authors_fixtures import seeded_inputs, seeded_weights  # noqa: E402

THEIR_FILES = ("fully_model.py", "weakly_model.py", "measure.py", "dataloader.py")
# fixture name -> (their module, threshold, seed)
MODELS = {"psp": ("fully_model", 0.099, 21), "psp_weak": ("weakly_model", 0.095, 23)}
LAMBDA = 100.0  # fully_supervised_main.py --LAMBDA


def _their_code(path: str, workdir: str) -> str:
    """A folder with their files: `path` itself, or extracted from a (bare) git directory."""
    if os.path.exists(os.path.join(path, "fully_model.py")):
        return path
    for name in THEIR_FILES:
        source = subprocess.run(
            ["git", f"--git-dir={path}", "show", f"HEAD:{name}"],
            check=True,
            capture_output=True,
        ).stdout
        with open(os.path.join(workdir, name), "wb") as f:
            f.write(source)
    return workdir


def _stub_sklearn():
    """measure.py imports sklearn for an accuracy it computes; the loss does not need it."""
    try:
        import sklearn.metrics  # noqa: F401
    except ImportError:
        metrics = types.ModuleType("sklearn.metrics")
        metrics.accuracy_score = lambda a, b: float(np.mean(np.asarray(a) == np.asarray(b)))
        sys.modules["sklearn"] = types.ModuleType("sklearn")
        sys.modules["sklearn.metrics"] = metrics


def _threshold_margin(captured, threshold: float) -> float:
    """min |beta - threshold| over both directions' row-normalized relevance (as their PSP)."""
    v_r = np.maximum(captured["psp.v_L2"], 0)
    a_r = np.maximum(captured["psp.a_L1"], 0)
    beta = np.maximum(v_r @ np.swapaxes(a_r, 1, 2) / np.sqrt(v_r.shape[-1]), 0)
    margins = []
    for b in (beta, np.swapaxes(beta, 1, 2)):
        b = b / (b.sum(-1, keepdims=True) + 1e-8)
        margins.append(np.abs(b - threshold).min())
    return float(min(margins))


def make_fixture(name: str, output_dir: str) -> None:
    import torch
    import torch.nn as nn

    module, threshold, seed = MODELS[name]
    net = importlib.import_module(module).psp_net(128, 512, 128, 29)
    state = net.state_dict()
    keys = list(state)
    shapes = [tuple(state[k].shape) for k in keys]
    weights = seeded_weights(keys, shapes, seed)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    net.eval()
    captured = {}
    hooked = {"attention.affine_h": net.attention.affine_h, "L2": net.L2}
    hooked.update({"psp.v_L2": net.psp.v_L2, "psp.a_L1": net.psp.a_L1})
    for key, layer in hooked.items():
        layer.register_forward_hook(
            lambda m, i, o, key=key: captured.__setitem__(key, o.detach().numpy())
        )
    inputs = seeded_inputs(seed)
    audio, visual = torch.from_numpy(inputs["audio"]), torch.from_numpy(inputs["visual"])
    labels = inputs["labels"]
    one_hot = np.eye(29, dtype=np.float32)[labels]  # their right_labels.h5 layout [B, 10, 29]
    out = {"seed": seed, "keys": np.array(keys), "shapes": np.array([str(list(s)) for s in shapes])}
    with torch.no_grad():
        if name == "psp":
            _, logits, cross_att = net(audio, visual, threshold)
            relation = types.SimpleNamespace(
                segment_avps_gt_batch=np.zeros(labels.shape, np.float32),
                segment_label_batch=np.zeros(labels.shape, np.float32),
            )
            dataloader = importlib.import_module("dataloader")
            dataloader.AVE_Fully_Dataset.get_segment_wise_relation(relation, one_hot)
            segment_labels = torch.from_numpy(relation.segment_label_batch).long()
            avps_targets = torch.from_numpy(relation.segment_avps_gt_batch)
            loss_cls = nn.CrossEntropyLoss()(logits.permute(0, 2, 1), segment_labels)
            loss_avps = importlib.import_module("measure").AVPSLoss(cross_att, avps_targets)
            out.update(
                logits=logits.numpy(),
                av_similarity=cross_att.numpy(),
                avps_targets=avps_targets.numpy(),
                loss=(loss_cls + LAMBDA * loss_avps).numpy(),
                loss_cls=loss_cls.numpy(),
                loss_avps=loss_avps.numpy(),
            )
        else:
            video_probabilities, logits = net(audio, visual, threshold)
            shares = one_hot.mean(axis=1)  # each class's share of the 10 segments
            loss = nn.BCELoss()(video_probabilities, torch.from_numpy(shares))
            out.update(
                logits=logits.numpy(),
                segment_scores=captured["L2"],
                video_probabilities=video_probabilities.numpy(),
                loss=loss.numpy(),
            )
    scores = torch.from_numpy(captured["attention.affine_h"]).squeeze(-1)
    out["attention"] = torch.softmax(scores, dim=-1).numpy().reshape(*labels.shape, 49)
    out["threshold_margin"] = _threshold_margin(captured, threshold)
    if out["threshold_margin"] < 1e-5:
        sys.exit(f"{name}: seed {seed} puts a relevance within 1e-5 of the threshold; pick another")
    path = os.path.join(output_dir, f"{name}.npz")
    np.savez_compressed(path, **out)
    print(f"wrote {path} ({os.path.getsize(path)} bytes, margin {out['threshold_margin']:.2e})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--psp_repo", required=True, help="PSP_CVPR_2021 checkout or git dir.")
    parser.add_argument("--output_dir", default=os.path.join(ROOT, "tests/fixtures/zoo"))
    parser.add_argument("--models", default=",".join(MODELS), help="Comma-separated fixtures.")
    args = parser.parse_args()
    os.makedirs(args.output_dir, exist_ok=True)
    import torch
    import torch.nn as nn

    torch.Tensor.cuda = lambda self, *a, **k: self  # their modules call .cuda(): stay on CPU
    nn.Module.cuda = lambda self, *a, **k: self
    _stub_sklearn()
    with tempfile.TemporaryDirectory() as workdir:
        sys.path.insert(0, _their_code(os.path.abspath(args.psp_repo), workdir))
        for name in args.models.split(","):
            if name not in MODELS:
                sys.exit(f"--models: unknown fixture {name!r}")
            make_fixture(name, args.output_dir)


if __name__ == "__main__":
    main()
