"""Writes trained models as one SavedModel version under a TF-Serving export base.

EXPORT_BASE/
  <version>/                  SavedModel: every signature of `AveServingModule`
    assets.extra/tf_serving_warmup_requests   one warm-up request per signature
    assets.extra/ave_export.json              what was exported (model configs, class names)
  models.config               model_config_list entry for this model (merged, several models)
  batching_parameters.txt     for `tensorflow_model_server --enable_batching`

The version is written into `EXPORT_BASE/.tmp-<version>-<pid>` and renamed into place only once
complete and checked (`versions.publish_version`), so a server watching EXPORT_BASE never sees
half a model.
"""

import contextlib
import datetime
import json
import os

import keras
import tensorflow as tf

import ave_tf
from ave_tf.data import ave_metadata, schema
from ave_tf.export import graph_check, serving_config, versions, warmup
from ave_tf.export import signatures as sig
from ave_tf.export.serving_module import AveServingModule

EXPORT_INFO_FILE = "ave_export.json"


class ExportError(ValueError):
    """An export that cannot be written as asked (names the path and the reason)."""


def _set_method_name(saved_model_dir: str, signature_key: str, method_name: str) -> None:
    """Marks a signature for a TF-Serving API other than Predict (e.g. Classify).

    tf.saved_model.save labels every signature `tensorflow/serving/predict`; the TF2 loader
    ignores the label, TF-Serving's Classify requires `tensorflow/serving/classify`.
    """
    proto = graph_check.read_saved_model_proto(saved_model_dir)
    for meta_graph in proto.meta_graphs:
        if signature_key in meta_graph.signature_def:
            meta_graph.signature_def[signature_key].method_name = method_name
    path = os.path.join(saved_model_dir, versions.SAVED_MODEL_FILE)
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())
    # fingerprint.pb hashes saved_model.pb: rewrite it to match the edited graph.
    from tensorflow.python.saved_model import fingerprinting_utils

    fingerprinting_utils.write_fingerprint(saved_model_dir)


_LOCALIZATION_OUTPUTS = ("logits", "attention")
_CROSS_MODAL_OUTPUTS = ("audio_embedding", "visual_embedding", "distances")
_INPUT_SHAPES = {sig.AUDIO: (schema.AUDIO_DIM,), sig.VISUAL: schema.VISUAL_SHAPE}


def _check_model(role: str, model: keras.Model, outputs: tuple[str, ...]) -> None:
    """ExportError unless the model has the serving contract's inputs and the needed outputs."""
    inputs = model.input if isinstance(model.input, dict) else {}
    for key, feature_shape in _INPUT_SHAPES.items():
        if key not in inputs:
            raise ExportError(f"{role} model '{model.name}' has no input '{key}'")
        shape = tuple(inputs[key].shape[2:])
        if shape != tuple(feature_shape):
            raise ExportError(
                f"{role} model '{model.name}': input '{key}' is [batch, T, {shape}], the serving "
                f"signatures take [batch, T, {tuple(feature_shape)}] (spatial-audio models "
                "cannot be exported)"
            )
    names = model.output if isinstance(model.output, dict) else {}
    missing = [name for name in outputs if name not in names]
    if missing:
        raise ExportError(f"{role} model '{model.name}' lacks output(s) {missing}")


@contextlib.contextmanager
def _recurrent_layers_without_cudnn(models):
    """Traces LSTM/GRU layers on their CPU path, whatever `use_cudnn` they were built with.

    Keras reads `use_cudnn` at call time, so a model built for cuDNN on a GPU (and even one built
    with `use_cudnn=True`) exports a CPU-runnable graph; the attribute is restored afterwards.
    """
    changed = []
    for model in models:
        if model is None:
            continue
        for layer in model._flatten_layers(include_self=False, recursive=True):
            if getattr(layer, "use_cudnn", False) is not False:
                changed.append((layer, layer.use_cudnn))
                layer.use_cudnn = False
    try:
        yield
    finally:
        for layer, value in changed:
            layer.use_cudnn = value


def _write_export_info(saved_model_dir: str, info: dict, extra_assets: dict | None) -> None:
    directory = os.path.join(saved_model_dir, warmup.ASSETS_EXTRA_DIR)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, EXPORT_INFO_FILE), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2, sort_keys=True)
        f.write("\n")
    for name, text in (extra_assets or {}).items():
        with open(os.path.join(directory, os.path.basename(name)), "w", encoding="utf-8") as f:
            f.write(text)


def export_saved_model(
    export_base: str,
    supervised_model: keras.Model,
    weak_model: keras.Model | None = None,
    cross_modal_model: keras.Model | None = None,
    version: int | None = None,
    overwrite: bool = False,
    model_name: str = "ave",
    serving_config_dir: str | None = None,
    serving_base_path: str | None = None,
    write_warmup: bool = True,
    model_info: dict | None = None,
    extra_assets: dict | None = None,
) -> str:
    """Exports the models as `EXPORT_BASE/<version>/`; returns that path.

    Args:
      export_base: the model's base path (what a server's `--model_base_path` points at).
      supervised_model: localization model for `serving_default`/`supervised`/`parse_and_predict`
        (recurrent layers are traced without cuDNN whatever their `use_cudnn`).
      weak_model: optional weakly-supervised model for `weak`/`classify`.
      cross_modal_model: optional cross-modal model; adds `distance` and `localize_*`.
      version: integer version; default: one more than the newest under `export_base`.
      overwrite: replace an existing version instead of failing.
      model_name: the model's name in `models.config` and in warm-up requests.
      serving_config_dir: where `models.config` and `batching_parameters.txt` go (default:
        `export_base`); an existing models.config there is merged.
      serving_base_path: base path written into models.config (default: absolute
        `export_base`; use the container path when serving from docker).
      write_warmup: store warm-up requests in `assets.extra/`.
      model_info: JSON-serializable description stored in `assets.extra/ave_export.json`.
      extra_assets: {file name: text} also written into `assets.extra/` (e.g. the experiment's
        params.yaml, so an export says how its model was trained).

    Raises:
      ExportError: the version exists (without `overwrite`), or the graph holds ops that a
        CPU-only server cannot run.
    """
    _check_model("supervised", supervised_model, _LOCALIZATION_OUTPUTS)
    if weak_model is not None:
        _check_model("weak", weak_model, _LOCALIZATION_OUTPUTS)
    if cross_modal_model is not None:
        _check_model("cross_modal", cross_modal_model, _CROSS_MODAL_OUTPUTS)
    class_names = ave_metadata.class_names()

    def write(staging: str, version: int) -> None:
        module = AveServingModule(
            supervised_model,
            weak_model=weak_model,
            cross_modal_model=cross_modal_model,
            class_names=class_names,
        )
        signature_functions = module.signatures()
        with _recurrent_layers_without_cudnn([supervised_model, weak_model, cross_modal_model]):
            tf.saved_model.save(module, staging, signatures=signature_functions)
        _set_method_name(staging, sig.CLASSIFY, sig.CLASSIFY_METHOD)
        forbidden = graph_check.find_cpu_incompatible_ops(staging)
        if forbidden:
            listed = ", ".join(str(op) for op in forbidden[:5])
            raise ExportError(
                f"{export_base}: the graph holds {len(forbidden)} op(s) without a CPU kernel: "
                f"{listed}; rebuild the model with use_cudnn=False"
            )
        signature_names = sorted(signature_functions)
        if write_warmup:
            warmup.write_warmup_requests(staging, model_name, signature_names)
        _write_export_info(
            staging,
            {
                "model_name": model_name,
                "version": version,
                "signatures": signature_names,
                "class_names": list(class_names),
                "models": model_info or {},
                "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                "ave_tf_version": ave_tf.__version__,
                "tensorflow_version": tf.__version__,
            },
            extra_assets,
        )

    if version is not None and version < 0:
        raise ExportError(f"version must be a non-negative integer, got {version}")
    try:
        final = versions.publish_version(export_base, write, version, overwrite)
    except versions.VersionExistsError as e:
        raise ExportError(str(e)) from None
    config_dir = serving_config_dir or export_base
    serving_config.update_models_config(
        config_dir, model_name, serving_base_path or os.path.abspath(export_base)
    )
    serving_config.write_batching_parameters(config_dir)
    return final
