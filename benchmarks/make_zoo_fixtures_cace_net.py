"""Regenerates tests/fixtures/zoo/cace_net.npz by running CACE-Net's own model module.

NOT part of ave_tf or its tests (`make test` never runs it): it needs PyTorch (CPU) and a
checkout of github.com/Brain-Cog-Lab/CACE-Net (only CACE/model/ is imported):

  .venv-torch/bin/python benchmarks/make_zoo_fixtures_cace_net.py --cace_repo=PATH/CACE-Net

Their `supv_main_model` is built from configs/main.json with the settings of their train
script (run_supp.sh: `--guide Co-Guide --psai 0.3 --contrastive --Lambda 0.6`), full size,
with its `contrastive_switch` on (as after the first n_epoch / 8 epochs). Their `.cuda()` calls
are made no-ops and `braincog` (imported for an SNN encoder the model does not use) is stubbed.
Every parameter is overwritten with seeded uniform weights (tests/authors_fixtures.py), the
model runs in eval mode in float32 on seeded inputs (B=2, T=10). Their contrastive key adds
random noise to the fused segments (`data_augmentation`); it is replaced by a given tensor:
zero for the stored outputs (the Keras model adds no noise outside training), seeded noise for
`noisy_key`, the key their training loss is computed with. The fixture stores the seed, the
state-dict keys and shapes (the weights are regenerated from the seed), every output, the
audio-guided spatial attention map (read with a forward hook), their accuracy rule's
predictions and their supv_main.py training loss (contras_coeff 1) on the seeded labels.
tests/test_zoo_cace_net.py loads the same weights into ave_tf's `cace_net` model
(`load_cace_net_torch_weights`) and compares.
"""

import argparse
import os
import sys
import types

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tests.authors_fixtures import seeded_inputs, seeded_weights  # noqa: E402

SEED = 31
CONFIG = dict(video_inputdim=512, audio_inputdim=128, d_model=256, alpha=0.1, gamma=0.3, beta=0.4)
OPTIONS = dict(psai=0.3, guide="Co-Guide", contrastive=True, Lambda=0.6)
CONTRAST_COEFF = 1.0


def _their_module(repo):
    import torch

    torch.nn.Module.cuda = lambda self, *args, **kwargs: self  # their constructors call .cuda()
    stub = types.ModuleType("braincog.model_zoo.fc_snn")
    stub.SHD_SNN = None
    for name in ("braincog", "braincog.model_zoo"):
        sys.modules[name] = types.ModuleType(name)
    sys.modules["braincog.model_zoo.fc_snn"] = stub
    sys.path.insert(0, os.path.join(os.path.abspath(repo), "CACE"))
    from model import main_model

    return main_model


def _their_loss(outputs, q, k, labels, contrastive=True):
    """supv_main.py's train_epoch loss (a float64 tensor); `contrastive`: after the warm-up,
    their contrastive term added."""
    import torch
    import torch.nn.functional as F

    is_event_scores, event_scores, audio_visual_gate, av_score = (o.double() for o in outputs)
    labels = F.one_hot(torch.as_tensor(labels), 29).double()
    is_event_scores = is_event_scores.transpose(1, 0).squeeze()
    audio_visual_gate = audio_visual_gate.transpose(1, 0).squeeze()
    labels_bce, labels_evn = labels[:, :, :-1].max(-1)
    labels_event, _ = labels_evn.max(-1)
    bce, ce = torch.nn.BCEWithLogitsLoss(), torch.nn.CrossEntropyLoss()
    loss = (
        bce(is_event_scores, labels_bce)
        + ce(event_scores, labels_event)
        + bce(audio_visual_gate, labels_bce)
        + ce(av_score, labels_event)
    )
    if not contrastive:
        return loss
    q, k = q.double(), k.double()
    # Their supervised contrastive term, step by step as in train_epoch (float64).
    n, t, _ = q.shape
    off_diagonal = torch.ones(t, t) - torch.eye(t)
    off_diagonal_2t = (torch.ones(2 * t, 2 * t) - torch.eye(2 * t)).unsqueeze(0).repeat(n, 1, 1)
    features = torch.cat([q, k], dim=1)
    logits = torch.einsum("ntc,nck->ntk", [features, features.permute(0, 2, 1)]) / 0.01
    both = labels_bce.unsqueeze(-1) * labels_bce.unsqueeze(1)
    pos_q = both * off_diagonal.unsqueeze(0)
    pos_k = torch.clamp(both + torch.eye(t), 0, 1)
    pos = torch.zeros(n, 2 * t, 2 * t, dtype=torch.float64)
    pos[:, :t, :t], pos[:, :t, t:], pos[:, t:, :t], pos[:, t:, t:] = pos_q, pos_k, pos_k, pos_q
    pairs = labels_bce.sum(1).unsqueeze(-1)
    index = torch.log(torch.cat([labels_bce * (2 * pairs - 2)] * 2, dim=1) + torch.ones(1, 2 * t))
    log_prob = (
        torch.log((torch.exp(logits) * pos).sum(2))
        - torch.log((torch.exp(logits) * off_diagonal_2t).sum(2))
        - index
    )
    return loss + CONTRAST_COEFF * (-log_prob).mean()


def _predictions(scores, class_scores):
    """compute_accuracy_supervised's prediction: class if sigmoid(score) > 0.5, else 28."""
    is_event = 1.0 / (1.0 + np.exp(-scores)) > 0.5
    return np.where(is_event, class_scores.argmax(-1)[:, None], 28)


def make_fixture(main_model, output_dir):
    import torch

    torch.manual_seed(SEED)
    model = main_model.supv_main_model(CONFIG, **OPTIONS).float().eval()
    model.contrastive_switch = True
    state = model.state_dict()
    keys = list(state)
    shapes = [tuple(state[k].shape) for k in keys]
    weights = seeded_weights(keys, shapes, SEED)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})

    inputs = seeded_inputs(SEED)
    noise = {"value": 0.0}
    main_model.SupvLocalizeModule.data_augmentation = lambda self, x, *a, **kw: x + noise["value"]
    captured = {}
    hook = model.spatial_channel_att.affine_v_s_att.register_forward_hook(
        lambda module, args, out: captured.update(scores=out.detach())
    )
    visual, audio = torch.from_numpy(inputs["visual"]), torch.from_numpy(inputs["audio"])
    with torch.no_grad():
        outputs = model(visual, audio)
        noise["value"] = torch.from_numpy(
            np.random.default_rng(SEED + 2).normal(0, 0.1, (10, 2, 256)).astype(np.float32)
        )
        noisy = model(visual, audio)
    hook.remove()
    attention = torch.softmax(torch.tanh(captured["scores"][..., 0]), dim=-1)
    is_event, event_scores, gate, av_score, query, key = (t.numpy() for t in outputs)
    loss = float(_their_loss(outputs[:4], outputs[4], noisy[5], inputs["labels"]))
    fixture = dict(
        seed=np.int64(SEED),
        keys=np.array(keys),
        shapes=np.array([",".join(map(str, s)) for s in shapes]),
        attention=attention.reshape(2, 10, 49).numpy(),
        event_scores=is_event[..., 0].T,
        video_class_logits=event_scores,
        background_gate=gate[..., 0].T,
        class_activation_scores=av_score,
        contrastive_query=query,
        contrastive_key=key,
        noisy_key=noisy[5].numpy(),
        predictions=_predictions(is_event[..., 0].T, event_scores),
        loss=np.float64(loss),
    )
    path = os.path.join(output_dir, "cace_net.npz")
    np.savez_compressed(path, **fixture)
    print(f"{path}: {os.path.getsize(path)} bytes, loss {loss:.6f}")


def main():
    flags = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    flags.add_argument("--cace_repo", required=True, help="a checkout of Brain-Cog-Lab/CACE-Net")
    flags.add_argument("--output_dir", default=os.path.join(ROOT, "tests", "fixtures", "zoo"))
    args = flags.parse_args()
    os.makedirs(args.output_dir, exist_ok=True)
    make_fixture(_their_module(args.cace_repo), args.output_dir)


if __name__ == "__main__":
    main()
