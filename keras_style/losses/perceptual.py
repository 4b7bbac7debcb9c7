"""Perceptual losses on dicts of named feature maps (``keras.losses.Loss`` subclasses).

The feature dicts are what a backbone returns (``ks.get("vgg16", layers=[...])(images)``):
``{"relu2_2": (N, H, W, C), ...}``. Every loss computes in float32 (Keras converts
``y_true``/``y_pred`` to the loss dtype, float32 by default, and the functions in
`keras_style.losses.functional` cast again), so mixed_float16 features are safe.

```python
import keras_style as ks
vgg = ks.get("vgg16", layers=["relu1_2", "relu2_2", "relu3_3"], weights=None)
style = ks.get("gram_style", layers=["relu1_2", "relu2_2", "relu3_3"])
targets = style.compute_targets(vgg(style_image))      # Gram matrices, computed once
value = style(targets, vgg(generated))                  # scalar (mean over the batch)
```

- ``feature_reconstruction``: sum_l w_l * 1/(C H W) ||phi_l(y_pred) - phi_l(y_true)||^2.
- ``gram_style``: sum_l w_l * ||G_l(y_pred) - G_l(y_true)||_F^2, G = F^T F / (C H W).
- ``mean_std_style``: sum_l w_l * (||mu - mu'||^2 + ||sigma - sigma'||^2) (AdaIN).
- ``total_variation``: TV of the predicted *image* (``y_true`` is ignored).
- ``perceptual``: content_weight * content + style_weight * style + tv_weight * tv; its
  `PerceptualLoss.terms` returns the weighted terms by name for logging.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_style.errors import ConfigError
from keras_style.losses import functional as F
from keras_style.registry import register

_IMAGE_KEY = "image"


def _check_layers(layers, what="layers"):
    if layers is None:
        return None
    if isinstance(layers, str):
        layers = [layers]
    layers = list(layers)
    if not layers:
        raise ConfigError(f"{what} is empty; name at least one feature layer (e.g. 'relu2_2').")
    for n in layers:
        if not isinstance(n, str):
            raise ConfigError(f"{what} must be layer names (strings), got {n!r}.")
    return layers


def _check_layer_weights(layer_weights, layers, what="layer_weights"):
    """Normalise to a dict {name: float} (or None = 1.0 each); validate at construction."""
    if layer_weights is None:
        return None
    if isinstance(layer_weights, dict):
        out = {str(k): float(v) for k, v in layer_weights.items()}
        if layers is not None:
            extra = sorted(set(out) - set(layers))
            if extra:
                raise ConfigError(f"{what} names layers {extra} that are not in layers={layers}.")
    else:
        vals = [float(v) for v in layer_weights]
        if layers is None or len(vals) != len(layers):
            raise ConfigError(
                f"{what} given as a list needs layers of the same length "
                f"(got {len(vals)} weights for layers={layers}); or pass a dict."
            )
        out = dict(zip(layers, vals))
    bad = {k: v for k, v in out.items() if not v >= 0}
    if bad:
        raise ConfigError(f"{what} must be >= 0, got {bad}.")
    return out


def _check_weight(value, what):
    value = float(value)
    if not value >= 0:
        raise ConfigError(f"{what} must be >= 0, got {value}.")
    return value


def _plain(value):
    """Config-friendly copy (lists instead of tuples)."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


class _FeatureDictLoss(keras.losses.Loss):
    """Weighted sum over layers of a per-layer, per-sample function on feature dicts."""

    def __init__(
        self,
        layers=None,
        layer_weights=None,
        reduction="sum_over_batch_size",
        name=None,
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.layers = _check_layers(layers)
        self.layer_weights = _plain(layer_weights)
        self._weights = _check_layer_weights(layer_weights, self.layers)

    def _names(self, y_pred):
        if self.layers is not None:
            return self.layers
        return [k for k in y_pred if k != _IMAGE_KEY]

    def _weight(self, name):
        return 1.0 if self._weights is None else self._weights.get(name, 1.0)

    def _layer_loss(self, y_true, y_pred):  # (N,) per sample
        raise NotImplementedError

    def per_layer(self, y_true, y_pred):
        """Unweighted per-sample loss of each layer: {name: (N,) float32}."""
        if not isinstance(y_pred, dict):
            return {"_": self._layer_loss(y_true, y_pred)}
        names = self._names(y_pred)
        missing = [n for n in names if n not in y_pred or n not in y_true]
        if missing:
            raise ConfigError(
                f"{self.name}: layer(s) {missing} missing from the feature dicts "
                f"(y_true has {sorted(y_true)}, y_pred has {sorted(y_pred)}); build the "
                "backbone with these layers."
            )
        return {n: self._layer_loss(y_true[n], y_pred[n]) for n in names}

    def call(self, y_true, y_pred):
        total = None
        for name, value in self.per_layer(y_true, y_pred).items():
            term = self._weight(name) * value
            total = term if total is None else total + term
        return total

    def get_config(self):
        config = super().get_config()
        config.update(layers=_plain(self.layers), layer_weights=self.layer_weights)
        return config


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "feature_reconstruction",
    "loss",
    aliases=("content_loss",),
    test_config={"layers": ["relu2_2"]},
    paper="https://arxiv.org/abs/1603.08155",
)
class FeatureReconstructionLoss(_FeatureDictLoss):
    """Feature (content) loss: sum_l w_l * 1/(C H W) * ||phi_l(y_pred) - phi_l(y_true)||^2.

    Johnson et al. 2016 eq. 2; per sample, averaged over the batch.
    ``layers=None`` uses every key of ``y_pred``; ``layer_weights`` is a dict or a list
    aligned with ``layers`` (default 1.0 each).
    """

    def __init__(
        self,
        layers=None,
        layer_weights=None,
        reduction="sum_over_batch_size",
        name="feature_reconstruction",
        dtype=None,
    ):
        super().__init__(layers, layer_weights, reduction=reduction, name=name, dtype=dtype)

    def _layer_loss(self, y_true, y_pred):
        return F.feature_reconstruction_loss(y_true, y_pred)


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "gram_style",
    "loss",
    aliases=("style_loss",),
    test_config={"layers": ["relu1_2", "relu2_2"]},
    paper="https://arxiv.org/abs/1508.06576",
)
class GramStyleLoss(_FeatureDictLoss):
    """Gram style loss: sum_l w_l * ||G_l(y_pred) - G_l(y_true)||_F^2, G = F^T F/(C H W).

    Gatys et al. 2016 / Johnson et al. 2016 (docs/methods/johnson.md). ``y_true`` values may be
    feature maps (rank 4) or Gram matrices (rank 3) from `compute_targets`, computed
    once for a style image and broadcast over the batch. ``gram_reduction="sum"`` is
    the squared Frobenius norm (paper); ``"mean"`` divides by C^2 like the Lua/PyTorch
    code's ``MSECriterion`` (docs/methods/johnson.md, "Official code").
    """

    def __init__(
        self,
        layers=None,
        layer_weights=None,
        gram_reduction="sum",
        reduction="sum_over_batch_size",
        name="gram_style",
        dtype=None,
    ):
        super().__init__(layers, layer_weights, reduction=reduction, name=name, dtype=dtype)
        if gram_reduction not in ("sum", "mean"):
            raise ConfigError(f"gram_reduction must be 'sum' or 'mean', got {gram_reduction!r}.")
        self.gram_reduction = gram_reduction

    def _layer_loss(self, y_true, y_pred):
        return F.gram_style_loss(y_true, y_pred, reduction=self.gram_reduction)

    def compute_targets(self, features, weights=None):
        """Gram matrices of ``features`` ({name: (N,H,W,C)}) for the loss's layers.

        With ``weights`` (one per sample of the batch, e.g. ``style_weights``) the targets
        are the weighted sum over the batch, shape (1, C, C), as in jcjohnson's
        ``-style_blend_weights`` (neural_style.lua); weights are normalised to sum 1.
        """
        names = self._names(features)
        out = {}
        for n in names:
            g = F.gram_matrix(features[n])
            if weights is not None:
                w = ops.convert_to_tensor(weights, "float32")
                w = w / ops.sum(w)
                g = ops.sum(g * ops.reshape(w, (-1, 1, 1)), axis=0, keepdims=True)
            out[n] = g
        return out

    def get_config(self):
        return {**super().get_config(), "gram_reduction": self.gram_reduction}


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "mean_std_style",
    "loss",
    aliases=("adain_style",),
    test_config={"layers": ["relu1_1", "relu2_1"]},
    paper="https://arxiv.org/abs/1703.06868",
)
class MeanStdStyleLoss(_FeatureDictLoss):
    """AdaIN style loss: sum_l w_l * (||mu_l - mu_l'||^2 + ||sigma_l - sigma_l'||^2).

    Defaults follow the PyTorch port (pytorch-AdaIN ``net.py``):
    ``channel_reduction="mean"`` (``MSELoss`` averages over channels), std =
    sqrt(unbiased var + 1e-5). The Lua original sums over channels: use
    ``channel_reduction="sum", unbiased=False, epsilon=1e-6``. ``y_true`` values may be
    feature maps or (N, 2, C) [mean; std] statistics from `compute_targets`.
    """

    def __init__(
        self,
        layers=None,
        layer_weights=None,
        epsilon=1e-5,
        unbiased=True,
        channel_reduction="mean",
        reduction="sum_over_batch_size",
        name="mean_std_style",
        dtype=None,
    ):
        super().__init__(layers, layer_weights, reduction=reduction, name=name, dtype=dtype)
        if channel_reduction not in ("sum", "mean"):
            raise ConfigError(
                f"channel_reduction must be 'sum' or 'mean', got {channel_reduction!r}."
            )
        if not float(epsilon) >= 0:
            raise ConfigError(f"epsilon must be >= 0, got {epsilon}.")
        self.epsilon = float(epsilon)
        self.unbiased = bool(unbiased)
        self.channel_reduction = channel_reduction

    def _layer_loss(self, y_true, y_pred):
        return F.mean_std_style_loss(
            y_true,
            y_pred,
            epsilon=self.epsilon,
            unbiased=self.unbiased,
            reduction=self.channel_reduction,
        )

    def compute_targets(self, features):
        """Stacked (N, 2, C) [mean; std] statistics for the loss's layers."""
        return {
            n: F.mean_std_stats(features[n], self.epsilon, self.unbiased)
            for n in self._names(features)
        }

    def get_config(self):
        return {
            **super().get_config(),
            "epsilon": self.epsilon,
            "unbiased": self.unbiased,
            "channel_reduction": self.channel_reduction,
        }


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "total_variation",
    "loss",
    aliases=("tv",),
    test_config={},
    paper="https://arxiv.org/abs/1412.0035",
)
class TotalVariationLoss(keras.losses.Loss):
    """Anisotropic total variation of ``y_pred`` images (``y_true`` is ignored).

    ``kind="l1"``: sum |x[i,j]-x[i+1,j]| + |x[i,j]-x[i,j+1]| (anisotropic L1 TV, Rudin, Osher & Fatemi 1992; docs/methods/gatys.md);
    ``kind="squared"``: squared differences (the Lua TV regulariser, TotalVariation.lua, up to
    a factor 1/2). ``normalization="sum"`` sums over pixels and channels (scale grows
    with the image); ``"mean"`` averages each difference image instead. ``y_pred`` may
    also be a dict holding the image under ``"image"``.
    """

    def __init__(
        self,
        kind="l1",
        normalization="sum",
        reduction="sum_over_batch_size",
        name="total_variation",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if kind not in ("l1", "squared"):
            raise ConfigError(f"kind must be 'l1' or 'squared', got {kind!r}.")
        if normalization not in ("sum", "mean"):
            raise ConfigError(f"normalization must be 'sum' or 'mean', got {normalization!r}.")
        self.kind = kind
        self.normalization = normalization

    def __call__(self, y_true, y_pred, sample_weight=None):
        if y_true is None:  # ignored; Keras would try to convert None to a tensor
            y_true = y_pred
        return super().__call__(y_true, y_pred, sample_weight=sample_weight)

    def call(self, y_true, y_pred):
        if isinstance(y_pred, dict):
            if _IMAGE_KEY not in y_pred:
                raise ConfigError("total_variation needs the image: y_pred['image'] is missing.")
            y_pred = y_pred[_IMAGE_KEY]
        return F.total_variation(y_pred, kind=self.kind, reduction=self.normalization)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "normalization": self.normalization}


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "perceptual",
    "loss",
    aliases=("perceptual_loss",),
    test_config={"content_layers": ["relu2_2"], "style_layers": ["relu1_2", "relu2_2"]},
    paper="https://arxiv.org/abs/1603.08155",
)
class PerceptualLoss(keras.losses.Loss):
    """content_weight * content + style_weight * style + tv_weight * TV, on feature dicts.

    ``y_true = {"content": content_features, "style": style_features_or_targets}`` (see
    `compute_targets`), ``y_pred`` = the generated image's features, plus the image itself
    under ``"image"`` when ``tv_weight > 0``. `terms` returns the weighted terms by name
    (``content``, ``style``, ``tv``, ``total``) for logging.

    Default layers are Johnson et al. 2016's VGG16 choice (docs/methods/johnson.md: content
    relu2_2; style relu1_2, relu2_2, relu3_3, relu4_3). Default weights 1/1/0 are neutral
    placeholders: each method sets its own (the published ones assume other
    normalisations: docs/methods/johnson.md, docs/methods/gatys.md).
    """

    def __init__(
        self,
        content_layers=("relu2_2",),  # Johnson et al. 2016 (paper)
        style_layers=("relu1_2", "relu2_2", "relu3_3", "relu4_3"),  # ibid.
        content_weight=1.0,
        style_weight=1.0,
        tv_weight=0.0,
        content_layer_weights=None,
        style_layer_weights=None,
        style_loss="gram",
        gram_reduction="sum",
        tv_kind="l1",
        tv_normalization="sum",
        reduction="sum_over_batch_size",
        name="perceptual",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        # an empty list switches a term off (as does a weight of 0)
        self.content_layers = (
            _check_layers(content_layers, "content_layers") if content_layers else []
        )
        self.style_layers = _check_layers(style_layers, "style_layers") if style_layers else []
        self.content_weight = _check_weight(content_weight, "content_weight")
        self.style_weight = _check_weight(style_weight, "style_weight")
        self.tv_weight = _check_weight(tv_weight, "tv_weight")
        if style_loss not in ("gram", "mean_std"):
            raise ConfigError(f"style_loss must be 'gram' or 'mean_std', got {style_loss!r}.")
        self.content_layer_weights = _plain(content_layer_weights)
        self.style_layer_weights = _plain(style_layer_weights)
        self.style_loss = style_loss
        self.gram_reduction = gram_reduction
        self.tv_kind = tv_kind
        self.tv_normalization = tv_normalization
        self.content = FeatureReconstructionLoss(self.content_layers or None, content_layer_weights)
        if style_loss == "gram":
            self.style = GramStyleLoss(
                self.style_layers or None, style_layer_weights, gram_reduction=gram_reduction
            )
        else:
            self.style = MeanStdStyleLoss(self.style_layers or None, style_layer_weights)
        self.tv = TotalVariationLoss(tv_kind, tv_normalization)

    def compute_targets(self, content_features=None, style_features=None):
        """``y_true`` for this loss: content features as they are, style targets precomputed."""
        out = {}
        if content_features is not None:
            out["content"] = {n: content_features[n] for n in self.content_layers}
        if style_features is not None:
            out["style"] = self.style.compute_targets(
                {n: style_features[n] for n in self.style_layers}
            )
        return out

    def _per_sample_terms(self, y_true, y_pred):
        out = {}
        if self.content_weight and self.content_layers:
            out["content"] = self.content_weight * self.content.call(y_true["content"], y_pred)
        if self.style_weight and self.style_layers:
            out["style"] = self.style_weight * self.style.call(y_true["style"], y_pred)
        if self.tv_weight:
            out["tv"] = self.tv_weight * self.tv.call(None, y_pred)
        if not out:
            raise ConfigError("perceptual: every term has weight 0 or no layers.")
        return out

    def call(self, y_true, y_pred):
        total = None
        for v in self._per_sample_terms(y_true, y_pred).values():
            total = v if total is None else total + v
        return total

    def terms(self, y_true, y_pred):
        """Weighted terms averaged over the batch: {"content", "style", "tv", "total"}."""
        y_true = keras.tree.map_structure(lambda x: ops.cast(x, "float32"), y_true)
        y_pred = keras.tree.map_structure(lambda x: ops.cast(x, "float32"), y_pred)
        out = {k: ops.mean(v) for k, v in self._per_sample_terms(y_true, y_pred).items()}
        total = None
        for v in out.values():
            total = v if total is None else total + v
        out["total"] = total
        return out

    def get_config(self):
        return {
            **super().get_config(),
            "content_layers": list(self.content_layers),
            "style_layers": list(self.style_layers),
            "content_weight": self.content_weight,
            "style_weight": self.style_weight,
            "tv_weight": self.tv_weight,
            "content_layer_weights": self.content_layer_weights,
            "style_layer_weights": self.style_layer_weights,
            "style_loss": self.style_loss,
            "gram_reduction": self.gram_reduction,
            "tv_kind": self.tv_kind,
            "tv_normalization": self.tv_normalization,
        }


__all__ = [
    "FeatureReconstructionLoss",
    "GramStyleLoss",
    "MeanStdStyleLoss",
    "TotalVariationLoss",
    "PerceptualLoss",
]
