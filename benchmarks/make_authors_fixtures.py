"""Regenerates tests/fixtures/authors/*.npz by running the authors' modules.

NOT part of ave_tf or its tests: it needs a checkout of the authors' repository
(github.com/YapengTian/AVE-ECCV18: models.py, models_fusion.py, models_weakly.py, cmm_test.py)
and, for their PyTorch models, PyTorch (CPU wheel):

  python3.11 -m venv .venv-torch && .venv-torch/bin/pip install torch==2.13.0 numpy
  .venv-torch/bin/python benchmarks/make_authors_fixtures.py --authors_repo=PATH/AVE-ECCV18
  .venv/bin/python benchmarks/make_authors_fixtures.py --authors_repo=PATH --models=avdln
  CV_VENV/bin/python benchmarks/make_authors_fixtures.py --authors_repo=. --models=opencv_resize

Their AVDLN is Keras 2 code: its `scmm_net`, `euclidean_distance` and `contrastive_loss` are
taken from their cmm_test.py source as written and run under Keras 3 (the venv of ave_tf), with
the Keras 2 backend functions they call (`K.sqrt`, `K.sum`, ...) mapped onto `keras.ops`.

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


# fixture name -> (their Keras script, its network function, seed)
KERAS_MODELS = {"avdln": ("cmm_test.py", "scmm_net", 14)}


def _keras2_shim():
    """The Keras 2 names their AVDLN code uses, on Keras 3."""
    import types

    import keras
    from keras import ops

    backend = types.SimpleNamespace(
        sqrt=ops.sqrt,
        maximum=ops.maximum,
        square=ops.square,
        mean=ops.mean,
        sum=lambda x, axis=None, keepdims=False: ops.sum(x, axis=axis, keepdims=keepdims),
        epsilon=keras.backend.epsilon,  # 1e-7, as in Keras 2
    )
    return {
        "K": backend,
        "Input": keras.Input,
        "Dense": keras.layers.Dense,
        "Lambda": keras.layers.Lambda,
        "LeakyReLU": keras.layers.LeakyReLU,  # accepts their `alpha=`
        "Model": keras.Model,
    }


def _their_functions(script_path: str, names) -> dict:
    """The named top-level functions of their script, compiled from its source as written."""
    import ast

    with open(script_path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    kept = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in names]
    namespace = _keras2_shim()
    exec(compile(ast.Module(kept, type_ignores=[]), script_path, "exec"), namespace)
    return {name: namespace[name] for name in names}


def keras_fixture(name: str, authors_repo: str, output_dir: str) -> None:
    """Runs their Keras AVDLN on seeded weights (keyed as their weights file keys them)."""
    script, network, seed = KERAS_MODELS[name]
    functions = _their_functions(
        os.path.join(authors_repo, script),
        (network, "euclidean_distance", "eucl_dist_output_shape", "contrastive_loss"),
    )
    net = functions[network](128, 512)  # their call passes the sizes in swapped order; unused
    dense = [layer for layer in net.layers if layer.weights]
    # Their weights file names the Dense layers dense_1..4 in creation order (video tower
    # first); Keras 3 orders net.layers topologically: video fc1, audio fc1, video fc2, audio fc2.
    file_names = ["dense_1", "dense_3", "dense_2", "dense_4"]
    keys, shapes = [], []
    for layer, file_name in zip(dense, file_names, strict=True):
        for variable, kind in zip(layer.weights, ("kernel", "bias"), strict=True):
            keys.append(f"{file_name}/{kind}:0")
            shapes.append(tuple(variable.shape))
    weights = seeded_weights(keys, shapes, seed)
    for layer, file_name in zip(dense, file_names, strict=True):
        layer.set_weights([weights[f"{file_name}/kernel:0"], weights[f"{file_name}/bias:0"]])
    inputs = seeded_inputs(seed)
    audio = inputs["audio"].reshape(-1, 128)
    visual = inputs["visual"].mean(axis=(2, 3)).reshape(-1, 512)  # their visual_feature_vec
    distances = np.asarray(net.predict([visual, audio], verbose=0))[:, 0]
    pair_labels = (inputs["labels"].reshape(-1) % 2).astype(np.float32)
    loss = float(functions["contrastive_loss"](pair_labels[:, None], distances[:, None]))
    out = {
        "seed": seed,
        "keys": np.array(keys),
        "shapes": np.array([str(list(s)) for s in shapes]),
        "distances": distances,
        "pair_labels": pair_labels,
        "loss": loss,  # their test script's margin (1.0)
    }
    path = os.path.join(output_dir, f"{name}.npz")
    np.savez_compressed(path, **out)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


# Their visual extractor resizes every frame with OpenCV: cv2's outputs on seeded images
# (made in a venv with numpy and opencv-python-headless; the images are regenerated from the
# seed by tests/test_features_release_protocol.py).
RESIZE_CASES = ((37, 61, 24), (96, 128, 32), (61, 37, 24))


def opencv_resize_fixture(output_dir: str, seed: int = 15) -> None:
    import cv2

    rng = np.random.default_rng(seed)
    out = {"seed": seed, "cases": np.array(RESIZE_CASES)}
    for index, (height, width, size) in enumerate(RESIZE_CASES):
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        out[f"resized_{index}"] = cv2.resize(image, (size, size))  # INTER_LINEAR
    out["opencv_version"] = cv2.__version__
    path = os.path.join(output_dir, "opencv_resize.npz")
    np.savez_compressed(path, **out)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authors_repo", required=True, help="Checkout of AVE-ECCV18.")
    parser.add_argument("--output_dir", default=os.path.join(ROOT, "tests/fixtures/authors"))
    parser.add_argument(
        "--models",
        default=",".join(MODELS),
        help=f"Comma-separated: {', '.join([*MODELS, *KERAS_MODELS, 'opencv_resize'])}.",
    )
    args = parser.parse_args()
    selected = args.models.split(",")
    os.makedirs(args.output_dir, exist_ok=True)
    for name in selected:
        if name == "opencv_resize":
            opencv_resize_fixture(args.output_dir)
        elif name in KERAS_MODELS:
            keras_fixture(name, args.authors_repo, args.output_dir)
        elif name not in MODELS:
            sys.exit(f"--models: unknown fixture {name!r}")
    torch_models = {k: v for k, v in MODELS.items() if k in selected}
    if not torch_models:
        return
    import importlib

    import torch
    import torch.nn as nn

    torch.Tensor.cuda = lambda self, *a, **k: self  # their modules call .cuda(): stay on CPU
    nn.Module.cuda = lambda self, *a, **k: self
    sys.path.insert(0, args.authors_repo)
    for name, (module, cls, ctor, seed) in torch_models.items():
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
