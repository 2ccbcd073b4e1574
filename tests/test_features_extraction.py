"""FeatureExtractor on generated videos (random weights): shapes, segment counts, errors, cache."""

import os

import numpy as np
import pytest
from video_fixtures import write_video

from ave_tf.data import schema
from ave_tf.features.extraction import ExtractionConfig, FeatureExtractor
from ave_tf.features.feature_cache import FeatureCache
from ave_tf.features.random_weights import assign_random_weights
from ave_tf.features.video_decoding import VideoError
from ave_tf.features.visual_features import build_vgg19_pool5
from ave_tf.features.weight_files import WeightsError

# Two frames per segment keep the VGG-19 work small (the paper samples 16).
CONFIG = ExtractionConfig(random_weights=True, frames_per_second=2, frame_batch_size=3)


@pytest.fixture(scope="module")
def extractor():
    return FeatureExtractor(CONFIG)


def test_extracts_one_entry_per_second(extractor, tmp_path):
    path = write_video(str(tmp_path / "moving.mp4"), duration=2.0)
    features = extractor.extract(path, keep_preview_frames=True)
    assert features.video_id == "moving"
    assert features.audio.shape == (2, schema.AUDIO_DIM)
    assert features.visual.shape == (2, *schema.VISUAL_SHAPE)
    assert features.audio.dtype == features.visual.dtype == np.float32
    assert np.isfinite(features.visual).all() and np.isfinite(features.audio).all()
    assert features.audio.min() >= 0.0  # ReLU embedding, like the AVE release
    # The square moves, so the visual features of the segments differ.
    assert not np.allclose(features.visual[0], features.visual[1])
    assert features.preview_frames.shape == (2, 224, 224, 3)


def test_visual_features_are_the_mean_of_frame_maps(extractor, tmp_path):
    path = write_video(str(tmp_path / "one.webm"), duration=1.0)
    features = extractor.extract(path, keep_preview_frames=True)
    from ave_tf.features.video_decoding import VideoDecoder

    frames = next(VideoDecoder(path, CONFIG.decode_config()).segments())
    maps = extractor.visual.frame_features(frames)
    np.testing.assert_allclose(features.visual[0], maps.mean(axis=0), rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(features.preview_frames[0], frames[1])


def test_config_reaches_the_decoder():
    config = ExtractionConfig(random_weights=True, frames_per_second=3, pad_last=True)
    decode = config.decode_config()
    assert (decode.frames_per_second, decode.frame_size, decode.pad_last) == (3, 224, True)
    with pytest.raises(ValueError, match="audio_framing"):
        ExtractionConfig(audio_framing="centered")


def test_bad_videos_raise_video_error(extractor, tmp_path):
    short = write_video(str(tmp_path / "short.mp4"), duration=0.4)
    with pytest.raises(VideoError, match="short.mp4: audio track is shorter than 1 s"):
        extractor.extract(short)


def test_random_weights_are_reproducible():
    import keras

    def model():
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(2)])

    a = assign_random_weights(model(), seed=5).get_weights()
    b = assign_random_weights(model(), seed=5).get_weights()
    c = assign_random_weights(model(), seed=6).get_weights()
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    assert np.std(a[0]) > 0 and not a[1].any()  # He-normal kernels, zero biases


def test_missing_vgg19_weights_name_flag_file_and_source(tmp_path):
    missing = str(tmp_path / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")
    with pytest.raises(WeightsError) as error:
        build_vgg19_pool5(missing)
    message = str(error.value)
    assert message.startswith(f"--vgg19_weights: weight file {missing} not found")
    assert "storage.googleapis.com/tensorflow/keras-applications/vgg19" in message


def test_loads_the_keras_legacy_h5_weight_format(extractor, tmp_path):
    """The ImageNet notop file is a legacy Keras h5 file: layer_names / weight_names groups."""
    import h5py

    source = extractor.visual.model
    path = str(tmp_path / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode() for layer in source.layers]
        for layer in source.layers:
            group = f.create_group(layer.name)
            names = [f"{layer.name}/{w.name}:0".encode() for w in layer.weights]
            group.attrs["weight_names"] = names
            for name, value in zip(names, layer.get_weights(), strict=True):
                group.create_dataset(name.decode(), data=value)
    loaded = build_vgg19_pool5(path)
    np.testing.assert_array_equal(
        loaded.get_layer("block5_conv4").get_weights()[0],
        source.get_layer("block5_conv4").get_weights()[0],
    )
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"garbage")
    with pytest.raises(WeightsError, match="is not a VGG-19 notop weight file"):
        build_vgg19_pool5(str(bad))


def test_cache_round_trip_and_invalidation(extractor, tmp_path):
    path = write_video(str(tmp_path / "cached.mp4"), duration=1.0)
    features = extractor.extract(path)
    cache = FeatureCache(str(tmp_path / "out"), CONFIG.fingerprint())
    entry = cache.save(features)
    assert not [n for n in os.listdir(os.path.dirname(entry)) if n.startswith(".tmp-")]
    again = cache.load("cached", path)
    np.testing.assert_array_equal(again.visual, features.visual)
    np.testing.assert_array_equal(again.audio, features.audio)
    # Other settings, or an edited video, are extracted again.
    other = ExtractionConfig(random_weights=True, frames_per_second=4)
    assert FeatureCache(str(tmp_path / "out"), other.fingerprint()).load("cached", path) is None
    os.utime(path, ns=(1, 1))
    assert cache.load("cached", path) is None
    # A damaged entry is ignored, not fatal.
    with open(entry, "wb") as f:
        f.write(b"truncated")
    assert cache.load("cached", path) is None


@pytest.mark.slow
def test_paper_settings_sixteen_frames_per_second(tmp_path):
    path = write_video(str(tmp_path / "paper.mp4"), duration=2.0, width=320, height=240)
    features = FeatureExtractor(ExtractionConfig(random_weights=True)).extract(path)
    assert features.visual.shape == (2, *schema.VISUAL_SHAPE)
    assert features.audio.shape == (2, schema.AUDIO_DIM)
