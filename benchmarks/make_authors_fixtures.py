"""Regenerates tests/fixtures/authors/*.npz by running the authors' PyTorch modules.

NOT part of ave_tf or its tests: it needs PyTorch (CPU wheel) and a checkout of the authors'
repository (github.com/YapengTian/AVE-ECCV18: models.py, models_fusion.py, models_weakly.py).

  python3.11 -m venv .venv-torch && .venv-torch/bin/pip install torch==2.13.0 numpy
  .venv-torch/bin/python benchmarks/make_authors_fixtures.py --authors_repo=PATH/AVE-ECCV18

Each module's parameters are overwritten with seeded uniform weights (tests/authors_fixtures.py),
it runs on seeded inputs, and the fixture stores the seed, the state-dict keys and shapes, the
outputs and the authors' loss. tests/test_authors_equivalence.py loads the same weights into
the authors_* Keras models and compares.
"""

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tests.authors_fixtures import seeded_inputs, seeded_weights  # noqa: E402

# fixture name -> (module file, class, constructor args, seed)
MODELS = {
    "att_net": ("models", "att_Net", (128, 128, 512, 29), 11),
    "dmrn": ("models_fusion", "TBMRF_Net", (128, 128, 512, 29, 1), 12),
    "weak_att_net": ("models_weakly", "att_Net", (128, 128, 512, 29), 13),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authors_repo", required=True, help="Checkout of AVE-ECCV18.")
    parser.add_argument("--output_dir", default=os.path.join(ROOT, "tests/fixtures/authors"))
    args = parser.parse_args()
    import importlib

    import torch
    import torch.nn as nn

    torch.Tensor.cuda = lambda self, *a, **k: self  # their modules call .cuda(): stay on CPU
    nn.Module.cuda = lambda self, *a, **k: self
    sys.path.insert(0, args.authors_repo)
    os.makedirs(args.output_dir, exist_ok=True)
    for name, (module, cls, ctor, seed) in MODELS.items():
        net = getattr(importlib.import_module(module), cls)(*ctor)
        state = net.state_dict()
        keys = list(state)
        shapes = [tuple(state[k].shape) for k in keys]
        weights = seeded_weights(keys, shapes, seed)
        net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
        net.eval()
        inputs = seeded_inputs(seed)
        audio, visual = torch.from_numpy(inputs["audio"]), torch.from_numpy(inputs["visual"])
        scores = []  # affine_h's output: the attention scores before their softmax
        net.affine_h.register_forward_hook(lambda m, i, o, kept=scores: kept.append(o.detach()))
        loss_function = nn.MultiLabelSoftMarginLoss()
        with torch.no_grad():
            output = net(audio, visual)
            out = {"seed": seed, "keys": np.array(keys)}
            if isinstance(output, tuple):  # weak: (video probabilities, segment logits)
                video, segment_logits = output
                out["video_probabilities"] = video.numpy()
                out["segment_logits"] = segment_logits.numpy()
                target = np.eye(29, dtype=np.float32)[inputs["video_labels"]]
                out["loss"] = loss_function(video, torch.from_numpy(target)).numpy()
            else:
                out["probabilities"] = output.numpy()
                target = np.eye(29, dtype=np.float32)[inputs["labels"]]
                out["loss"] = loss_function(output, torch.from_numpy(target)).numpy()
        attention = torch.softmax(scores[0].squeeze(-1), dim=-1)
        out["attention"] = attention.numpy().reshape(audio.shape[0], audio.shape[1], 49)
        out["shapes"] = np.array([str(list(s)) for s in shapes])
        path = os.path.join(args.output_dir, f"{name}.npz")
        np.savez_compressed(path, **out)
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
