"""Cross-modality localization by sliding-window search (eq. 8) and its evaluation protocol.

A2V: given an l-second audio query (audio segments q .. q+l-1 of a video), find the start of the
synchronized visual window: `t* = argmin_s sum_k D(V_{s+k}, A_{q+k})` over s = 0 .. T_v - l.
V2A is symmetric (a visual query searched in the audio). Ties go to the earliest start.

`pairwise_distances` and `localize_window` are pure keras.ops, vectorized over the batch, with
dynamic T, so an exported `tf.function` (the `distance` serving signature) can run them. In a
padded batch, pass each video's real length as `search_length` (the parser's `num_segments`, or
`segment_lengths` of the model's `segment_mask` output): padded segments are then never searched.

Evaluation (paper Sec. 6.1 and the authors' `cmm_test.py`): every video whose event [start, end)
is non-empty and shorter than the video gives one A2V query (the audio of the event segments)
and one V2A query (their visual); the ground truth is the event start and only an exact match
counts. Videos with an empty event or an event covering the whole video are skipped and counted.
Use the `*_match` splits when the dataset has them (`cross_modal_split`): their test videos all
have short events.
"""

import numpy as np
from keras import ops

from ave_tf.data import parser
from ave_tf.models.cross_modal import DISTANCE_EPSILON

DIRECTIONS = ("a2v", "v2a")


def pairwise_distances(audio_embedding, visual_embedding):
    """Euclidean distance of every audio segment to every visual segment.

    Args:
      audio_embedding: [B, T_a, D].
      visual_embedding: [B, T_v, D].

    Returns:
      [B, T_a, T_v]; entry [b, i, j] = D(V_j, A_i) (eq. 9), the same floor as the model's
      `distances` output, so the diagonal equals it for synchronized inputs.
    """
    # float32 even for mixed-precision models: near-ties must not be decided by rounding.
    audio_embedding = ops.cast(audio_embedding, "float32")
    visual_embedding = ops.cast(visual_embedding, "float32")
    difference = audio_embedding[:, :, None, :] - visual_embedding[:, None, :, :]
    return ops.sqrt(ops.maximum(ops.sum(ops.square(difference), axis=-1), DISTANCE_EPSILON))


def segment_lengths(segment_mask):
    """[B] int32 real segments per video from a [B, T] prefix mask (the models' `segment_mask`)."""
    return ops.sum(ops.cast(ops.greater(segment_mask, 0), "int32"), axis=1)


def _static_int_array(value):
    """The value as a numpy int array when it is concrete (not a symbolic tensor), else None."""
    if isinstance(value, int | np.integer | np.ndarray | list | tuple):
        return np.asarray(value)
    try:
        return np.asarray(ops.convert_to_numpy(value))
    except Exception:  # noqa: BLE001 - symbolic tensors inside tf.function cannot be read
        return None


def _check_static_query(query_rows, search_columns, query_start, query_length, search_length):
    """Clear errors for impossible queries whenever the values are known (eager calls)."""
    starts = _static_int_array(query_start)
    lengths = _static_int_array(query_length)
    if lengths is not None and (lengths < 1).any():
        raise ValueError(f"query_length must be >= 1 (an empty event has no query), got {lengths}")
    searched = search_columns if search_length is None else _static_int_array(search_length)
    if lengths is not None and searched is not None and (lengths > searched).any():
        raise ValueError(
            f"query of {np.max(lengths)} segments is longer than the searched video "
            f"({np.min(searched)} segments)"
        )
    if starts is not None and lengths is not None and query_rows is not None:
        if (starts < 0).any() or (starts + lengths > query_rows).any():
            raise ValueError(
                f"query [{starts}, {starts + lengths}) does not lie inside the {query_rows} "
                "query segments"
            )


def localize_window(pairwise, query_start, query_length, direction: str, search_length=None):
    """Sliding-window localization (eq. 8) of a query window in the other modality.

    Args:
      pairwise: [B, T_a, T_v] distances from `pairwise_distances`.
      query_start: scalar or [B] int, first segment of the query (in the query modality).
      query_length: scalar or [B] int, the query length l >= 1.
      direction: "a2v" (audio query, search the visual) or "v2a" (visual query, search audio).
      search_length: optional scalar or [B] int, real segments of the searched modality (for
        padded batches: `segment_lengths(outputs["segment_mask"])`); defaults to all T_v ("a2v")
        or T_a ("v2a"), padding included.

    Returns:
      [B] int32 predicted start in the searched modality; ties go to the earliest start, and -1
      marks a query that does not fit (only reachable inside a graph, where the values cannot be
      checked: eager calls raise ValueError instead).
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if direction == "v2a":
        pairwise = ops.transpose(pairwise, (0, 2, 1))
    # Now rows = query modality, columns = searched modality.
    _check_static_query(
        pairwise.shape[1], pairwise.shape[2], query_start, query_length, search_length
    )
    shape = ops.shape(pairwise)
    batch, rows, columns = shape[0], shape[1], shape[2]
    starts = ops.broadcast_to(ops.cast(query_start, "int32"), (batch,))
    lengths = ops.broadcast_to(ops.cast(query_length, "int32"), (batch,))
    if search_length is None:
        searched = ops.broadcast_to(ops.cast(columns, "int32"), (batch,))
    else:
        searched = ops.broadcast_to(ops.cast(search_length, "int32"), (batch,))

    # Score of start s: sum over k < l of pairwise[b, q + k, s + k], gathered from the flat matrix.
    offsets = ops.arange(ops.maximum(ops.max(lengths), 1), dtype="int32")  # k
    candidates = ops.arange(columns, dtype="int32")  # s
    row = ops.clip(starts[:, None, None] + offsets[None, None, :], 0, rows - 1)
    column = ops.clip(candidates[None, :, None] + offsets[None, None, :], 0, columns - 1)
    flat_index = ops.reshape(row * columns + column, (batch, -1))
    values = ops.take_along_axis(ops.reshape(pairwise, (batch, -1)), flat_index, axis=1)
    values = ops.reshape(values, (batch, columns, -1))
    in_query = offsets[None, None, :] < lengths[:, None, None]
    scores = ops.sum(ops.where(in_query, values, ops.zeros_like(values)), axis=2)

    fits = candidates[None, :] <= (searched - lengths)[:, None]
    scores = ops.where(fits, scores, ops.full_like(scores, np.inf))
    best = ops.min(scores, axis=1, keepdims=True)
    # The smallest start reaching the minimum (argmin does not promise the earliest of ties).
    is_best = fits & (scores <= best)
    best_start = ops.min(ops.where(is_best, candidates[None, :], columns), axis=1)
    return ops.where(ops.any(fits, axis=1), best_start, -1)


def localize(model, audio, visual, start: int, end: int, direction: str) -> int:
    """Localizes the event segments [start, end) of one video in the other modality.

    Args:
      model: a cross-modal model (`build_cross_modal_model`).
      audio: [T, 128] audio features of the video.
      visual: [T, 7, 7, 512] visual features of the same T segments.
      start, end: the query window [start, end) in the query modality.
      direction: "a2v" or "v2a".

    Returns:
      The predicted start of the matching window in the searched modality.
    """
    audio = np.asarray(audio, np.float32)
    visual = np.asarray(visual, np.float32)
    if audio.ndim != 2 or visual.ndim != 4:
        raise ValueError(
            f"audio must be [T, 128] and visual [T, 7, 7, 512], got "
            f"{audio.shape} and {visual.shape}"
        )
    if audio.shape[0] != visual.shape[0]:
        raise ValueError(
            f"T mismatch: audio has {audio.shape[0]} segments, visual has {visual.shape[0]}"
        )
    steps = audio.shape[0]
    if end <= start:
        raise ValueError(f"empty event [{start}, {end}): nothing to localize")
    if end - start > steps:
        raise ValueError(f"query of {end - start} segments is longer than the video ({steps})")
    if start < 0 or end > steps:
        raise ValueError(f"query [{start}, {end}) lies outside the video's {steps} segments")
    outputs = model({"audio": audio[None], "visual": visual[None]}, training=False)
    pairwise = pairwise_distances(outputs["audio_embedding"], outputs["visual_embedding"])
    return int(ops.convert_to_numpy(localize_window(pairwise, start, end - start, direction))[0])


def evaluate_cross_modal(model, dataset, max_batches: int | None = None) -> dict:
    """A2V and V2A accuracy of a cross-modal model (exact start match, paper Table 3).

    Args:
      model: a cross-modal model.
      dataset: an iterable of `parse_batch` dicts (e.g. `pipeline.make_dataset(...)`).
      max_batches: stop after this many batches (None = all).

    Returns:
      `{"a2v": fraction, "v2a": fraction, "videos": evaluated, "skipped_empty": count,
      "skipped_full": count}`; accuracies are fractions in [0, 1].

    Raises:
      ValueError: no video of the dataset has a short, non-empty event.
    """
    correct = {"a2v": 0, "v2a": 0}
    videos = skipped_empty = skipped_full = 0
    for index, batch in enumerate(dataset):
        if max_batches is not None and index >= max_batches:
            break
        steps = np.asarray(batch[parser.NUM_SEGMENTS])
        starts = np.asarray(batch[parser.EVENT_START])
        ends = np.asarray(batch[parser.EVENT_END])
        empty = (starts < 0) | (ends <= starts)
        full = ~empty & (ends - starts >= steps)
        usable = ~empty & ~full & (ends <= steps)
        skipped_empty += int(empty.sum())
        skipped_full += int((~empty & ~usable).sum())
        if not usable.any():
            continue
        outputs = model(
            {"audio": batch[parser.AUDIO], "visual": batch[parser.VISUAL]}, training=False
        )
        pairwise = pairwise_distances(outputs["audio_embedding"], outputs["visual_embedding"])
        # Unused rows get a valid dummy query (start 0, length 1) and are ignored.
        query_start = np.where(usable, starts, 0).astype(np.int32)
        query_length = np.where(usable, ends - starts, 1).astype(np.int32)
        for direction in DIRECTIONS:
            predicted = ops.convert_to_numpy(
                localize_window(pairwise, query_start, query_length, direction, steps)
            )
            correct[direction] += int(((predicted == starts) & usable).sum())
        videos += int(usable.sum())
    if videos == 0:
        raise ValueError(
            "no video with a short event (0 < end - start < T) to evaluate "
            f"({skipped_empty} with an empty event, {skipped_full} with a full-length event)"
        )
    return {
        "a2v": correct["a2v"] / videos,
        "v2a": correct["v2a"] / videos,
        "videos": videos,
        "skipped_empty": skipped_empty,
        "skipped_full": skipped_full,
    }


def cross_modal_split(available_splits, split: str = "test") -> str:
    """The `<split>_match` split when the dataset has it (the paper's protocol), else `split`."""
    match = f"{split}_match"
    return match if match in available_splits else split
