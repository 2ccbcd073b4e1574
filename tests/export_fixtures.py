"""Tiny Keras models with the shared model API, and the outputs each signature must return.

They match `build_localization_model` / `build_cross_modal_model` in inputs and outputs (inputs
`audio` [B, T, 128] and `visual` [B, T, 7, 7, 512]; outputs `logits`, `attention` and for weak
models `video_logits`; cross-modal: `audio_embedding`, `visual_embedding`, `distances`) and hold
an LSTM, so the check for GPU-only ops has something to look at, while building in milliseconds.
The reference functions at the end compute what every exported signature must return from the
in-memory models (numpy), for the in-process, fresh-process and gRPC tests alike.
"""

import atexit
import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from ave_tf.data import ave_metadata, example_codec
from ave_tf.export import signatures as sig

NUM_CLASSES = 29
AUDIO_DIM = 128
VISUAL_SHAPE = (7, 7, 512)


def _inputs():
    audio = keras.Input((None, AUDIO_DIM), name="audio")
    visual = keras.Input((None, *VISUAL_SHAPE), name="visual")
    return audio, visual


def build_localization_fixture(
    task: str = "supervised",
    hidden_size: int = 8,
    bidirectional: bool = False,
    use_cudnn="auto",
    seed: int = 0,
) -> keras.Model:
    """Audio-guided attention over the 49 cells, concat fusion, (bi)LSTM, per-segment logits."""
    keras.utils.set_random_seed(seed)
    audio, visual = _inputs()
    cells = keras.layers.Reshape((-1, 49, VISUAL_SHAPE[-1]))(visual)
    cell_keys = keras.layers.Dense(hidden_size)(cells)
    audio_query = keras.ops.expand_dims(keras.layers.Dense(hidden_size)(audio), 2)
    scores = keras.layers.Dense(1)(keras.ops.tanh(cell_keys + audio_query))[..., 0]
    attention = keras.ops.softmax(scores, axis=-1)
    attended = keras.ops.einsum("btc,btcd->btd", attention, cells)
    fused = keras.layers.Concatenate()([audio, keras.layers.Dense(hidden_size)(attended)])
    lstm = keras.layers.LSTM(hidden_size, return_sequences=True, use_cudnn=use_cudnn)
    sequence = keras.layers.Bidirectional(lstm)(fused) if bidirectional else lstm(fused)
    logits = keras.layers.Dense(NUM_CLASSES)(sequence)
    outputs = {"logits": logits, "attention": attention}
    if task == "weak":
        outputs["video_logits"] = keras.ops.max(logits, axis=1)  # max MIL pooling
    return keras.Model({"audio": audio, "visual": visual}, outputs, name=f"fixture_{task}")


def build_cross_modal_fixture(embedding_size: int = 16, seed: int = 0) -> keras.Model:
    """Two-layer FC embeddings of each modality and their per-segment Euclidean distance."""
    keras.utils.set_random_seed(seed)
    audio, visual = _inputs()
    pooled = keras.ops.mean(keras.layers.Reshape((-1, 49, VISUAL_SHAPE[-1]))(visual), axis=2)
    audio_embedding = keras.layers.Dense(embedding_size)(
        keras.layers.Dense(32, activation="relu")(audio)
    )
    visual_embedding = keras.layers.Dense(embedding_size)(
        keras.layers.Dense(32, activation="relu")(pooled)
    )
    distances = keras.ops.sqrt(
        keras.ops.sum(keras.ops.square(audio_embedding - visual_embedding), axis=-1) + 1e-12
    )
    outputs = {
        "audio_embedding": audio_embedding,
        "visual_embedding": visual_embedding,
        "distances": distances,
    }
    return keras.Model({"audio": audio, "visual": visual}, outputs, name="fixture_cross_modal")


def random_features(batch: int, time: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Non-negative float32 features shaped like VGGish / VGG-19 pool5 outputs."""
    rng = np.random.default_rng(seed)
    return {
        "audio": rng.random((batch, time, AUDIO_DIM), dtype=np.float32),
        "visual": rng.random((batch, time, *VISUAL_SHAPE), dtype=np.float32),
    }


class GpuOnlyOp(keras.layers.Layer):
    """Adds 0 x CudnnRNNParamsSize: a graph with an op that has only a GPU kernel.

    Stands for a recurrent layer traced on a GPU with cuDNN (CudnnRNN), which a CPU-only
    server cannot run; graph construction works on a CPU, so the export check can be tested.
    """

    def call(self, x):
        size = tf.raw_ops.CudnnRNNParamsSize(
            num_layers=1, num_units=4, input_size=4, T=tf.float32, S=tf.int32
        )
        return x + 0.0 * tf.cast(size, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape


def build_gpu_only_fixture() -> keras.Model:
    """A minimal localization model (no LSTM: quick to trace) whose logits pass `GpuOnlyOp`."""
    audio, visual = _inputs()
    logits = GpuOnlyOp()(keras.layers.Dense(NUM_CLASSES)(audio))
    attention = keras.ops.ones_like(keras.layers.Reshape((-1, 49, 512))(visual)[..., 0]) / 49.0
    outputs = {"logits": logits, "attention": attention}
    return keras.Model({"audio": audio, "visual": visual}, outputs, name="fixture_gpu_only")


_shared = {}


def shared_export() -> dict:
    """One export of the fixture models, shared by every test module of a pytest process.

    Returns `{"base": export base, "path": version 1 folder, "supervised": model, "weak":
    model, "cross_modal": model}`. The supervised model is bidirectional (so padding matters
    to `parse_and_predict`); the weak model pools with max, unlike the default mean.
    """
    if not _shared:
        from ave_tf.export.exporter import export_saved_model

        root = tempfile.mkdtemp(prefix="ave_export_fixture_")
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        models = {
            "supervised": build_localization_fixture(bidirectional=True, seed=0),
            "weak": build_localization_fixture("weak", seed=1),
            "cross_modal": build_cross_modal_fixture(seed=2),
        }
        base = os.path.join(root, "ave")
        path = export_saved_model(
            base,
            models["supervised"],
            weak_model=models["weak"],
            cross_modal_model=models["cross_modal"],
            model_info={"fixture": True},
        )
        _shared.update(models, base=base, path=path)
    return _shared


# References: what each signature must return (numpy, from the in-memory models).


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def run_model(model, audio: np.ndarray, visual: np.ndarray) -> dict[str, np.ndarray]:
    outputs = model({"audio": audio, "visual": visual}, training=False)
    return {key: np.asarray(value) for key, value in outputs.items()}


def supervised(model, audio, visual) -> dict[str, np.ndarray]:
    out = run_model(model, audio, visual)
    return {
        sig.PROBABILITIES: softmax(out["logits"]),
        sig.CLASSES: out["logits"].argmax(-1).astype(np.int64),
        sig.ATTENTION: out["attention"],
    }


def weak(model, audio, visual) -> dict[str, np.ndarray]:
    out = run_model(model, audio, visual)
    video_logits = out.get("video_logits", out["logits"].mean(axis=1))
    return {
        sig.SEGMENT_SCORES: softmax(out["logits"]),
        sig.VIDEO_PROBABILITIES: softmax(video_logits),
        sig.CLASSES: out["logits"].argmax(-1).astype(np.int64),
        sig.VIDEO_CLASSES: softmax(video_logits).argmax(-1).astype(np.int64),
    }


def records(videos: list[tuple[np.ndarray, np.ndarray]], visual_dtype="float32") -> list[bytes]:
    """Serialized SequenceExamples (unlabeled) of (audio [T, 128], visual [T, 7, 7, 512])."""
    return [
        example_codec.encode_video(
            video_id=f"video{i}",
            audio=audio,
            visual=visual,
            labels=None,
            class_index=-1,
            class_name="",
            event_start=-1,
            event_end=-1,
            source="test",
            visual_dtype=visual_dtype,
        )
        for i, (audio, visual) in enumerate(videos)
    ]


def parse_and_predict(model, videos: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """Each video run alone (no padding), then padded like the signature's outputs."""
    time = max(audio.shape[0] for audio, _ in videos)
    out = {
        sig.PROBABILITIES: np.zeros([len(videos), time, 29], np.float32),
        sig.CLASSES: np.full([len(videos), time], -1, np.int64),
        sig.ATTENTION: np.zeros([len(videos), time, 49], np.float32),
        sig.NUM_SEGMENTS: np.array([a.shape[0] for a, _ in videos], np.int64),
        sig.VIDEO_ID: np.array([f"video{i}".encode() for i in range(len(videos))], object),
    }
    for i, (audio, visual) in enumerate(videos):
        one = supervised(model, audio[None], visual[None])
        steps = audio.shape[0]
        out[sig.PROBABILITIES][i, :steps] = one[sig.PROBABILITIES][0]
        out[sig.CLASSES][i, :steps] = one[sig.CLASSES][0]
        out[sig.ATTENTION][i, :steps] = one[sig.ATTENTION][0]
    return out


def classify_examples(videos: list[tuple[np.ndarray, np.ndarray]]) -> list[bytes]:
    """Serialized tf.Examples with flat `audio` and `visual` float lists."""
    out = []
    for audio, visual in videos:
        feature = {
            "audio": tf.train.Feature(float_list=tf.train.FloatList(value=audio.ravel())),
            "visual": tf.train.Feature(float_list=tf.train.FloatList(value=visual.ravel())),
        }
        example = tf.train.Example(features=tf.train.Features(feature=feature))
        out.append(example.SerializeToString())
    return out


def classify(model, videos: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    scores = np.stack(
        [weak(model, a[None], v[None])[sig.VIDEO_PROBABILITIES][0] for a, v in videos]
    )
    names = np.array([n.encode() for n in ave_metadata.class_names()], object)
    return {sig.SCORES: scores, sig.CLASSES: np.tile(names[None], [len(videos), 1])}


def distance(model, audio, visual) -> dict[str, np.ndarray]:
    out = run_model(model, audio, visual)
    a, v = out["audio_embedding"], out["visual_embedding"]
    pairwise = np.sqrt(((a[:, :, None, :] - v[:, None, :, :]) ** 2).sum(-1))
    return {sig.DISTANCES: out["distances"], sig.PAIRWISE_DISTANCES: pairwise}


def localize(model, audio, visual, query_start, query_length, direction: str) -> dict:
    """Eq. 8 by brute force: the start minimizing the summed distance of the aligned window."""
    pairwise = distance(model, audio, visual)[sig.PAIRWISE_DISTANCES]
    starts = []
    for b in range(audio.shape[0]):
        q, length = int(query_start[b]), int(query_length[b])
        matrix = pairwise[b] if direction == "a2v" else pairwise[b].T  # rows = query modality
        costs = [
            sum(matrix[q + s, t + s] for s in range(length))
            for t in range(matrix.shape[1] - length + 1)
        ]
        starts.append(int(np.argmin(costs)))
    start = np.array(starts, np.int64)
    return {sig.START: start, sig.END: start + np.asarray(query_length, np.int64)}


def videos(lengths, seed=0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(audio [T, 128], visual [T, 7, 7, 512]) per requested length T."""
    rng = np.random.default_rng(seed)
    return [
        (
            rng.random((t, AUDIO_DIM), dtype=np.float32),
            rng.random((t, *VISUAL_SHAPE), dtype=np.float32),
        )
        for t in lengths
    ]


def signature_cases(models: dict) -> dict[str, tuple[dict, dict]]:
    """signature -> (inputs, expected outputs): one case per signature of `shared_export()`."""
    x = random_features(3, 7, seed=1)
    audio, visual = x["audio"], x["visual"]
    mixed = videos([4, 10, 7], seed=2)
    query = {
        sig.QUERY_START: np.array([0, 3, 5], np.int64),
        sig.QUERY_LENGTH: np.array([3, 4, 2], np.int64),
    }
    serialized = np.array(records(mixed), dtype=object)
    classified = videos([3, 6], seed=3)
    examples = np.array(classify_examples(classified), dtype=object)
    cross_modal = models["cross_modal"]
    return {
        sig.SERVING_DEFAULT: (x, supervised(models["supervised"], audio, visual)),
        sig.SUPERVISED: (x, supervised(models["supervised"], audio, visual)),
        sig.WEAK: (x, weak(models["weak"], audio, visual)),
        sig.PARSE_AND_PREDICT: (
            {sig.SERIALIZED: serialized},
            parse_and_predict(models["supervised"], mixed),
        ),
        sig.CLASSIFY: ({sig.CLASSIFY_INPUTS: examples}, classify(models["weak"], classified)),
        sig.DISTANCE: (x, distance(cross_modal, audio, visual)),
        sig.LOCALIZE_A2V: (
            {**x, **query},
            localize(cross_modal, audio, visual, **query, direction="a2v"),
        ),
        sig.LOCALIZE_V2A: (
            {**x, **query},
            localize(cross_modal, audio, visual, **query, direction="v2a"),
        ),
    }


def assert_outputs_equal(name: str, got: dict, expected: dict) -> None:
    """Same keys, shapes and dtypes (int64 / float32 / strings); floats to 1e-5."""
    assert set(got) == set(expected), (name, sorted(got), sorted(expected))
    for key, want in expected.items():
        value = np.asarray(got[key])
        assert value.shape == want.shape, (name, key, value.shape, want.shape)
        if want.dtype == object:
            assert value.tolist() == want.tolist(), (name, key)
        elif np.issubdtype(want.dtype, np.integer):
            assert value.dtype == np.int64, (name, key, value.dtype)
            np.testing.assert_array_equal(value, want, err_msg=f"{name}/{key}")
        else:
            assert value.dtype == np.float32, (name, key, value.dtype)
            np.testing.assert_allclose(value, want, rtol=1e-4, atol=1e-5, err_msg=f"{name}/{key}")
