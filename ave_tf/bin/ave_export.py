r"""Exports trained models as a TF-Serving SavedModel version: EXPORT_BASE/<version>/.

One SavedModel carries every signature: the --model_dir localization model serves
`serving_default`/`supervised`/`parse_and_predict`; `weak`/`classify` use --weak_model_dir (or
the --model_dir model when it is weakly supervised, else its mean MIL pooling); a
--cross_modal_model_dir adds `distance`, `localize_a2v` and `localize_v2a`. Models are rebuilt
without GPU-only ops, so a model trained on a GPU serves on a CPU.

Example:

  ave_export --model_dir=runs/demo --export_base=export/ave
"""

import os

from absl import app, flags

from ave_tf.bin.common import run_main

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_string("model_dir", None, "Trained localization model (ave_train --model_dir).")
    flags.DEFINE_string("export_base", None, "Base folder of the integer version folders.")
    flags.DEFINE_string("weak_model_dir", None, "Optional weakly-supervised model for `weak`.")
    flags.DEFINE_string(
        "cross_modal_model_dir", None, "Optional cross-modal model: adds `distance`, `localize_*`."
    )
    flags.DEFINE_integer("version", None, "Version to write (default: newest + 1).")
    flags.DEFINE_bool("overwrite", False, "Replace an existing version.")
    flags.DEFINE_string("model_name", "ave", "Model name in models.config and warm-up requests.")
    flags.DEFINE_string(
        "serving_config_dir",
        None,
        "Where models.config and batching_parameters.txt go (default: --export_base); an "
        "existing models.config there gains this model.",
    )
    flags.DEFINE_string(
        "serving_base_path",
        None,
        "base_path written into models.config (default: absolute --export_base; use the "
        "container path, e.g. /models/ave, for a server in docker).",
    )
    flags.DEFINE_bool("warmup", True, "Store warm-up requests in assets.extra/.")


def _fail(message: str) -> None:
    from ave_tf.bin.common import fail

    fail(message)


def _task(flag: str, model_dir: str, tasks: tuple[str, ...]) -> str:
    """The task in config.json (read without TensorFlow), or a one-line error naming the flag."""
    from ave_tf.training.run_dir import RunDirError, read_run_config

    try:
        task = read_run_config(model_dir).get("task")
    except RunDirError as e:
        _fail(f"--{flag}: {e}")
    if task not in tasks:
        _fail(f"--{flag}={model_dir}: holds a {task} model; expected {' or '.join(tasks)}")
    return task


def _load(flag: str, model_dir: str):
    """(model, task, info) of a trained model dir, or a one-line error naming the flag."""
    from ave_tf.training import model_io

    try:
        model, task, config = model_io.load_trained_model(model_dir, use_cudnn=False)
    except (OSError, ValueError, KeyError) as e:
        _fail(f"--{flag}={model_dir}: cannot load the trained model: {e}")
    info = {"model_dir": os.path.abspath(model_dir), "task": task}
    if hasattr(config, "to_dict"):
        info["config"] = config.to_dict()
    return model, task, info


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    for name in ("model_dir", "export_base"):
        if not getattr(FLAGS, name):
            raise app.UsageError(f"--{name} is required")
    if FLAGS.version is not None and FLAGS.version < 0:
        raise app.UsageError(f"--version must be >= 0, got {FLAGS.version}")

    # Cheap checks first: loading and tracing the models takes a while.
    for name in ("model_dir", "weak_model_dir", "cross_modal_model_dir"):
        path = getattr(FLAGS, name)
        if path and not os.path.isdir(path):
            _fail(f"--{name}={path}: no such directory")
    if FLAGS.version is not None and not FLAGS.overwrite:
        existing = os.path.join(FLAGS.export_base, str(FLAGS.version))
        if os.path.exists(existing):
            _fail(f"--version={FLAGS.version}: {existing} exists; pass --overwrite to replace it")

    localization = ("supervised", "weak")
    _task("model_dir", FLAGS.model_dir, localization)
    if FLAGS.weak_model_dir:
        _task("weak_model_dir", FLAGS.weak_model_dir, localization)
    if FLAGS.cross_modal_model_dir:
        _task("cross_modal_model_dir", FLAGS.cross_modal_model_dir, ("cross_modal",))

    from ave_tf.export.exporter import ExportError, export_saved_model

    model, task, info = _load("model_dir", FLAGS.model_dir)
    model_info = {"supervised": info}
    weak_model = model if task == "weak" else None
    if FLAGS.weak_model_dir:
        weak_model, _, model_info["weak"] = _load("weak_model_dir", FLAGS.weak_model_dir)
    cross_modal_model = None
    if FLAGS.cross_modal_model_dir:
        cross_modal_model, _, model_info["cross_modal"] = _load(
            "cross_modal_model_dir", FLAGS.cross_modal_model_dir
        )
    try:
        path = export_saved_model(
            FLAGS.export_base,
            model,
            weak_model=weak_model,
            cross_modal_model=cross_modal_model,
            version=FLAGS.version,
            overwrite=FLAGS.overwrite,
            model_name=FLAGS.model_name,
            serving_config_dir=FLAGS.serving_config_dir,
            serving_base_path=FLAGS.serving_base_path,
            write_warmup=FLAGS.warmup,
            model_info=model_info,
        )
    except (ExportError, OSError) as e:
        _fail(str(e))
    print(f"ave_export: wrote {path}")


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
