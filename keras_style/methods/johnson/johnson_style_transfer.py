"""Johnson et al. (2016) fast style transfer: a transform network trained with perceptual losses.

```python
import keras, keras_style as ks
model = ks.get("johnson", style_image="starry.jpg", weights="vgg16_hed_bsds500")
model.compile(optimizer=keras.optimizers.Adam(1e-3))
model.fit(ks.data.image_folder("coco/train2014", image_size=256, batch_size=4), epochs=2)
out = model.stylize("photo.jpg", strength=0.8, preserve_color=True, tile=512)
```

Loss (paper and docs/methods/johnson.md; weights of the Lua ``train.lua``):

- content: ``content_weight`` x mean squared difference of VGG-16 ``relu2_2`` features of
  the output and the input (paper; the Lua default uses relu3_3);
- style: ``style_weight`` x mean squared difference between the output's Gram matrices
  (normalised by C H W) and the style image's, at ``relu1_2, relu2_2, relu3_3, relu4_3``
  (Lua ``MSECriterion``: mean over C x C);
- total variation: ``tv_weight`` x 1/2 sum of squared neighbour differences of the output
  in 0-255 units (per image, averaged over the batch; Lua ``TotalVariation``).

VGG features are computed from [0, 1] RGB with Caffe preprocessing inside the extractor
(0-255, BGR, mean subtracted), so the Lua loss weights keep their meaning.

The style Gram targets are computed once (style image resized so its longer side is
``style_size``, Lua ``-style_image_size 256``) and stored as non-trainable weights, so a
``.keras`` file carries them and needs neither the style image nor the loss network to
stylize. The loss network itself is not saved (it is rebuilt from ``weights`` when the
model is compiled for training).
"""

from __future__ import annotations

import os

import keras
import numpy as np
from keras import ops

from keras_style.deprecation import UNSET, renamed
from keras_style.distribution import scale_for_distribution
from keras_style.errors import ConfigError
from keras_style.images import preserve_color as keep_colors
from keras_style.images import read_rgb, resize_longer
from keras_style.losses import functional as F
from keras_style.losses.mixed_precision import LOSS_NETWORK_DTYPE
from keras_style.methods.base import FeedForwardModel
from keras_style.methods.johnson.networks import JohnsonTransformer
from keras_style.registry import register
from keras_style.untrained import remember_initial_weights, warn_if_untrained

# VGG-16 channels per block (Simonyan & Zisserman 2015).
_VGG_CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}
STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")  # paper + Lua -style_layers 4,9,16,23
CONTENT_LAYERS = ("relu2_2",)  # paper; the Lua default is relu3_3


def _layer_channels(name):
    try:
        block = int(name[len("relu") :].split("_")[0]) if name.startswith("relu") else int(
            name[len("conv") :].split("_")[0]
        )
    except (ValueError, IndexError):
        raise ConfigError(f"Unknown VGG layer name {name!r}; use names like 'relu2_2'.") from None
    return _VGG_CHANNELS[block]


# `keras_style.images.read_rgb` under the name the Johnson modules import
load_any_image = read_rgb


def check_style_weight(style_weight, style_layers):
    """``style_weight`` as one float, or one float per style layer (a list of the right length)."""
    if isinstance(style_weight, (list, tuple)):
        if len(style_weight) != len(style_layers):
            raise ConfigError(f"style_weight has {len(style_weight)} values for {len(style_layers)} style layers.")
        return [float(v) for v in style_weight]
    return float(style_weight)


def _renamed_config(config):
    """A config written before ``weights`` became ``backbone_weights`` (keras_style/deprecation.py)."""
    config = dict(config)
    if "weights" in config:
        config.setdefault("backbone_weights", config.pop("weights"))
    return config


def preserve_colors(stylized, content):
    """Deprecated name of `keras_style.images.preserve_color` (keras_style/deprecation.py)."""
    import warnings

    from keras_style.deprecation import REMOVED_IN
    from keras_style.images import preserve_color

    warnings.warn(
        f"keras_style.methods.johnson.johnson_style_transfer.preserve_colors is deprecated and will be removed in "
        f"keras-style {REMOVED_IN}; use keras_style.images.preserve_color (same result, clipped to [0, 1]).",
        DeprecationWarning,
        stacklevel=2,
    )
    return preserve_color(stylized, content)


def pad_to_multiple(x, multiple, mode="reflect"):
    """Pad an NHWC NumPy batch at the bottom/right to a multiple of ``multiple``."""
    h, w = x.shape[1], x.shape[2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x
    if mode == "reflect" and (ph >= h or pw >= w):
        mode = "symmetric" if (ph <= h and pw <= w) else "edge"
    return np.pad(x, ((0, 0), (0, ph), (0, pw), (0, 0)), mode=mode)


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "johnson",
    "method",
    aliases=("johnson_style_transfer", "fast_style_transfer"),
    test_config={
        "style_image": np.full((24, 24, 3), 0.5, "float32"),
        "style_size": 24,
        "backbone_weights": None,
        "width": 0.125,
        "num_residual_blocks": 1,
    },
    paper="https://arxiv.org/abs/1603.08155",
)
class JohnsonStyleTransfer(FeedForwardModel):
    """Feed-forward style transfer (Johnson, Alahi & Fei-Fei, ECCV 2016).

    Args:
        style_image: path / array / PIL image of the style (needed to train; a model
            loaded from ``.keras`` or a preset carries its Gram targets instead).
        style_size: the style image's longer side for the Gram targets (Lua
            ``-style_image_size 256``).
        backbone_weights: loss-network weights (old name ``weights``, deprecated): ``"vgg16_imagenet"`` (paper), ``"vgg16_hed_bsds500"``
            (offline), a path, or ``None`` (random; tests).
        loss_network: registry name of the VGG extractor (``"vgg16"``, paper).
        content_layers, style_layers: VGG taps (paper: relu2_2; relu1_2, relu2_2,
            relu3_3, relu4_3).
        content_weight: 1.0 (Lua ``-content_weights``).
        style_weight: 5.0 per layer (Lua ``-style_weights``); a list gives one per layer.
        tv_weight: 1e-6 (Lua ``-tv_strength``; the paper cross-validates 1e-6..1e-4).
        width, num_residual_blocks, normalization, upsampling, padding, output, layout:
            the transform network (`JohnsonTransformer`); the defaults are the paper's.
    """

    def __init__(
        self,
        style_image=None,
        style_size=256,  # Lua -style_image_size 256 (longer side)
        backbone_weights="vgg16_imagenet",  # paper: ImageNet VGG-16
        loss_network="vgg16",  # paper: VGG-16
        content_layers=CONTENT_LAYERS,
        style_layers=STYLE_LAYERS,
        content_weight=1.0,  # Lua -content_weights 1.0
        style_weight=5.0,  # Lua -style_weights 5.0 (each layer)
        tv_weight=1e-6,  # Lua -tv_strength 1e-6
        width=1.0,
        num_residual_blocks=5,
        normalization="batch",
        upsampling="transposed",
        padding="zero",
        output="tanh",
        layout="paper",
        weights=UNSET,
        **kwargs,
    ):
        defer = kwargs.pop("_defer_style", False)
        super().__init__(**kwargs)
        self.style_image = style_image if isinstance(style_image, (str, os.PathLike)) else None
        if self.style_image is not None:
            self.style_image = str(self.style_image)
        if style_size is not None and (not isinstance(style_size, int) or style_size < 16):
            raise ConfigError(f"style_size must be an int >= 16 or None, got {style_size!r}.")
        self.style_size = style_size
        self.weights_id = renamed("JohnsonStyleTransfer", "weights", weights, "backbone_weights", backbone_weights,
                                  new_default="vgg16_imagenet")
        self.loss_network_name = loss_network
        self.content_layers = [content_layers] if isinstance(content_layers, str) else list(content_layers)
        self.style_layers = [style_layers] if isinstance(style_layers, str) else list(style_layers)
        if not self.style_layers:
            raise ConfigError("style_layers is empty; the paper uses relu1_2, relu2_2, relu3_3, relu4_3.")
        self.style_weight = check_style_weight(style_weight, self.style_layers)
        self.content_weight = float(content_weight)
        self.tv_weight = float(tv_weight)
        self.transform = JohnsonTransformer(
            width=width,
            num_residual_blocks=num_residual_blocks,
            normalization=normalization,
            upsampling=upsampling,
            padding=padding,
            output=output,
            layout=layout,
            name="transform",
        )
        remember_initial_weights(self, self.transform)  # keras_style/untrained.py
        self.style_grams = [
            self.add_weight(
                shape=(_layer_channels(n), _layer_channels(n)),
                initializer="zeros",
                trainable=False,
                name=f"style_gram_{n}",
            )
            for n in self.style_layers
        ]
        self.content_loss_tracker = keras.metrics.Mean(name="content_loss")
        self.style_loss_tracker = keras.metrics.Mean(name="style_loss")
        self.tv_loss_tracker = keras.metrics.Mean(name="tv_loss")
        object.__setattr__(self, "_loss_net", None)
        self.has_style_targets = False
        if not defer:
            if style_image is not None:
                self.set_style(style_image)
        self.built = True

    # ------------------------------------------------------------------ loss network

    @property
    def loss_network(self):
        """The frozen VGG extractor (built on first use; not saved with the model)."""
        if self._loss_net is None:
            from keras_style.registry import get

            layers = list(dict.fromkeys(self.content_layers + self.style_layers))
            # float32 even under mixed precision (docs/mixed_precision.md)
            net = get(self.loss_network_name, layers=layers, weights=self.weights_id, dtype=LOSS_NETWORK_DTYPE)
            object.__setattr__(self, "_loss_net", net)
        return self._loss_net

    def set_style(self, style_image, style_size="default"):
        """Compute and store the Gram targets of ``style_image``."""
        size = self.style_size if style_size == "default" else style_size
        arr = load_any_image(style_image, "style image")
        arr = resize_longer(arr, size)  # photo resize (docs: keras_style/images.py)
        feats = self.loss_network(arr[None])
        for var, name in zip(self.style_grams, self.style_layers):
            var.assign(ops.cast(F.gram_matrix(feats[name])[0], "float32"))
        self.has_style_targets = True

    def paper_optimizer(self):
        """``compile(optimizer="auto")``: Adam, learning rate 1e-3 (Johnson et al. 2016, §4)."""
        return keras.optimizers.Adam(1e-3)

    def _prepare_compile(self):
        _ = self.loss_network  # build the extractor outside any traced function

    # ------------------------------------------------------------------ training

    def _style_weights(self):
        if isinstance(self.style_weight, list):
            return self.style_weight
        return [self.style_weight] * len(self.style_layers)

    @property
    def objective(self):
        """The `keras_style.losses.PerceptualLoss` this model trains with, in the Lua code's
        normalisations (docs/methods/johnson.md): content MSE, Gram MSE (``gram_reduction=
        "mean"``, ``MSECriterion``) with ``style_weight`` per layer, and ``TotalVariation``'s
        1/2 sum of squared neighbour differences of the 0-255 image."""
        obj = self.__dict__.get("_objective")
        if obj is None:
            from keras_style.losses.perceptual import PerceptualLoss

            obj = PerceptualLoss(
                content_layers=self.content_layers,
                style_layers=self.style_layers,
                content_weight=self.content_weight,
                style_weight=1.0,
                tv_weight=0.5 * self.tv_weight,
                style_layer_weights=dict(zip(self.style_layers, self._style_weights())),
                gram_reduction="mean",
                tv_kind="squared",
                tv_normalization="sum",
            )
            object.__setattr__(self, "_objective", obj)
        return obj

    def loss_terms(self, content, stylized):
        """``{"content": ..., "style": ..., "tv": ...}`` scalar float32 losses (weighted), from
        `objective` with targets keyed by layer name."""
        net = self.loss_network
        f_out = net(stylized)
        f_in = net(content)
        y_true = {
            "content": {n: ops.stop_gradient(f_in[n]) for n in self.content_layers},
            "style": {n: ops.expand_dims(ops.cast(v, "float32"), 0) for v, n in zip(self.style_grams, self.style_layers)},
        }
        y_pred = {**f_out, "image": ops.cast(stylized, "float32") * 255.0}
        terms = self.objective.terms(y_true, y_pred)
        zero = ops.convert_to_tensor(0.0)
        return {k: terms.get(k, zero) for k in ("content", "style", "tv")}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if isinstance(x, (tuple, list)):
            x = x[0]
        if y_pred is None:
            y_pred = self(x, training=training)
        terms = self.loss_terms(x, y_pred)
        total = terms["content"] + terms["style"] + terms["tv"]
        self.content_loss_tracker.update_state(terms["content"])
        self.style_loss_tracker.update_state(terms["style"])
        self.tv_loss_tracker.update_state(terms["tv"])
        return scale_for_distribution(total)

    def fit(self, *args, **kwargs):
        if not self.has_style_targets and not any(
            float(np.abs(ops.convert_to_numpy(v)).sum()) > 0 for v in self.style_grams
        ):
            raise ConfigError(
                "This johnson model has no style targets: pass style_image= when building it "
                "(or call model.set_style(path))."
            )
        return super().fit(*args, **kwargs)

    # ------------------------------------------------------------------ inference

    def stylize(
        self,
        image,
        strength=1.0,
        preserve_color=False,
        tile=None,
        overlap=64,  # >= the transform network's receptive-field radius (~54 px): exact tiles
        size=None,
        verbose=0,
    ):
        """Stylize one image; returns NumPy float32 HxWx3 in [0, 1] (input size).

        Args:
            image: path, PIL image, NumPy HxWx3 or tensor in [0, 1].
            strength: blend with the input: 0 returns the input, 1 the network output.
            preserve_color: keep the input's colours (its YIQ chroma; luminance from the
                stylized image, Gatys et al. 2016 "Preserving color").
            tile: process in tiles of this many pixels (any image size, bounded memory;
                instance-norm statistics are still whole-image, see `keras_style.tiling`).
                ``None`` (default): one piece, or pieces with a `keras_style.memory.AutoTileWarning`
                when one piece would not fit in memory; ``0``: one piece whatever the estimate.
            overlap: context in pixels around each tile (64 covers the network's receptive
                field, so tiled == untiled); cores are blended over a feathered band.
            size: resize the input's shorter side to ``size`` first.
        """
        warn_if_untrained(self)
        if not 0.0 <= float(strength) <= 1.0:
            raise ConfigError(f"strength must be in [0, 1], got {strength}.")
        content = load_any_image(image, "content image", size=size)
        tile = self._plan_tile(content, tile, overlap)
        out = self._run(content[None], tile=tile, overlap=overlap, verbose=verbose)[0]
        out = np.clip(out, 0.0, 1.0)
        if preserve_color:
            out = keep_colors(out, content)
        s = float(strength)
        if s < 1.0:
            out = s * out + (1.0 - s) * content
        return np.clip(out, 0.0, 1.0).astype("float32")

    # ------------------------------------------------------------------ weights / config

    def load_preset_weights(self, path):
        """Load transform-network weights saved by `save_transform_weights` (presets)."""
        self.transform.load_weights(str(path))
        self.has_style_targets = True

    def save_transform_weights(self, path):
        """Save only the transform network's weights (what a preset ships)."""
        self.transform.save_weights(str(path))

    def get_config(self):
        t = self.transform.get_config()
        return {
            "name": self.name,
            "style_image": self.style_image,
            "style_size": self.style_size,
            "backbone_weights": self.weights_id,
            "loss_network": self.loss_network_name,
            "content_layers": list(self.content_layers),
            "style_layers": list(self.style_layers),
            "content_weight": self.content_weight,
            "style_weight": self.style_weight,
            "tv_weight": self.tv_weight,
            **{k: t[k] for k in ("width", "num_residual_blocks", "normalization", "upsampling", "padding", "output", "layout")},
        }

    @classmethod
    def from_config(cls, config):
        config = _renamed_config(config)
        # the Gram targets come from the saved weights: do not reread the style image
        return cls(**config, _defer_style=True)


__all__ = ["JohnsonStyleTransfer", "preserve_colors", "load_any_image", "pad_to_multiple"]
