"""The served models: which versions are loaded, and a watcher that picks up new ones.

Like tensorflow_model_server, the registry polls each model's base path for integer version
folders and keeps the versions its policy asks for (default: the newest one). A new version is
loaded (and warmed up) first and swapped in only then, so requests never wait for a load and the
old version serves until the new one is ready. A version that fails to load is logged, reported by
GetModelStatus, and skipped until its folder changes.
"""

import dataclasses
import logging
import os
import threading

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


def _folder_stamp(path: str) -> float:
    """Changes when a version folder is replaced or rewritten."""
    stamps = [os.stat(path).st_mtime]
    pb = os.path.join(path, versions.SAVED_MODEL_FILE)
    if os.path.exists(pb):
        stamps.append(os.stat(pb).st_mtime)
    return max(stamps)


class ModelRegistry:
    """Loaded versions of every ModelSource, refreshed by `poll()` or a watcher thread.

    Args:
      sources: the models to serve.
      warmup: replay each version's `assets.extra/tf_serving_warmup_requests` before serving it.
      loader: builds a loaded version (name, version, path); tests may replace it.
    """

    def __init__(self, sources: list[ModelSource], warmup: bool = True, loader=LoadedModel):
        self._sources = {s.name: s for s in sources}
        self._warmup = warmup
        self._loader = loader
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._loaded: dict[str, dict[int, LoadedModel]] = {s.name: {} for s in sources}
        self._failed: dict[tuple[str, int], tuple[float, str]] = {}
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
        """Complete versions on disk, minus those that failed and have not changed since."""
        loadable = []
        for version in versions.list_versions(source.base_path, complete_only=True):
            failure = self._failed.get((source.name, version))
            try:
                stamp = _folder_stamp(versions.version_path(source.base_path, version))
            except OSError:
                continue  # removed while listing
            if failure is None or failure[0] != stamp:
                loadable.append(version)
        return loadable

    def _refresh(self, source: ModelSource) -> None:
        # Loading may fail; a failed version drops out of `loadable`, and the policy then asks
        # for the next best one (e.g. the previous version), so repeat until nothing is missing.
        while True:
            loadable = self._loadable(source)
            missing = [v for v in source.wanted(loadable) if v not in self._loaded[source.name]]
            if not missing:
                break
            for version in missing:
                self._load(source, version)
        with self._lock:
            loaded = self._loaded[source.name]
            keep = source.wanted([v for v in loadable if v in loaded])
            for version in sorted(set(loaded) - set(keep)):
                logging.info("unloading model %s version %d", source.name, version)
            self._loaded[source.name] = {v: loaded[v] for v in keep}

    def _load(self, source: ModelSource, version: int) -> None:
        path = versions.version_path(source.base_path, version)
        try:
            stamp = _folder_stamp(path)
        except OSError:
            return  # removed meanwhile
        try:
            model = self._loader(source.name, version, path)
            warmed = model.warm_up() if self._warmup else 0
        except RequestError as e:
            self._mark_failed(source, version, stamp, f"warm-up request failed: {e.message}")
            return
        except Exception as e:  # noqa: BLE001 - any broken version is skipped, never fatal
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

    def _mark_failed(self, source: ModelSource, version: int, stamp: float, message: str) -> None:
        self._failed[(source.name, version)] = (stamp, message)
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
        failed = {v: message for (n, v), (_, message) in self._failed.items() if n == name}
        statuses = [VersionStatus(v, "AVAILABLE") for v in loaded]
        statuses += [VersionStatus(v, "END", msg) for v, msg in failed.items() if v not in loaded]
        if version is not None:
            statuses = [s for s in statuses if s.version == version]
            if not statuses:
                raise not_found(f"Could not find version {version} of model {name}")
        elif not statuses:
            raise not_found(f"Could not find any versions of model {name}")
        return sorted(statuses, key=lambda s: s.version)
