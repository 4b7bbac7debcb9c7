"""Losses of Sanakoyeu et al. (ECCV 2018), "A Style-Aware Content Loss for Real-time HD Style Transfer".

All are ``keras.losses.Loss`` subclasses computed in float32 and usable on their own:

- `StyleAwareContentLoss` (``"style_aware_content"``): distance between two *latent codes* of
  the style-aware encoder E, i.e. ``E(x)`` vs ``E(G(E(x)))``. The official code uses the mean
  absolute difference (``norm="l1"``, ``model.py`` ``feature_loss``); the paper writes the mean
  squared difference (``norm="l2"``; docs/methods/style_aware.md).
- `TransformedImageLoss` (``"transformed_image"``): ``mean((T(x) - T(y))**2)``. The official T is a
  10x10 average pooling, stride 1, "SAME" padding that excludes padded cells (``module.py:
  transformer_block``); ``transformer="conv"`` is the paper's "one-layer fully
  convolutional" T, here a fixed (seeded, frozen) weight-normalised 10x10 conv (the paper does not
  say how T would be trained; training it on this loss alone would collapse it to zero).
- `StyleAwareGeneratorAdversarialLoss` (``"style_aware_generator_adversarial"``): sum over the
  discriminator's scales of the mean sigmoid cross-entropy of the output logits against 1.
- `StyleAwareDiscriminatorLoss` (``"style_aware_discriminator"``): sum over scales of
  ``SCE(D(painting), 1) + SCE(D(output), 0)`` and, as the official code does (``photos_as_fake``,
  on by default), ``+ SCE(D(photo), 0)``.

Examples:

```python
import keras_style as ks
content = ks.get("style_aware_content")            # norm="l1" (official code)
t_loss = ks.get("transformed_image")               # 10x10 avg-pool T
g_adv = ks.get("style_aware_generator_adversarial")
value = g_adv(None, [logits_scale0, logits_scale1])
d = ks.get("style_aware_discriminator")
value = d(painting_logits, {"output": output_logits, "photo": photo_logits})
```

References:
    https://arxiv.org/abs/1807.10201
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_style.errors import ConfigError
from keras_style.registry import register

PAPER = "https://arxiv.org/abs/1807.10201"


def sigmoid_cross_entropy(logits, target):
    """Mean sigmoid cross-entropy with logits against a constant ``target`` (tf.nn semantics)."""
    x = ops.cast(logits, "float32")
    return ops.mean(ops.relu(x) - x * target + ops.log1p(ops.exp(-ops.abs(x))))


def _as_list(logits):
    if isinstance(logits, dict):
        return [logits[k] for k in sorted(logits)]
    if isinstance(logits, (list, tuple)):
        return list(logits)
    return [logits]


def _weights(scale_weights, n):
    if scale_weights is None:
        return [1.0] * n  # all scale weights 1 (model.py scale_weight)
    if len(scale_weights) != n:
        raise ConfigError(f"scale_weights has {len(scale_weights)} values for {n} discriminator scales.")
    return list(scale_weights)


@register(
    "style_aware_content",
    "loss",
    aliases=("style_aware_feature",),
    test_config={"norm": "l1"},
    paper=PAPER,
)
@keras.saving.register_keras_serializable(package="keras_style")
class StyleAwareContentLoss(keras.losses.Loss):
    """Style-aware content loss: distance of two latent codes of the style-aware encoder.

    Args:
        norm: str. ``"l1"``: mean absolute difference (official code, ``abs_criterion``) or
            ``"l2"``: mean squared difference, ``(1/d)·||E(x) - E(G(E(x)))||²`` (paper). Defaults to
            `"l1"`.
    """

    def __init__(self, norm="l1", name="style_aware_content", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if norm not in ("l1", "l2"):
            raise ConfigError(f"norm must be 'l1' (official code) or 'l2' (paper), got {norm!r}.")
        self.norm = norm

    def call(self, y_true, y_pred):
        d = ops.cast(y_pred, "float32") - ops.cast(y_true, "float32")
        return ops.mean(ops.abs(d)) if self.norm == "l1" else ops.mean(ops.square(d))

    def get_config(self):
        return {"norm": self.norm, "name": self.name, "reduction": self.reduction}


def weight_normalised_kernel(kernel_size=10, channels=3, seed=0):
    """The fixed random kernel of the ``transformer="conv"`` T: N(0,1), each output filter scaled to unit norm."""
    rng = np.random.default_rng(0 if seed is None else seed)
    k = rng.standard_normal((kernel_size, kernel_size, channels, channels)).astype("float32")
    norm = np.sqrt(np.sum(k**2, axis=(0, 1, 2), keepdims=True))
    return k / norm


@register(
    "transformed_image",
    "loss",
    aliases=("style_aware_transformed_image",),
    test_config={"kernel_size": 4},
    paper=PAPER,
)
@keras.saving.register_keras_serializable(package="keras_style")
class TransformedImageLoss(keras.losses.Loss):
    """Transformed image loss ``mean((T(y_true) - T(y_pred))**2)`` on NHWC images.

    Args:
        transformer: str. ``"avg_pool"``: T = average pooling ``kernel_size`` x ``kernel_size``,
            stride 1, "SAME" padding that excludes padded cells (official code) or ``"conv"``: a
            frozen, seeded, weight-normalised ``kernel_size`` conv (the paper's one-layer T). Defaults
            to `"avg_pool"`.
        kernel_size: int. Defaults to `10` (``module.py: transformer_block``).
        seed: int. Seed of the ``"conv"`` kernel. Defaults to `0`.
    """

    def __init__(
        self,
        transformer="avg_pool",
        kernel_size=10,
        seed=0,
        name="transformed_image",
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if transformer not in ("avg_pool", "conv"):
            raise ConfigError(f"transformer must be 'avg_pool' (official code) or 'conv' (paper), got {transformer!r}.")
        if int(kernel_size) < 1:
            raise ConfigError(f"kernel_size must be >= 1, got {kernel_size}.")
        self.transformer = transformer
        self.kernel_size = int(kernel_size)
        self.seed = seed
        self._kernel = weight_normalised_kernel(self.kernel_size, 3, seed) if transformer == "conv" else None

    def transform(self, x):
        x = ops.cast(x, "float32")
        if self.transformer == "avg_pool":
            return ops.average_pool(x, self.kernel_size, strides=1, padding="same", data_format="channels_last")
        return ops.conv(x, ops.convert_to_tensor(self._kernel), strides=1, padding="same", data_format="channels_last")

    def call(self, y_true, y_pred):
        return ops.mean(ops.square(self.transform(y_pred) - self.transform(y_true)))

    def get_config(self):
        return {
            "transformer": self.transformer,
            "kernel_size": self.kernel_size,
            "seed": self.seed,
            "name": self.name,
            "reduction": self.reduction,
        }


@register(
    "style_aware_generator_adversarial",
    "loss",
    test_config={},
    paper=PAPER,
)
@keras.saving.register_keras_serializable(package="keras_style")
class StyleAwareGeneratorAdversarialLoss(keras.losses.Loss):
    """Generator's multi-scale adversarial loss: ``sum_s w_s · SCE(D_s(output), 1)``.

    ``y_true`` is ignored (pass ``None``); ``y_pred`` is the list (or dict) of the
    discriminator's logits for the stylized images, one tensor per scale.

    Args:
        scale_weights: list of floats, one per scale, or None for all 1 (official code).
    """

    def __init__(self, scale_weights=None, name="style_aware_generator_adversarial", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.scale_weights = None if scale_weights is None else [float(w) for w in scale_weights]

    def __call__(self, y_true, y_pred, sample_weight=None):
        # y_true carries no information (the target is always 1); None is accepted.
        return super().__call__(0.0 if y_true is None else y_true, y_pred, sample_weight=sample_weight)

    def call(self, y_true, y_pred):
        logits = _as_list(y_pred)
        w = _weights(self.scale_weights, len(logits))
        return sum(wi * sigmoid_cross_entropy(p, 1.0) for wi, p in zip(w, logits))

    def get_config(self):
        return {"scale_weights": self.scale_weights, "name": self.name, "reduction": self.reduction}


@register(
    "style_aware_discriminator",
    "loss",
    test_config={"photos_as_fake": True},
    paper=PAPER,
)
@keras.saving.register_keras_serializable(package="keras_style")
class StyleAwareDiscriminatorLoss(keras.losses.Loss):
    """Discriminator's multi-scale loss.

    ``y_true``: the discriminator's logits for real paintings (list/dict, one per scale).
    ``y_pred``: logits for stylized outputs (list/dict), or a dict
    ``{"output": [...], "photo": [...]}`` when real photos are also shown as fakes.

    Args:
        photos_as_fake: bool. Add ``SCE(D(photo), 0)`` as the official code does (model.py);
            requires ``y_pred`` to carry ``"photo"`` logits. Defaults to `True`.
        scale_weights: list of floats, one per scale, or None for all 1 (official code).
    """

    def __init__(self, photos_as_fake=True, scale_weights=None, name="style_aware_discriminator", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.photos_as_fake = bool(photos_as_fake)
        self.scale_weights = None if scale_weights is None else [float(w) for w in scale_weights]

    def call(self, y_true, y_pred):
        real = _as_list(y_true)
        if isinstance(y_pred, dict) and "output" in y_pred:
            fake = _as_list(y_pred["output"])
            photo = y_pred.get("photo")
        else:
            fake, photo = _as_list(y_pred), None
        if self.photos_as_fake and photo is None:
            raise ConfigError(
                "photos_as_fake=True needs the photos' logits: pass y_pred={'output': [...], 'photo': [...]}."
            )
        w = _weights(self.scale_weights, len(real))
        total = 0.0
        for i, wi in enumerate(w):
            term = sigmoid_cross_entropy(real[i], 1.0) + sigmoid_cross_entropy(fake[i], 0.0)
            if self.photos_as_fake:
                term = term + sigmoid_cross_entropy(_as_list(photo)[i], 0.0)
            total = total + wi * term
        return total

    def get_config(self):
        return {
            "photos_as_fake": self.photos_as_fake,
            "scale_weights": self.scale_weights,
            "name": self.name,
            "reduction": self.reduction,
        }
