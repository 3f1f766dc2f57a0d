"""The one explicit map from model names to builders, decoders and data."""

import dataclasses
from typing import Callable

from kzoo.models import classification


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """How to build, feed and decode one registered model.

    Attributes:
        build: builder returning a functional ``keras.Model`` of raw head outputs.
        decode: ``decode(model, raw_outputs)`` -> the prediction dict
            (graph-safe TF ops; ``model`` gives access to its layers' config).
        compile: ``compile(model, strategy=None)``: the standard loss,
            optimizer and metrics.
        targets: ``targets(element, image_size)`` -> ``(inputs, targets)`` for
            ``model.fit``, images resized to the model's (height, width).
        task: the task family ("classification", "segmentation", ...).
        dataset: the built-in dataset it trains on by default.
    """

    build: Callable
    decode: Callable
    compile: Callable
    targets: Callable
    task: str
    dataset: str


MODELS = {
    "classifier": ModelSpec(
        build=classification.build_classifier,
        decode=classification.decode_classifier,
        compile=classification.compile_classifier,
        targets=classification.classifier_targets,
        task="classification",
        dataset="fashion_scenes/single",
    ),
}


def list_models():
    """Registered model names."""
    return sorted(MODELS)


def get_spec(name):
    """The ``ModelSpec`` of model ``name``."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {list_models()}")
    return MODELS[name]


def spec_of(model):
    """The ``ModelSpec`` of a built or reloaded model (builders name models after their registry key)."""
    if model.name not in MODELS:
        raise ValueError(
            f"model {model.name!r} is not a registered kzoo model; kzoo builders name their models "
            f"after one of {list_models()}"
        )
    return MODELS[model.name]


def build(name, **kwargs):
    """Build registered model ``name`` with its builder's keyword arguments."""
    return get_spec(name).build(**kwargs)
