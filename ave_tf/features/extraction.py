"""One video -> AVE segment features: VGGish audio [T, 128] and VGG-19 visual [T, 7, 7, 512]."""

import dataclasses
import os

import numpy as np

from ave_tf.features import log_mel, video_decoding
from ave_tf.features.audio_features import AudioFeatureExtractor
from ave_tf.features.video_decoding import DecodeConfig, VideoDecoder, VideoError
from ave_tf.features.visual_features import FRAME_SIZE, VisualFeatureExtractor
from ave_tf.features.weight_files import (
    VGG19_FLAG,
    VGG19_HOW_TO_GET,
    VGGISH_FLAG,
    VGGISH_HOW_TO_GET,
    VGGISH_PCA_FLAG,
    VGGISH_PCA_HOW_TO_GET,
    require_weight_file,
)
from ave_tf.utils.background_iterator import prefetch_in_thread

PROTOCOLS = video_decoding.FRAME_SAMPLINGS  # "release", "timed"
# Decoded segments held ahead of VGG-19: 2 x 16 frames x 150 KB (224x224 RGB) at most.
DECODE_AHEAD_SEGMENTS = 2
_PROTOCOL_FRAMING = {"release": "release", "timed": "aligned"}


@dataclasses.dataclass(frozen=True)
class ExtractionConfig:
    """Everything that decides the extracted features.

    Attributes:
      vgg19_weights: Keras VGG-19 ImageNet notop weight file.
      vggish_weights: VGGish Keras weight file (made by `convert_vggish`).
      vggish_pca_params: optional VGGish PCA file: post-processed (PCA, 8-bit) audio features.
      random_weights: random weights instead of the files (tests, smoke runs, benchmarks).
      seed: seed of the random weights.
      frames_per_second: frames sampled per 1-s segment (16 in the paper).
      pad_last: keep a trailing partial second as a padded segment (see `video_decoding`).
      resampler: "auto", "tfio" or "ffmpeg" (see `video_decoding`).
      protocol: "release" (default) reproduces how the public AVE features were computed (the
        authors' extraction scripts): frames chosen by index and resized as OpenCV does
        (`video_decoding`), one VGGish example every 0.96 s of the clip (`log_mel`), the raw
        128-d embedding after its ReLU, no PCA. "timed": the frame on screen at s + (i + 0.5) /
        fps resized by FFmpeg, and the example that starts with each segment (no drift over
        long videos, where the release framing runs 0.04 s late per second).
      audio_framing: "" (the protocol's), "aligned" or "release" (see `log_mel`).
      embedding_relu: ReLU on the VGGish embedding, as in the AVE release (see `vggish`).
      frame_batch_size: frames per VGG-19 forward pass (speed/memory only).
    """

    vgg19_weights: str | None = None
    vggish_weights: str | None = None
    vggish_pca_params: str | None = None
    random_weights: bool = False
    seed: int = 0
    frames_per_second: int = 16
    pad_last: bool = False
    resampler: str = "auto"
    protocol: str = "release"
    audio_framing: str = ""
    embedding_relu: bool = True
    frame_batch_size: int = 32

    def __post_init__(self):
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {self.protocol!r}")
        if not self.audio_framing:  # frozen: resolve the protocol's framing once, here
            object.__setattr__(self, "audio_framing", _PROTOCOL_FRAMING[self.protocol])
        self.decode_config()  # validates the decoding fields
        if self.audio_framing not in log_mel.FRAMINGS:
            raise ValueError(
                f"audio_framing must be one of {log_mel.FRAMINGS}, got {self.audio_framing!r}"
            )
        if self.frame_batch_size < 1:
            raise ValueError(f"frame_batch_size must be >= 1, got {self.frame_batch_size}")

    def check_weight_files(self) -> None:
        """Raises WeightsError for the first missing weight file (before any network is built)."""
        if not self.random_weights:
            require_weight_file(self.vgg19_weights, VGG19_FLAG, VGG19_HOW_TO_GET)
            require_weight_file(self.vggish_weights, VGGISH_FLAG, VGGISH_HOW_TO_GET)
        if self.vggish_pca_params:
            require_weight_file(self.vggish_pca_params, VGGISH_PCA_FLAG, VGGISH_PCA_HOW_TO_GET)

    def decode_config(self) -> DecodeConfig:
        return DecodeConfig(
            frames_per_second=self.frames_per_second,
            frame_size=FRAME_SIZE,
            pad_last=self.pad_last,
            resampler=self.resampler,
            frame_sampling=self.protocol,
        )

    def fingerprint(self) -> dict:
        """What the feature values depend on: settings and the identity of the weight files."""
        fields = dataclasses.asdict(self)
        fields.pop("frame_batch_size")
        if self.random_weights:
            fields.update(vgg19_weights=None, vggish_weights=None)
        else:
            fields.pop("seed")
        for name in ("vgg19_weights", "vggish_weights", "vggish_pca_params"):
            fields[name] = _file_identity(fields[name])
        return fields


def _file_identity(path: str | None) -> list | None:
    if not path:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return [os.path.abspath(path)]
    return [os.path.abspath(path), stat.st_size, stat.st_mtime_ns]


def video_id_for(path: str) -> str:
    """The video id of a file: its name without the extension (AVE files are <YouTubeID>.mp4)."""
    return os.path.splitext(os.path.basename(path))[0]


@dataclasses.dataclass
class VideoFeatures:
    """The features of one video.

    Attributes:
      video_id: see `video_id_for`.
      path: the video file.
      audio: float32 [T, 128].
      visual: float32 [T, 7, 7, 512].
      preview_frames: uint8 [T, 224, 224, 3], the middle sampled frame of each segment, when
        asked for (plots); None otherwise.
    """

    video_id: str
    path: str
    audio: np.ndarray
    visual: np.ndarray
    preview_frames: np.ndarray | None = None

    @property
    def num_segments(self) -> int:
        return int(self.audio.shape[0])


class FeatureExtractor:
    """Decodes videos and runs VGG-19 and VGGish on their 1-s segments.

    Building it loads both networks (and checks the weight files), so build one and reuse it.

    Args:
      config: an `ExtractionConfig`.

    Raises:
      WeightsError: a weight file is missing or unusable (names the flag and the file).

    Example:
      extractor = FeatureExtractor(ExtractionConfig(random_weights=True))
      features = extractor.extract("video.mp4")  # features.audio [T, 128], .visual [T, 7, 7, 512]
    """

    def __init__(self, config: ExtractionConfig):
        self.config = config
        config.check_weight_files()
        self.audio = AudioFeatureExtractor(
            config.vggish_weights,
            random_weights=config.random_weights,
            embedding_relu=config.embedding_relu,
            framing=config.audio_framing,
            pca_params_path=config.vggish_pca_params,
            seed=config.seed,
        )
        self.visual = VisualFeatureExtractor(
            config.vgg19_weights,
            random_weights=config.random_weights,
            batch_size=config.frame_batch_size,
            seed=config.seed,
        )

    def extract(self, path: str, keep_preview_frames: bool = False) -> VideoFeatures:
        """Features of one video file.

        Raises:
          VideoError: the file cannot be decoded, lacks a stream, or is shorter than 1 s.
        """
        decoder = VideoDecoder(path, self.config.decode_config())
        previews = []
        middle = self.config.frames_per_second // 2

        def segments():
            for frames in decoder.segments(limit=decoder.audio_segments):
                if keep_preview_frames:
                    previews.append(frames[middle])
                yield frames

        # Decoding (PyAV releases the GIL) runs a few segments ahead of VGG-19 in a thread, so
        # the convolutions never wait for frames.
        visual = self.visual.segment_features(
            prefetch_in_thread(segments(), DECODE_AHEAD_SEGMENTS, name="ave-video-decoder")
        )
        if len(visual) == 0:
            raise VideoError(f"{path}: no complete 1-s segment")
        audio = self.audio(decoder.waveform, len(visual))
        return VideoFeatures(
            video_id=video_id_for(path),
            path=path,
            audio=audio,
            visual=visual,
            preview_frames=np.stack(previews) if keep_preview_frames else None,
        )
