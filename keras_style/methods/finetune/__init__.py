"""Fine-tuning keras.applications backbones (issue 6, METHODS.md §8)."""

from keras_style.methods.finetune.model import (  # noqa: F401
    ApplicationPreprocessing,
    FineTuneClassifier,
    available_backbones,
    compile_finetune,
    finetune,
    freeze_layers,
    imagenet_classes,
    match_imagenet_classes,
    resolve_backbone,
    unfreeze,
)

__all__ = [
    "ApplicationPreprocessing",
    "FineTuneClassifier",
    "available_backbones",
    "compile_finetune",
    "finetune",
    "freeze_layers",
    "imagenet_classes",
    "match_imagenet_classes",
    "resolve_backbone",
    "unfreeze",
]
