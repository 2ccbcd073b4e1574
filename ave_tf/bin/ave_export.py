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

from ave_tf.experiments.cli import define_experiment_flags, experiment_from_flags
from ave_tf.utils.cli import run_main
from ave_tf.utils.errors import describe

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
    # The models are rebuilt from their params.yaml; --model_name/--warmup set its export section.
    define_experiment_flags(("model_name", "warmup"))


def _fail(message: str) -> None:
    from ave_tf.utils.cli import fail

    fail(message)


def _check_role(flag: str, model_dir: str, role: str) -> None:
    """One line naming the flag unless model_dir holds a model serving `role` (no TF needed)."""
    from ave_tf.training.run_dir import RunDirError, read_experiment
    from ave_tf.training.task_registry import TASKS, task_class

    try:
        task = read_experiment(model_dir).task.name
        served = task_class(task).serving_role
    except (RunDirError, LookupError) as e:
        _fail(f"--{flag}: {e.args[0] if isinstance(e, LookupError) else e}")
    if served != role:
        expected = [name for name, cls in TASKS.items() if cls.serving_role == role]
        _fail(f"--{flag}={model_dir}: holds a {task} model; expected {' or '.join(expected)}")


def _load(flag: str, model_dir: str):
    """(model, experiment, info) of a trained model dir, or a one-line error naming the flag."""
    from ave_tf.training import model_io

    try:
        model, experiment = model_io.load_trained_experiment(model_dir, use_cudnn=False)
    except (OSError, ValueError, KeyError, ImportError) as e:
        _fail(f"--{flag}={model_dir}: cannot load the trained model: {describe(e)}")
    info = {
        "model_dir": os.path.abspath(model_dir),
        "task": experiment.task.name,
        "experiment": experiment.experiment,
        "model": experiment.model_name,
        "config": experiment.model.to_dict()
        if hasattr(experiment.model, "to_dict")
        else experiment.to_dict()["model"],
        "params": experiment.to_dict(),
    }
    return model, experiment, info


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

    _check_role("model_dir", FLAGS.model_dir, "localization")
    if FLAGS.weak_model_dir:
        _check_role("weak_model_dir", FLAGS.weak_model_dir, "localization")
    if FLAGS.cross_modal_model_dir:
        _check_role("cross_modal_model_dir", FLAGS.cross_modal_model_dir, "cross_modal")

    from ave_tf.export.exporter import ExportError, export_saved_model
    from ave_tf.utils import hyperparams

    model, trained, info = _load("model_dir", FLAGS.model_dir)
    try:
        experiment = experiment_from_flags(base=trained)
    except (ValueError, LookupError, ImportError) as e:
        _fail(str(e.args[0]) if isinstance(e, LookupError) and e.args else str(e))
    model_info = {"supervised": info}
    outputs = model.output if isinstance(model.output, dict) else {}
    weak_model = model if "video_logits" in outputs else None
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
            model_name=experiment.export.model_name,
            serving_config_dir=FLAGS.serving_config_dir,
            serving_base_path=FLAGS.serving_base_path,
            write_warmup=experiment.export.warmup,
            model_info=model_info,
            extra_assets={"params.yaml": hyperparams.dump_yaml(experiment.to_dict())},
        )
    except (ExportError, OSError) as e:
        _fail(describe(e))
    print(f"ave_export: wrote {path}")


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
