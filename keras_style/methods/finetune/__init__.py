"""Fine-tuning keras.applications backbones (docs/methods/finetune.md)."""

from keras_style.methods.finetune.lr_multipliers import with_learning_rate_multipliers  # noqa: F401
from keras_style.methods.finetune.fine_tune_classifier import (  # noqa: F401
    HEAD_LEARNING_RATE_MULTIPLIER,
    ApplicationPreprocessing,
    FineTuneClassifier,
    available_backbones,
    compile_finetune,
    finetune,
    freeze_layers,
    head_learning_rate,
    imagenet_classes,
    match_imagenet_classes,
    resolve_backbone,
    unfreeze,
)

__all__ = [
    "HEAD_LEARNING_RATE_MULTIPLIER",
    "ApplicationPreprocessing",
    "FineTuneClassifier",
    "available_backbones",
    "compile_finetune",
    "finetune",
    "freeze_layers",
    "head_learning_rate",
    "imagenet_classes",
    "match_imagenet_classes",
    "resolve_backbone",
    "unfreeze",
    "with_learning_rate_multipliers",
]
