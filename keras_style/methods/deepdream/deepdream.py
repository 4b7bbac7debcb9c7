"""DeepDream: gradient ascent on chosen layer activations, octave by octave.

Follows the keras-io example ``examples/generative/deep_dream.py`` (docs/methods/deepdream.md): loss =
sum_l w_l * sum(act_l[:, 2:-2, 2:-2, :]^2) / size(act_l); the gradient is divided by its
mean absolute value; ascent steps; an octave stops early once the loss exceeds
``max_loss``; octaves are processed smallest first (sizes original / 1.4^i) with the lost
detail re-injected after each. A random roll ("jitter", as in the original DeepDream
notebook) before each step hides tile artefacts.

```python
import keras_style as ks
dream = ks.get("deepdream")        # VGG16 with the ImageNet weights "vgg16_imagenet"
out = dream.dream("photo.jpg", layers={"relu4_3": 1.0}, octaves=4)   # HxWx3 in [0, 1]
```
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_style.backend_grad import value_and_grad
from keras_style.deprecation import UNSET, renamed
from keras_style.errors import ConfigError
from keras_style.images import resize_bilinear, resize_shorter
from keras_style.methods.base import OptimizationLoop, OptimizationMethod
from keras_style.registry import register

# keras-io deep_dream.py: layer weights for InceptionV3.
INCEPTION_LAYERS = {"mixed4": 1.0, "mixed5": 1.5, "mixed6": 2.0, "mixed7": 2.5}
# For VGG backbones: relu4_3, the layer of the README's `keras-style dream` example.
VGG_LAYERS = {"relu4_3": 1.0}
# keras-io: num_octave = 3, octave_scale = 1.4, iterations = 20 per octave.
DEFAULT_OCTAVES = 3
DEFAULT_OCTAVE_SCALE = 1.4
DEFAULT_STEPS = 20
# keras-io: step 0.01 on images in [-1, 1] (inception preprocessing) = 0.005 on [0, 1].
DEFAULT_STEP_SIZE = 0.005
# keras-io: max_loss = 15.0, calibrated for InceptionV3 activations. VGG activations
# (Caffe-range inputs) are orders of magnitude larger, so no limit by default there.
INCEPTION_MAX_LOSS = 15.0

_BACKBONES = ("vgg16", "vgg19", "inception_v3")
# backbone_weights="auto": ImageNet weights for every backbone. vgg16_imagenet needs no download with
# the `offline` extra (docs/methods/deepdream.md); the others are downloaded on first use.
DEFAULT_WEIGHTS = {"vgg16": "vgg16_imagenet", "vgg19": "vgg19_imagenet", "inception_v3": "imagenet"}
# keras_style VGG weights names -> the backbone they fit
_VGG_WEIGHTS_ARCH = {"vgg16_imagenet": "vgg16", "vgg16_hed_bsds500": "vgg16", "vgg19_imagenet": "vgg19"}


class _JitteredAscent:
    """One DeepDream step as an optimizer for `OptimizationLoop`: roll the image by a random
    jitter, take the gradient, unroll it, divide it by its mean absolute value and ascend."""

    def __init__(self, step_fn, x, step_size, jitter, rng):
        self.step_fn, self.step_size, self.jitter, self.rng = step_fn, float(step_size), jitter, rng
        self.x = np.asarray(x, np.float32)[None]

    def step(self):
        j = self.jitter
        dy, dx = (int(v) for v in self.rng.integers(-j, j + 1, size=2)) if j else (0, 0)
        rolled = np.roll(self.x[0], (dy, dx), axis=(0, 1))
        loss, _, grad = self.step_fn(rolled[None])
        grad = np.roll(grad[0], (-dy, -dx), axis=(0, 1))
        grad = grad / max(float(np.mean(np.abs(grad))), 1e-6)
        self.x = (self.x[0] + self.step_size * grad)[None]  # gradient ascent
        return float(loss), {}


@register(
    "deepdream",
    "method",
    aliases=("deep_dream",),
    test_config={"backbone_weights": None},
    paper="https://research.google/blog/inceptionism-going-deeper-into-neural-networks/",
)
@keras.saving.register_keras_serializable(package="keras_style")
class DeepDream(OptimizationMethod):
    """DeepDream on a VGG16/VGG19 feature extractor or keras.applications InceptionV3.

    Args:
        backbone: ``"vgg16"`` (default), ``"vgg19"`` or ``"inception_v3"`` (keras-io's
            network, ``keras.applications.InceptionV3``; layer names ``mixed0``...``mixed10``).
        backbone_weights: (old name ``weights``, deprecated) ``"auto"`` (default): ``"vgg16_imagenet"`` for vgg16 (the ImageNet VGG16,
            offline with the ``offline`` extra), ``"vgg19_imagenet"`` for vgg19,
            ``"imagenet"`` for inception_v3 (both downloaded on first use). For VGG also any
            keras_style weights name (``"vgg16_hed_bsds500"``, an edge-detection VGG16), a
            path or ``None`` (random); for InceptionV3 ``"imagenet"`` or ``None``.
        pooling: ``"max"`` or ``"avg"`` (VGG only).
        jit_compile: see `keras_style.backend_grad.value_and_grad`.
    """

    def __init__(self, backbone="vgg16", backbone_weights="auto", pooling="max", jit_compile="auto", weights=UNSET):
        weights = renamed("DeepDream", "weights", weights, "backbone_weights", backbone_weights, new_default="auto")
        if backbone not in _BACKBONES:
            raise ConfigError(f"backbone must be one of {', '.join(_BACKBONES)}, got {backbone!r}.")
        if pooling not in ("max", "avg"):
            raise ConfigError(f"pooling must be 'max' or 'avg', got {pooling!r}.")
        if weights == "auto":
            weights = DEFAULT_WEIGHTS[backbone]
        if backbone == "inception_v3" and weights not in (None, "imagenet"):
            raise ConfigError("inception_v3 takes backbone_weights='imagenet' or None.")
        if backbone != "inception_v3" and _VGG_WEIGHTS_ARCH.get(weights, backbone) != backbone:
            raise ConfigError(
                f"weights {weights!r} are for backbone {_VGG_WEIGHTS_ARCH[weights]!r}, not {backbone!r}."
            )
        self._set_backbone(backbone, weights, pooling, jit_compile)

    # ------------------------------------------------------------------ layers

    def valid_layers(self):
        if self.backbone == "inception_v3":
            return [f"mixed{i}" for i in range(11)] + ["mixed9_0", "mixed9_1"]
        from keras_style.backbones.vgg import tap_names

        return tap_names(self.backbone)

    def default_layers(self):
        return dict(INCEPTION_LAYERS if self.backbone == "inception_v3" else VGG_LAYERS)

    def _check_layers(self, layers):
        if layers is None:
            layers = self.default_layers()
        elif isinstance(layers, str):
            layers = {name.strip(): 1.0 for name in layers.split(",") if name.strip()}
        elif not isinstance(layers, dict):
            layers = {name: 1.0 for name in layers}
        if not layers:
            raise ConfigError("layers is empty; name at least one layer, e.g. {'relu4_3': 1.0}.")
        valid = self.valid_layers()
        bad = [n for n in layers if n not in valid]
        if bad:
            raise ConfigError(
                f"Unknown layer(s) {bad} for {self.backbone}. Valid names: {', '.join(valid)}."
            )
        out = {}
        for name, w in layers.items():
            w = float(w)
            if not np.isfinite(w):
                raise ConfigError(f"Layer weight of {name!r} must be finite, got {w}.")
            out[name] = w
        return out

    def _min_side(self, layers):
        if self.backbone == "inception_v3":
            return 75  # keras.applications.InceptionV3 minimum input size
        return 2 ** max(int(n[4]) if n.startswith("pool") else int(n[4]) - 1 for n in layers)

    def extractor(self, layers):
        """Callable ``x [0, 1] NHWC -> {name: activation}`` (cached per layer set)."""
        key = tuple(sorted(layers))
        if key in self._extractors:
            return self._extractors[key]
        if self.backbone == "inception_v3":
            base = keras.applications.InceptionV3(include_top=False, weights=self.backbone_weights)
            base.trainable = False
            model = keras.Model(base.input, {n: base.get_layer(n).output for n in key})

            def fn(x):
                return model(x * 2.0 - 1.0, training=False)  # inception_v3.preprocess_input

        else:
            from keras_style.registry import get

            fn = get(self.backbone, layers=list(key), weights=self.backbone_weights, pooling=self.pooling)
        self._extractors[key] = fn
        return fn

    def build_objective(self, layers):
        """``objective(x) -> (loss, {"loss": loss})``: keras-io's dream loss."""
        extractor = self.extractor(list(layers))

        def objective(x):
            feats = extractor(x)
            loss = ops.convert_to_tensor(0.0)
            for name, coeff in layers.items():
                act = ops.cast(feats[name], "float32")
                h, w = act.shape[1], act.shape[2]
                # keras-io excludes a 2-pixel border (when the map is large enough); the
                # divisor is the size of the whole activation tensor.
                core = act[:, 2:-2, 2:-2, :] if (h is None or h > 4) and (w is None or w > 4) else act
                scaling = ops.cast(ops.prod(ops.shape(act)), "float32")
                loss = loss + coeff * ops.sum(ops.square(core)) / scaling
            return loss, {"loss": loss}

        return objective

    # ------------------------------------------------------------------ dream

    def dream(
        self,
        image,
        layers=None,
        *,
        octaves=DEFAULT_OCTAVES,
        octave_scale=DEFAULT_OCTAVE_SCALE,
        steps=DEFAULT_STEPS,
        step_size=DEFAULT_STEP_SIZE,
        max_loss="auto",
        jitter=32,
        size=None,
        seed=None,
        verbose=1,
        callbacks=None,
    ):
        """Dream on ``image``; returns float32 HxWx3 in [0, 1] (input size, or ``size``).

        Args:
            image: path, PIL image, NumPy array (HxW/HxWx1/3/4) or tensor.
            layers: ``{name: weight}``, a list of names (weight 1) or ``"relu4_3,relu5_1"``;
                default `VGG_LAYERS` / `INCEPTION_LAYERS` (keras-io's).
            octaves: number of scales (keras-io: 3); the smallest is size / octave_scale^(octaves-1).
            octave_scale: 1.4 (keras-io).
            steps: ascent steps per octave (keras-io: 20).
            step_size: per-step change on [0, 1] images after the gradient is divided by
                its mean absolute value (keras-io's 0.01 on [-1, 1] images = 0.005).
            max_loss: stop an octave once the loss exceeds it (the step that crossed is
                kept, as keras-io). ``"auto"``: 15.0 for inception_v3 (keras-io), None for VGG.
            jitter: maximum random roll in pixels before each step (0 = off).
            size: resize the input's shorter side first (None = keep).
            seed: seeds the jitter.
            verbose: 0 silent, 1 a progress bar per octave.
            callbacks: callables ``fn(step, image, logs)`` (``True`` stops) and/or Keras
                callbacks, as in `Gatys.stylize` (`keras_style.methods.base.OptimizationLoop`).

        Raises:
            OptimizationError: the loss or the image became NaN/Inf (the step is named).
        """
        from keras_style.images import read_rgb

        layers = self._check_layers(layers)
        if not isinstance(octaves, (int, np.integer)) or octaves < 1:
            raise ConfigError(f"octaves must be a positive integer, got {octaves!r}.")
        if not octave_scale > 1.0:
            raise ConfigError(f"octave_scale must be > 1, got {octave_scale}.")
        if not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ConfigError(f"steps must be a positive integer, got {steps!r}.")
        if not step_size > 0:
            raise ConfigError(f"step_size must be > 0, got {step_size}.")
        if int(jitter) < 0:
            raise ConfigError(f"jitter must be >= 0, got {jitter}.")
        if max_loss == "auto":
            max_loss = INCEPTION_MAX_LOSS if self.backbone == "inception_v3" else None

        img = read_rgb(image, "image")
        if size is not None:
            img = resize_shorter(img, int(size))  # the input photo (keras_style/images.py)
        original = img.astype(np.float32)
        h, w = original.shape[:2]
        shapes = [(h, w)] + [
            (int(h / octave_scale**i), int(w / octave_scale**i)) for i in range(1, int(octaves))
        ]
        shapes = shapes[::-1]
        min_side = self._min_side(layers)
        if min(shapes[0]) < min_side:
            raise ConfigError(
                f"The smallest octave ({shapes[0][0]}x{shapes[0][1]}) is below the {min_side} px "
                f"that layers {sorted(layers)} need; use fewer octaves or a larger image."
            )
        step_fn = value_and_grad(self.build_objective(layers), jit_compile=self.jit_compile)
        rng = np.random.default_rng(seed)

        loop = OptimizationLoop(
            names=["loss"], callbacks=callbacks, verbose=verbose, method=self, what="DeepDream",
            hint="Lower step_size or the layer weights.",
        )
        loop.begin((1, *shapes[0], 3))
        stop_when = None if max_loss is None else (lambda f: f > max_loss)  # keras-io keeps the step that crossed
        # octave resizes: bilinear without antialiasing, as keras-io (keras_style/images.py)
        shrunk_original = resize_bilinear(original, shapes[0])
        x = original
        for o, shape in enumerate(shapes):
            x = resize_bilinear(x, shape)
            ascent = _JitteredAscent(step_fn, x, step_size, int(jitter), rng)
            label = f"octave {o + 1}/{len(shapes)} {shape[0]}x{shape[1]}" if len(shapes) > 1 else None
            x, stopped = loop.run(ascent, steps, label=label, stop_when=stop_when)
            # re-inject the detail lost by shrinking (keras-io)
            upscaled_shrunk = resize_bilinear(shrunk_original, shape)
            same_size = resize_bilinear(original, shape)
            x = x + (same_size - upscaled_shrunk)
            shrunk_original = same_size
            if stopped:  # a callback asked to stop: the result is this octave's, at the input size
                x = resize_bilinear(x, (h, w))
                break
        loop.end()
        return np.clip(x, 0.0, 1.0).astype(np.float32)


__all__ = ["DEFAULT_WEIGHTS", "DeepDream", "INCEPTION_LAYERS", "VGG_LAYERS"]
