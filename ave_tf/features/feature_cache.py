"""Per-video feature files that make extraction resumable.

`DatasetWriter` writes a whole dataset atomically, so progress is kept per video instead:
`<output_dir>/.features/<video_id>.npz` (audio, visual, and a JSON header naming the source
file and the extraction fingerprint), each written to a temporary name and renamed. A rerun
reuses an entry only when its fingerprint, source path, size and modification time all
match; anything else (other weights or settings, an edited video, an unreadable entry) is
extracted again.
"""

import json
import os
import tempfile

import numpy as np

from ave_tf.features.extraction import VideoFeatures

CACHE_DIR = ".features"
_HEADER = "header"


def _source_identity(path: str) -> dict:
    stat = os.stat(path)
    return {"path": os.path.abspath(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


class FeatureCache:
    """Atomic per-video feature files under `<output_dir>/.features/`.

    Args:
      output_dir: the dataset directory being built.
      fingerprint: `ExtractionConfig.fingerprint()`; entries made with another one are ignored.
    """

    def __init__(self, output_dir: str, fingerprint: dict):
        self.directory = os.path.join(output_dir, CACHE_DIR)
        self.fingerprint = json.loads(json.dumps(fingerprint))  # JSON-normalized for comparing

    def path(self, video_id: str) -> str:
        return os.path.join(self.directory, f"{video_id}.npz")

    def load(self, video_id: str, source_path: str) -> VideoFeatures | None:
        """The cached features of `source_path`, or None when they must be (re)extracted."""
        path = self.path(video_id)
        if not os.path.isfile(path):
            return None
        try:
            with np.load(path, allow_pickle=False) as entry:
                header = json.loads(str(entry[_HEADER]))
                if header.get("fingerprint") != self.fingerprint or header.get(
                    "source"
                ) != _source_identity(source_path):
                    return None
                return VideoFeatures(
                    video_id=video_id,
                    path=source_path,
                    audio=entry["audio"].astype(np.float32),
                    visual=entry["visual"].astype(np.float32),
                )
        except (OSError, ValueError, KeyError, json.JSONDecodeError):
            return None  # unreadable entry (e.g. a disk that filled up): extract again

    def save(self, features: VideoFeatures) -> str:
        """Writes the entry of `features` atomically; returns its path."""
        os.makedirs(self.directory, exist_ok=True)
        header = {"fingerprint": self.fingerprint, "source": _source_identity(features.path)}
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(
                    f,
                    audio=features.audio.astype(np.float32),
                    visual=features.visual.astype(np.float32),
                    header=np.array(json.dumps(header)),
                )
            os.replace(tmp, self.path(features.video_id))
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return self.path(features.video_id)
