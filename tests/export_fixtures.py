"""Tiny Keras models with the shared model API, for export and serving tests.

They match `build_localization_model` / `build_cross_modal_model` in inputs and outputs (inputs
`audio` [B, T, 128] and `visual` [B, T, 7, 7, 512]; outputs `logits`, `attention` and for weak
models `video_logits`; cross-modal: `audio_embedding`, `visual_embedding`, `distances`) and hold
an LSTM, so the check for GPU-only ops has something to look at, while building in milliseconds.
"""

import keras
import numpy as np

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
