"""Imports the modules that register user models, tasks and experiments.

Two ways, both without touching ave_tf: a config's `imports: [my_lab.my_model]` (also what
`--config_file` may name), or an installed package's entry point in the group `ave_tf.plugins`
(e.g. `[project.entry-points."ave_tf.plugins"] my_model = "my_lab.my_model"`).
"""

import importlib

ENTRY_POINT_GROUP = "ave_tf.plugins"


class PluginError(ImportError):
    """A module named to register plugins cannot be imported (one line naming it)."""


def import_modules(names, source: str = "imports") -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - any failure of a user module is reported as one line
            raise PluginError(
                f"{source}: cannot import {name!r}: {type(e).__name__}: {e}"
            ) from None


def load_entry_points() -> None:
    """Imports every module registered under the `ave_tf.plugins` entry-point group."""
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            entry.load()
        except Exception as e:  # noqa: BLE001
            raise PluginError(
                f"entry point {entry.name!r} ({entry.value}) of group {ENTRY_POINT_GROUP}: "
                f"{type(e).__name__}: {e}"
            ) from None
