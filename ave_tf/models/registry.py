"""The model registry: a model family is a config dataclass plus a builder, registered by name.

    @register_model("my_model", MyModelConfig)
    def build_my_model(config: MyModelConfig, use_cudnn="auto") -> keras.Model: ...

The builder returns a Keras functional model with the inputs `audio` [batch, T, 128] and `visual`
[batch, T, 7, 7, 512] and a dict of named outputs; the tasks read the outputs they need
(`logits`, `video_logits`, `distances`, ...), never the model's name. `use_cudnn` is passed to
recurrent layers (False: no GPU-only ops, for CPU export). A config class belongs to one name,
so a config instance knows its model (`hyperparams.config_name`) and serializes as
`{"name": ..., **fields}` in params.yaml.
"""

import dataclasses
from collections.abc import Callable

from ave_tf.utils.hyperparams import config_name
from ave_tf.utils.registry import Registry, RegistryError

MODELS = Registry("model")


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    name: str
    config_class: type
    build: Callable


def register_model(name: str, config_class: type):
    """Decorator registering `build(config, use_cudnn="auto") -> keras.Model` under `name`."""
    if not dataclasses.is_dataclass(config_class):
        raise RegistryError(f"model {name!r}: its config must be a dataclass")
    owner = vars(config_class).get("registered_name")
    if owner not in (None, name):
        raise RegistryError(
            f"model {name!r}: {config_class.__name__} already configures model {owner!r} "
            "(give each model its own config class, e.g. a subclass)"
        )

    def decorator(build):
        MODELS.register(name, ModelSpec(name, config_class, build))
        config_class.registered_name = name
        return build

    return decorator


def model_config_class(name: str) -> type:
    """The config dataclass of a registered model (RegistryError listing known models)."""
    return MODELS.get(name).config_class


def model_names() -> tuple[str, ...]:
    return MODELS.names()


def build_model(config, use_cudnn="auto"):
    """Builds the model a registered config instance describes (validated first if it can be)."""
    name = config_name(config)
    if name is None:
        raise RegistryError(
            f"{type(config).__name__} is not the config of a registered model "
            f"(known: {', '.join(MODELS.names())})"
        )
    if hasattr(config, "validate"):
        config.validate()
    return MODELS.get(name).build(config, use_cudnn=use_cudnn)
