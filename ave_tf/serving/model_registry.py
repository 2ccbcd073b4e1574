"""The served models: which versions are loaded, and a watcher that picks up new ones.

Like tensorflow_model_server, the registry polls each model's base path for integer version
folders and keeps the versions its policy asks for (default: the newest one). A new version is
loaded (and warmed up) first and swapped in only then, so requests never wait for a load and the
old version serves until the new one is ready. A version that fails to load is logged, reported by
GetModelStatus, and loaded again when anything in its folder changes (a version copied file by
file, as gsutil or rsync do, fails to load until its last file arrives) or, as TF Serving does, up
to `max_load_retries` times every `load_retry_interval` seconds. Folder names that are not
versions (not an integer, beyond int64) are ignored with one warning each.
"""

import ctypes
import dataclasses
import gc
import logging
import os
import threading
import time

import grpc

from ave_tf.export import serving_config, versions
from ave_tf.serving.errors import RequestError, not_found
from ave_tf.serving.loaded_model import LoadedModel

POLICIES = ("latest", "all", "specific")


@dataclasses.dataclass
class ModelSource:
    """Where a model's versions live and which of them to serve.

    Attributes:
      name: the model name of requests (`model_spec.name`).
      base_path: folder of integer version folders.
      policy: "latest" (the `num_versions` newest), "all", or "specific" (`specific_versions`).
      num_versions: versions kept by "latest".
      specific_versions: versions served by "specific".
      version_labels: label -> version (`model_spec.version_label`).
    """

    name: str
    base_path: str
    policy: str = "latest"
    num_versions: int = 1
    specific_versions: tuple[int, ...] = ()
    version_labels: dict[str, int] = dataclasses.field(default_factory=dict)

    def wanted(self, available: list[int]) -> list[int]:
        """The versions to serve among the loadable ones (ascending)."""
        if self.policy == "all":
            return list(available)
        if self.policy == "specific":
            return [v for v in available if v in self.specific_versions]
        return list(available[-self.num_versions :]) if self.num_versions > 0 else []


def sources_from_config_file(path: str) -> list[ModelSource]:
    """ModelSources of a TF-Serving `models.config` (model_config_list text proto)."""
    config = serving_config.read_models_config(path)
    sources = []
    for entry in config.model_config_list.config:
        if not entry.name or not entry.base_path:
            raise serving_config.ServingConfigError(f"{path}: every model needs name and base_path")
        policy = entry.model_version_policy.WhichOneof("policy_choice") or "latest"
        latest = entry.model_version_policy.latest
        sources.append(
            ModelSource(
                name=entry.name,
                base_path=entry.base_path,
                policy=policy,
                num_versions=latest.num_versions
                if policy == "latest" and latest.num_versions
                else 1,
                specific_versions=tuple(entry.model_version_policy.specific.versions),
                version_labels=dict(entry.version_labels),
            )
        )
    if len({s.name for s in sources}) != len(sources):
        raise serving_config.ServingConfigError(f"{path}: model names must be unique")
    return sources


@dataclasses.dataclass(frozen=True)
class VersionStatus:
    version: int
    state: str  # "AVAILABLE" or "END" (failed to load)
    error: str = ""


def _folder_stamp(path: str) -> tuple:
    """Changes when anything in a version folder is added, removed, rewritten or grows."""
    entries = [("", os.stat(path).st_mtime_ns, 0)]
    for folder, _, files in os.walk(path):
        for name in files:
            full = os.path.join(folder, name)
            try:
                info = os.stat(full)
            except OSError:
                continue  # removed while walking: the next poll sees the difference
            entries.append((os.path.relpath(full, path), info.st_mtime_ns, info.st_size))
    return tuple(sorted(entries))


@dataclasses.dataclass
class _Failure:
    stamp: tuple
    message: str
    attempts: int
    at: float  # time.monotonic() of the last attempt


def _return_freed_memory() -> None:
    """Collects the unloaded versions' reference cycles and hands the freed heap back to the OS
    (glibc keeps freed arenas otherwise, and RSS would ratchet up with every swap)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc


def _release(model) -> None:
    release = getattr(model, "release", None)  # test loaders may have none
    if release is not None:
        release()


class ModelRegistry:
    """Loaded versions of every ModelSource, refreshed by `poll()` or a watcher thread.

    Args:
      sources: the models to serve.
      warmup: replay each version's `assets.extra/tf_serving_warmup_requests` before serving it.
      loader: builds a loaded version (name, version, path); tests may replace it.
    """

    def __init__(
        self,
        sources: list[ModelSource],
        warmup: bool = True,
        loader=LoadedModel,
        max_load_retries: int = 5,
        load_retry_interval: float = 60.0,
    ):
        self._sources = {s.name: s for s in sources}
        self._warmup = warmup
        self._loader = loader
        self._max_load_retries = max_load_retries
        self._load_retry_interval = load_retry_interval
        self._warned: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._loaded: dict[str, dict[int, LoadedModel]] = {s.name: {} for s in sources}
        self._failed: dict[tuple[str, int], _Failure] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def model_names(self) -> list[str]:
        return sorted(self._sources)

    def poll(self) -> None:
        """Loads the wanted versions not yet loaded, then drops those no longer wanted."""
        with self._poll_lock:
            for source in self._sources.values():
                self._refresh(source)

    def _loadable(self, source: ModelSource) -> list[int]:
        """Complete versions on disk, minus those that failed, have not changed since and have
        no timed retry due."""
        found, ignored = versions.scan_versions(source.base_path, complete_only=True)
        for name in ignored:
            if (source.name, name) not in self._warned:
                self._warned.add((source.name, name))
                logging.warning(
                    "model %s: ignoring folder %s under %s: %s",
                    source.name, name, source.base_path, versions.not_a_version_reason(name),
                )  # fmt: skip
        loadable = []
        now = time.monotonic()
        for version in found:
            failure = self._failed.get((source.name, version))
            if failure is None:
                loadable.append(version)
                continue
            try:
                stamp = _folder_stamp(versions.version_path(source.base_path, version))
            except OSError:
                continue  # removed while listing
            retry_due = (
                failure.attempts <= self._max_load_retries
                and now - failure.at >= self._load_retry_interval
            )
            if failure.stamp != stamp or retry_due:
                loadable.append(version)
        return loadable

    def _refresh(self, source: ModelSource) -> None:
        # Loading may fail; a failed version drops out of `loadable`, and the policy then asks
        # for the next best one (e.g. the previous version), so repeat until nothing is missing.
        # Each version is tried at most once per poll, even if its folder keeps changing.
        attempted: set[int] = set()
        while True:
            loaded = self._loaded[source.name]
            loadable = [v for v in self._loadable(source) if v in loaded or v not in attempted]
            missing = [v for v in source.wanted(loadable) if v not in loaded]
            if not missing:
                break
            for version in missing:
                attempted.add(version)
                self._load(source, version)
        with self._lock:
            loaded = self._loaded[source.name]
            keep = source.wanted([v for v in loadable if v in loaded])
            dropped = [loaded[v] for v in sorted(set(loaded) - set(keep))]
            self._loaded[source.name] = {v: loaded[v] for v in keep}
        for model in dropped:
            logging.info("unloading model %s version %d", source.name, model.version)
            _release(model)
        if dropped:
            del dropped, model
            _return_freed_memory()

    def _load(self, source: ModelSource, version: int) -> None:
        path = versions.version_path(source.base_path, version)
        try:
            stamp = _folder_stamp(path)
        except OSError:
            return  # removed meanwhile
        model = None
        try:
            model = self._loader(source.name, version, path)
            warmed = model.warm_up() if self._warmup else 0
        except RequestError as e:
            _release(model)
            self._mark_failed(source, version, stamp, f"warm-up request failed: {e.message}")
            return
        except Exception as e:  # noqa: BLE001 - any broken version is skipped, never fatal
            _release(model)
            self._mark_failed(source, version, stamp, f"{type(e).__name__}: {e}".splitlines()[0])
            return
        self._failed.pop((source.name, version), None)
        with self._lock:
            self._loaded[source.name] = {**self._loaded[source.name], version: model}
        logging.info(
            "loaded model %s version %d from %s (%d warm-up requests)",
            source.name,
            version,
            path,
            warmed,
        )

    def _mark_failed(self, source: ModelSource, version: int, stamp: tuple, message: str) -> None:
        previous = self._failed.get((source.name, version))
        # A changed folder starts a new series of timed retries.
        attempts = previous.attempts + 1 if previous and previous.stamp == stamp else 1
        self._failed[(source.name, version)] = _Failure(stamp, message, attempts, time.monotonic())
        logging.error("model %s version %d is not served: %s", source.name, version, message)

    def start(self, poll_seconds: float) -> None:
        """Polls in a daemon thread every `poll_seconds` (0 = never) until `stop()`."""
        if poll_seconds <= 0:
            return

        def watch():
            while not self._stop.wait(poll_seconds):
                try:
                    self.poll()
                except Exception:  # noqa: BLE001 - keep watching after e.g. a vanished folder
                    logging.exception("polling the model base paths failed")

        self._thread = threading.Thread(target=watch, name="version-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def resolve(self, model_spec) -> LoadedModel:
        """The loaded version a request's ModelSpec asks for (NOT_FOUND if none)."""
        name = model_spec.name
        source = self._sources.get(name)
        if source is None:
            served = ", ".join(self.model_names)
            raise not_found(f"Servable not found for request: model '{name}' (served: {served})")
        with self._lock:
            loaded = self._loaded[name]
        # version and version_label are a oneof of ModelSpec: at most one is set.
        label = model_spec.version_label
        if label:
            if label not in source.version_labels:
                raise not_found(f"model '{name}' has no version label '{label}'")
            version = source.version_labels[label]
        elif model_spec.HasField("version"):
            version = model_spec.version.value
        else:
            if not loaded:
                raise not_found(f"Servable not found for request: Latest({name}): none loaded")
            return loaded[max(loaded)]
        if version not in loaded:
            raise not_found(
                f"Servable not found for request: Specific({name}, {version}) "
                f"(loaded: {sorted(loaded) or 'none'})"
            )
        return loaded[version]

    def available_versions(self, name: str) -> list[int]:
        """Versions of `name` now served, ascending ([] for none or an unknown model)."""
        with self._lock:
            return sorted(self._loaded.get(name, {}))

    def status(self, name: str, version: int | None = None) -> list[VersionStatus]:
        """AVAILABLE versions and versions that failed to load, ascending."""
        if name not in self._sources:
            raise RequestError(grpc.StatusCode.NOT_FOUND, f"Could not find any versions of {name}")
        with self._lock:
            loaded = set(self._loaded[name])
        failed = {v: failure.message for (n, v), failure in self._failed.items() if n == name}
        statuses = [VersionStatus(v, "AVAILABLE") for v in loaded]
        statuses += [VersionStatus(v, "END", msg) for v, msg in failed.items() if v not in loaded]
        if version is not None:
            statuses = [s for s in statuses if s.version == version]
            if not statuses:
                raise not_found(f"Could not find version {version} of model {name}")
        elif not statuses:
            raise not_found(f"Could not find any versions of model {name}")
        return sorted(statuses, key=lambda s: s.version)
