"""The synthetic generator: determinism, labels, value ranges and the planted structure."""

import numpy as np
import pytest

from ave_tf.data import ave_metadata, schema
from ave_tf.data import synthetic_video as sv
from ave_tf.data.synthetic import SyntheticGenerator
from ave_tf.data.synthetic_config import SyntheticConfig, SyntheticConfigError


@pytest.fixture(scope="module")
def generator():
    return SyntheticGenerator(SyntheticConfig(seed=0))


@pytest.fixture(scope="module")
def annotations():
    return ave_metadata.read_annotations()


def _rows_where(annotations, predicate, limit):
    return [a for a in annotations if predicate(a)][:limit]


def _partial(a):
    return 0 < a.end - a.start < schema.NUM_SEGMENTS


def test_same_seed_same_bytes_other_seed_other_features(generator, annotations):
    row = annotations[123]
    first = generator.annotated(row).encode("float16")
    # Another generator, other rows first: a row's video depends only on (seed, row).
    again = SyntheticGenerator(SyntheticConfig(seed=0))
    again.annotated(annotations[7])
    assert again.annotated(row).encode("float16") == first
    other = SyntheticGenerator(SyntheticConfig(seed=1)).annotated(row)
    assert not np.allclose(other.audio, generator.annotated(row).audio)
    assert other.encode("float16") != first


def test_labels_follow_the_annotation_row(generator, annotations):
    for row in (annotations[0], annotations[1], *_rows_where(annotations, _partial, 5)):
        video = generator.annotated(row)
        np.testing.assert_array_equal(video.labels, ave_metadata.segment_labels(row))
        assert video.class_index == ave_metadata.class_index(row.category)
        assert (video.event_start, video.event_end) == (row.start, row.end)
        assert video.annotation_index == row.row
        assert video.video_id == row.video_id


def test_background_videos_are_all_background(generator):
    for index in range(6):
        video = generator.background(index)
        assert video.video_id == f"noisy_{index:03d}"
        assert video.class_index == schema.BACKGROUND_CLASS
        assert (video.labels == schema.BACKGROUND_CLASS).all()
        # No segment has the sound and the object of the same class.
        event = (video.plan.sound_level > 0) & video.plan.object_visible
        same_class = video.plan.audio_mix.argmax() == video.plan.visual_mix.argmax()
        assert not (event.any() and same_class)


def test_value_ranges_look_like_real_features(generator, annotations):
    videos = [generator.annotated(annotations[row]) for row in range(0, 4000, 100)]
    audio = np.stack([v.audio for v in videos])
    visual = np.stack([v.visual for v in videos])
    assert audio.dtype == np.float32 and visual.dtype == np.float32
    assert audio.min() >= 0 and visual.min() >= 0
    # Real VGGish: ~65% zeros, median non-zero value 0.25, max 4.5.
    assert 0.55 < (audio == 0).mean() < 0.75
    assert 0.1 < np.median(audio[audio > 0]) < 0.5
    assert audio.max() < 6
    per_dim_zeros = (audio == 0).reshape(-1, schema.AUDIO_DIM).mean(0)
    assert per_dim_zeros.min() < 0.3 and per_dim_zeros.max() > 0.9
    # Real pool5: mostly 0-20 with a long tail; float16 storage must not overflow.
    assert np.percentile(visual, 95) < 20
    assert 30 < visual.max() < 1000


def _audio_evidence(generator, video, class_index):
    """Correlation of each segment's (unscaled) audio with the class's audio prototype."""
    audio = video.audio / generator.world.audio_scale
    proto = generator.world.audio_prototypes[class_index]
    return np.array([np.corrcoef(a, proto)[0, 1] for a in audio])


def _visual_evidence(generator, video, class_index):
    """Per segment, the best correlation of a cell with the class's visual prototype."""
    cells = (video.visual / generator.world.visual_scale) ** (2.0 / 3.0)  # undo the tail power
    cells = cells.reshape(len(video.labels), -1, schema.VISUAL_CHANNELS)
    proto = generator.world.visual_prototypes[class_index]
    centered = cells - cells.mean(-1, keepdims=True)
    corr = (
        centered
        @ (proto - proto.mean())
        / (np.linalg.norm(centered, axis=-1) * np.linalg.norm(proto - proto.mean()) + 1e-9)
    )
    return corr.max(-1)


def _segments_by_state(generator, annotations, limit=60):
    """Evidence of the video's own class, pooled over partial-event videos, per segment state."""
    out = {state: ([], []) for state in range(4)}
    for row in _rows_where(annotations, _partial, limit):
        video = generator.annotated(row)
        plan = video.plan
        if plan.audio_offset or plan.interference_class >= 0 or plan.distractor_class >= 0:
            continue  # keep the states clean
        if plan.audio_mix.argmax() != video.class_index:
            continue  # a confused sound carries another class's evidence
        if plan.visual_mix.argmax() != video.class_index:
            continue
        audio = _audio_evidence(generator, video, video.class_index)
        visual = _visual_evidence(generator, video, video.class_index)
        for state in range(4):
            out[state][0].extend(audio[plan.states == state])
            out[state][1].extend(visual[plan.states == state])
    return {state: (np.mean(a), np.mean(v), len(a)) for state, (a, v) in out.items()}


def test_events_are_audible_and_visible_backgrounds_only_one_or_neither(generator, annotations):
    stats = _segments_by_state(generator, annotations)
    audio, visual = {s: stats[s][0] for s in stats}, {s: stats[s][1] for s in stats}
    assert all(stats[s][2] >= 5 for s in stats), stats
    # The class sound is in the audio of event and audible-only segments only.
    assert (
        min(audio[sv.EVENT], audio[sv.AUDIBLE_ONLY])
        > max(audio[sv.VISIBLE_ONLY], audio[sv.NEITHER]) + 0.1
    ), stats
    # The class object is in view in event and visible-only segments only.
    assert (
        min(visual[sv.EVENT], visual[sv.VISIBLE_ONLY])
        > max(visual[sv.AUDIBLE_ONLY], visual[sv.NEITHER]) + 0.1
    ), stats


def test_partial_event_backgrounds_use_every_mode(generator, annotations):
    states = np.concatenate(
        [generator.annotated(a).plan.states for a in _rows_where(annotations, _partial, 40)]
    )
    counts = np.bincount(states, minlength=4)
    assert (counts > 0).all(), counts
    full = _rows_where(annotations, lambda a: a.end - a.start == schema.NUM_SEGMENTS, 5)
    for row in full:
        assert (generator.annotated(row).plan.states == sv.EVENT).all()


def test_sounding_object_covers_a_few_cells_and_moves():
    rng = np.random.default_rng(3)
    for _ in range(20):
        track = sv.object_track(rng, 10, SyntheticConfig().object_radius)
        cells = (track > 0).sum(1)
        assert (cells >= 1).all() and (cells <= 13).all() and cells.mean() < 10
        centroids = (track @ np.stack([sv._CELL_Y, sv._CELL_X], 1)) / track.sum(1, keepdims=True)
        assert np.abs(np.diff(centroids, axis=0)).sum() > 0.5


def test_audio_offset_shifts_the_sound_by_one_segment(generator, annotations):
    found = 0
    for row in _rows_where(annotations, _partial, 200):
        plan = generator.annotated(row).plan
        if plan.audio_offset == 0:
            continue
        audible = (plan.states == sv.EVENT) | (plan.states == sv.AUDIBLE_ONLY)
        shifted = np.clip(np.arange(10) - plan.audio_offset, 0, 9)
        np.testing.assert_array_equal(plan.sound_level > 0, audible[shifted])
        found += 1
    assert found >= 3


def test_confusions_differ_by_family(generator, annotations):
    """Vehicles are confused by audio more than by vision; strings the other way round."""
    confused = {"vehicles": [0, 0], "strings": [0, 0]}
    for row in annotations[::3]:
        c = ave_metadata.class_index(row.category)
        family = generator.world.family_traits(c).name
        if family in confused:
            plan = generator.annotated(row).plan
            confused[family][0] += plan.audio_mix.argmax() != c
            confused[family][1] += plan.visual_mix.argmax() != c
    assert confused["vehicles"][0] > 1.5 * confused["vehicles"][1]
    assert confused["strings"][1] > 2 * confused["strings"][0]


@pytest.mark.parametrize(
    "overrides, flag",
    [
        ({"fraction": 0.0}, "fraction"),
        ({"fraction": 1.5}, "fraction"),
        ({"visual_dtype": "int8"}, "visual_dtype"),
        ({"seed": -1}, "seed"),
        ({"distractor_prob": 2.0}, "distractor_prob"),
    ],
)
def test_bad_settings_name_the_setting(overrides, flag):
    with pytest.raises(SyntheticConfigError, match=flag):
        SyntheticConfig(**overrides).validate()
