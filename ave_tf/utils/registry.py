"""Name -> object registries (models, tasks, experiments, fusions), as TF Model Garden's.

A registry maps unique names to the objects code looks up by name from configs and flags, so
a new model, task or recipe is one decorated definition in one file and no if-chain anywhere:

    MODELS = Registry("model")

    @MODELS.register("my_model")
    def build_my_model(config): ...

    MODELS.get("my_modle")  # LookupError: unknown model 'my_modle' (known: ...; did you mean ...)
"""

import difflib


class RegistryError(LookupError):
    """An unknown or duplicate name (the message lists the known names)."""


class Registry:
    """Unique names mapped to objects, kept in registration order.

    Args:
      kind: what the registry holds, for messages ("model", "task", "experiment", ...).
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, object] = {}

    def register(self, name: str, value=None):
        """Registers `value` under `name`; without `value`, a decorator that registers its target.

        Raises RegistryError when the name is taken (names are unique: a second definition
        would silently shadow the first depending on import order).
        """
        if not isinstance(name, str) or not name:
            raise RegistryError(f"a {self.kind} name must be a non-empty string, got {name!r}")

        def add(target):
            if name in self._entries and self._entries[name] is not target:
                raise RegistryError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = target
            return target

        return add if value is None else add(value)

    def get(self, name: str):
        """The object registered under `name`; RegistryError listing the known names otherwise."""
        if name in self._entries:
            return self._entries[name]
        known = ", ".join(self._entries) or "none"
        close = difflib.get_close_matches(str(name), list(self._entries), n=3)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise RegistryError(f"unknown {self.kind} {name!r} (known: {known}){hint}")

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def items(self):
        return tuple(self._entries.items())

    def __contains__(self, name) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)
