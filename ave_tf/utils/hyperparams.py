"""Typed, nested config dataclasses: strict dict/YAML conversion, merging and overrides.

Configs are plain `dataclasses` whose fields carry type annotations and defaults (the one place
defaults live). This module converts them to and from the dicts YAML files hold, strictly: an
unknown field or a value of the wrong type is a `ConfigError` naming the field by its dotted path
("trainer.epochs: expected an int, got 'ten'"). A field may also be *registered*: its value is a
mapping whose `name` selects the config class (e.g. the model section: `{"name": "localization",
"modality": "av", ...}`), declared with `registered_field(resolve)`.

Overrides follow TF Model Garden's `--params_override`: "a.b=1,c.d=x" (values parsed as YAML
scalars or flow lists) or an inline YAML mapping ("{trainer: {epochs: 2}}").
"""

import dataclasses
import types
import typing

from ave_tf.utils import file_io

NAME_KEY = "name"


class ConfigError(ValueError):
    """A config value that does not fit its field (the message names the dotted field path)."""


def registered_field(resolve, default_factory, doc: str = ""):
    """A dataclass field holding a config chosen by name: `resolve(name)` -> (config class).

    Its dict form is `{"name": NAME, **fields}`; the config instance records its name in
    `config_name(instance)` (set by the registry that owns the class).
    """
    return dataclasses.field(
        default_factory=default_factory, metadata={"resolve": resolve, "doc": doc}
    )


def config_name(config) -> str | None:
    """The registered name of a config instance's class (`registered_name`), if any."""
    return vars(type(config)).get("registered_name")


def to_dict(config) -> dict:
    """A YAML/JSON-ready dict of a config dataclass (tuples become lists, nested configs dicts)."""
    out = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if "resolve" in field.metadata:
            out[field.name] = {NAME_KEY: config_name(value), **to_dict(value)}
        else:
            out[field.name] = _plain(value)
    return out


def _plain(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def from_dict(cls, values, path: str = ""):
    """Builds `cls` from a dict; missing fields keep their defaults.

    Raises ConfigError naming the first unknown field or wrongly typed value.
    """
    if not isinstance(values, dict):
        where = path.rstrip(".") or cls.__name__
        raise ConfigError(f"{where}: expected a mapping, got {_shown(values)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [key for key in values if key not in fields]
    if unknown:
        raise ConfigError(
            f"{path}{unknown[0]}: unknown field {unknown[0]!r} of {cls.__name__} "
            f"(known: {', '.join(fields)})"
        )
    kwargs = {}
    for key, value in values.items():
        field = fields[key]
        if "resolve" in field.metadata:
            kwargs[key] = _registered_from_dict(field, value, f"{path}{key}")
        else:
            kwargs[key] = _coerce(value, hints[key], f"{path}{key}")
    return cls(**kwargs)


def _registered_from_dict(field, value, path):
    if not isinstance(value, dict) or NAME_KEY not in value:
        raise ConfigError(f"{path}: expected a mapping with a {NAME_KEY!r}, got {_shown(value)}")
    name = value[NAME_KEY]
    try:
        cls = field.metadata["resolve"](name)
    except LookupError as e:
        raise ConfigError(f"{path}.{NAME_KEY}: {e.args[0] if e.args else e}") from None
    rest = {k: v for k, v in value.items() if k != NAME_KEY}
    return from_dict(cls, rest, f"{path}.")


def _coerce(value, hint, path):
    """`value` as the annotated type `hint`, or ConfigError."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, path)
            except ConfigError:
                continue
        raise ConfigError(f"{path}: expected {_type_name(hint)}, got {_shown(value)}")
    if dataclasses.is_dataclass(hint):
        if dataclasses.is_dataclass(value) and isinstance(value, hint):
            return value
        return from_dict(hint, value, path + ".")
    if hint is typing.Any:
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif origin is tuple:
        return _coerce_tuple(value, typing.get_args(hint), path)
    elif origin is list or hint is list:
        args = typing.get_args(hint)
        if isinstance(value, (list, tuple)):
            return [_coerce(v, args[0], f"{path}[{i}]") if args else v for i, v in enumerate(value)]
    elif origin is dict or hint is dict:
        if isinstance(value, dict):
            return dict(value)
    else:
        raise ConfigError(f"{path}: unsupported field type {hint!r}")
    raise ConfigError(f"{path}: expected {_type_name(hint)}, got {_shown(value)}")


def _coerce_tuple(value, args, path):
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{path}: expected a list, got {_shown(value)}")
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_coerce(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
    if args and len(args) != len(value):
        raise ConfigError(f"{path}: expected {len(args)} values, got {len(value)}")
    return tuple(
        _coerce(v, t, f"{path}[{i}]") for i, (v, t) in enumerate(zip(value, args, strict=True))
    )


def _type_name(hint) -> str:
    names = {bool: "a bool", int: "an int", float: "a number", str: "a string"}
    if hint in names:
        return names[hint]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(
            "null" if a is type(None) else _type_name(a) for a in typing.get_args(hint)
        )
    if typing.get_origin(hint) in (tuple, list):
        return "a list"
    return getattr(hint, "__name__", str(hint))


def _shown(value) -> str:
    return f"{value!r} ({type(value).__name__})"


def merge(base: dict, update: dict) -> dict:
    """`update` deep-merged into a copy of `base` (mappings merge, other values replace).

    A mapping with a different `name` than the one it updates replaces it whole: its fields
    belong to another config class.
    """
    out = dict(base)
    for key, value in update.items():
        old = out.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            same_kind = value.get(NAME_KEY, old.get(NAME_KEY)) == old.get(NAME_KEY)
            out[key] = merge(old, value) if same_kind else value
        else:
            out[key] = value
    return out


def override(config, values: dict, path: str = ""):
    """A new config: `config` with the (nested) `values` merged in, strictly checked."""
    return from_dict(type(config), merge(to_dict(config), values), path)


def parse_override(text: str) -> dict:
    """The nested dict of a `--params_override` value.

    "a.b=1,c.d=x,e=[1, 2]": comma-separated dotted assignments, each value a YAML scalar or flow
    collection (commas inside brackets stay with their value); anything else must be a YAML
    mapping, e.g. "{trainer: {epochs: 2}}" or a block of YAML lines.
    """
    import yaml

    text = text.strip()
    if not text:
        return {}
    if "=" in text and not text.startswith("{"):
        out: dict = {}
        for item in _split_top_level(text):
            key, sep, raw = item.partition("=")
            key = key.strip()
            if not sep or not key or any(not part for part in key.split(".")):
                raise ConfigError(f"--params_override: {item!r} is not KEY.PATH=VALUE")
            try:
                value = yaml.safe_load(raw) if raw.strip() else ""
            except yaml.YAMLError:
                value = raw.strip()
            node = out
            *parents, leaf = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ConfigError(f"--params_override: {key!r} sets a field inside a value")
            node[leaf] = value
        return out
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(
            f"--params_override: not YAML nor KEY=VALUE pairs: {_first_line(e)}"
        ) from None
    if not isinstance(values, dict):
        raise ConfigError(
            f"--params_override: expected KEY=VALUE pairs or a YAML mapping: {text!r}"
        )
    return values


def _split_top_level(text: str) -> list[str]:
    items, depth, current = [], 0, []
    for char in text:
        if char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        if char == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item for item in items if item.strip()]


def load_yaml_file(path: str) -> dict:
    """The mapping a YAML file holds; ConfigError naming the file when unreadable or not one."""
    import yaml

    try:
        values = yaml.safe_load(file_io.read_text(path))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {_first_line(e)}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a YAML mapping, got {type(values).__name__}")
    return values


def dump_yaml(values: dict) -> str:
    import yaml

    return yaml.safe_dump(values, sort_keys=False, default_flow_style=False)


def _first_line(error) -> str:
    return " ".join(str(error).split())
