"""Regenerates tests/fixtures/zoo/cmbs.npz and cmbs_weak.npz by running CMBS's own modules.

NOT part of ave_tf or its tests (`make test` never runs it): it needs PyTorch (CPU) and a
checkout of github.com/marmot-xy/CMBS (only its model/ folder is imported):

  .venv-torch/bin/python benchmarks/make_zoo_fixtures_cmbs.py --cmbs_repo=PATH/CMBS

Their `supv_main_model` / `weak_main_model` are built from their configs (configs/main.json,
configs/weak.json), full size: their supervised model only runs with d_model=256 (its visual
encoder takes `video_inputdim`=512 inputs, the 2 x d_model BiLSTM output; AGSCA's 512/128/256
widths are fixed), and the weights are not stored anyway. Their `.cuda()` calls are made
no-ops. Every parameter is overwritten with seeded uniform weights (tests/authors_fixtures.py),
the model runs in eval mode in float32 on seeded inputs (B=2, T=10), and the fixture stores the
seed, the state-dict keys and shapes (the weights are regenerated from the seed: ~9 MB as
arrays), every output, the audio-guided spatial attention map (read with a forward hook), their
accuracy rule's predictions and their training loss on the seeded labels, as their
supv_main.py / weakly_main.py compute it. tests/test_zoo_cmbs.py loads the same weights into
ave_tf's `cmbs` model (`load_cmbs_torch_weights`) and compares.
"""

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tests.authors_fixtures import seeded_inputs, seeded_weights  # noqa: E402

D_MODEL = 256
# fixture -> (their class, their config, seed)
MODELS = {
    "cmbs": ("supv_main_model", dict(alpha=0.1, gamma=0.3, beta=0.4), 21),
    "cmbs_weak": ("weak_main_model", dict(alpha=0.2, gamma=0.5, beta=0.5), 22),
}


def _their_module(repo):
    import torch

    torch.nn.Module.cuda = lambda self, *args, **kwargs: self  # their constructors call .cuda()
    sys.path.insert(0, os.path.abspath(repo))
    from model import main_model

    return main_model


def _their_loss(name, outputs, inputs):
    """The training loss of supv_main.py / weakly_main.py's train_epoch on these labels."""
    import torch
    import torch.nn.functional as F

    if name == "cmbs":
        is_event_scores, event_scores, audio_visual_gate, av_score = outputs
        labels = F.one_hot(torch.as_tensor(inputs["labels"]), 29).double()
        is_event_scores = is_event_scores.transpose(1, 0).squeeze().double()
        audio_visual_gate = audio_visual_gate.transpose(1, 0).squeeze().double()
        labels_bce, labels_evn = labels[:, :, :-1].max(-1)
        labels_event, _ = labels_evn.max(-1)
        bce, ce = torch.nn.BCEWithLogitsLoss(), torch.nn.CrossEntropyLoss()
        loss = (
            bce(is_event_scores, labels_bce)
            + bce(audio_visual_gate, labels_bce)
            + ce(event_scores.double(), labels_event)
            + ce(av_score.double(), labels_event)
        )
        return float(loss)
    _, _, event_scores = outputs
    labels = F.one_hot(torch.as_tensor(inputs["video_labels"]), 29).double()
    return float(torch.nn.MultiLabelSoftMarginLoss()(event_scores.double(), labels))


def _predictions(scores, class_scores):
    """compute_accuracy_supervised's prediction: class if sigmoid(score) > 0.5, else 28."""
    is_event = 1.0 / (1.0 + np.exp(-scores)) > 0.5
    return np.where(is_event, class_scores.argmax(-1)[:, None], 28)


def make_fixture(main_model, name, output_dir):
    import torch

    class_name, config, seed = MODELS[name]
    torch.manual_seed(seed)
    config = dict(video_inputdim=512, audio_inputdim=128, d_model=D_MODEL, **config)
    model = getattr(main_model, class_name)(config).float().eval()
    state = model.state_dict()
    keys = list(state)
    shapes = [tuple(state[k].shape) for k in keys]
    weights = seeded_weights(keys, shapes, seed)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})

    inputs = seeded_inputs(seed)
    captured = {}
    hook = model.spatial_channel_att.affine_v_s_att.register_forward_hook(
        lambda module, args, out: captured.update(scores=out.detach())
    )
    with torch.no_grad():
        outputs = model(torch.from_numpy(inputs["visual"]), torch.from_numpy(inputs["audio"]))
    hook.remove()
    attention = torch.softmax(torch.tanh(captured["scores"][..., 0]), dim=-1)
    fixture = dict(
        seed=np.int64(seed),
        d_model=np.int64(D_MODEL),
        keys=np.array(keys),
        shapes=np.array([",".join(map(str, s)) for s in shapes]),
        attention=attention.reshape(2, 10, 49).numpy(),
        loss=np.float64(_their_loss(name, outputs, inputs)),
    )
    if name == "cmbs":
        is_event, event_scores, gate, av_score = (t.numpy() for t in outputs)
        fixture.update(
            event_scores=is_event[..., 0].T,
            video_class_logits=event_scores,
            background_gate=gate[..., 0].T,
            class_activation_scores=av_score,
            predictions=_predictions(is_event[..., 0].T, event_scores),
        )
    else:
        gate, raw_logits, event_scores = (t.numpy() for t in outputs)
        fixture.update(
            event_scores=gate,
            video_class_logits=raw_logits,
            video_probabilities=event_scores,
            predictions=_predictions(gate, raw_logits),
        )
    path = os.path.join(output_dir, f"{name}.npz")
    np.savez_compressed(path, **fixture)
    print(f"{path}: {os.path.getsize(path)} bytes, loss {float(fixture['loss']):.6f}")


def main():
    flags = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    flags.add_argument("--cmbs_repo", required=True, help="a checkout of marmot-xy/CMBS")
    flags.add_argument("--output_dir", default=os.path.join(ROOT, "tests", "fixtures", "zoo"))
    flags.add_argument("--models", default=",".join(MODELS))
    args = flags.parse_args()
    os.makedirs(args.output_dir, exist_ok=True)
    main_model = _their_module(args.cmbs_repo)
    for name in args.models.split(","):
        make_fixture(main_model, name, args.output_dir)


if __name__ == "__main__":
    main()
