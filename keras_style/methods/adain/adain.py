"""AdaIN arbitrary style transfer (Huang & Belongie, ICCV 2017): model, training, controls.

```python
import keras_style as ks
model = ks.get("adain", weights="adain_vgg19_coco_wikiart")   # converted official weights
out = model.stylize("photo.jpg", "painting.jpg", alpha=0.8)     # HxWx3 in [0, 1], photo's size
mix = model.stylize("photo.jpg", ["a.jpg", "b.jpg"], style_weights=[0.3, 0.7])
enc = model.encode_style("painting.jpg")                        # reuse one style for many photos
outs = [model.stylize(p, style=enc) for p in ["a.jpg", "b.jpg"]]
```

Facts and their sources: docs/methods/adain.md (Lua original ``xunhuang1995/AdaIN-style`` and the
PyTorch port ``naoto0804/pytorch-AdaIN``).
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import keras
import numpy as np
from keras import ops

from keras_style.distribution import scale_for_distribution
from keras_style.errors import ConfigError, ConversionError, ImageError
from keras_style.images import resize_mask, resize_shorter, resize_to
from keras_style.layers.upsample_conv import NearestUpsampling2D
from keras_style.losses.functional import mean_std
from keras_style.methods.adain import controls
from keras_style.methods.base import FeedForwardModel
from keras_style.registry import register
from keras_style.untrained import remember_initial_weights, warn_if_untrained

# Taps of VGG used by the method: content/AdaIN at relu4_1, style loss at relu1_1..relu4_1
# with equal weights (paper; Lua -targetStyleLayers, PyTorch net.py).
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
CONTENT_LAYER = "relu4_1"
ENCODERS = ("vgg19_normalised", "vgg19", "vgg16")

# Decoder (pytorch-AdaIN net.py `decoder`; the Lua train.lua mirror of the
# encoder). Entries: ("conv", name, filters) | ("up",). Every conv is reflection pad 1 +
# 3x3 valid conv + ReLU, except the last one (no activation). Names mirror the VGG convs;
# the comment gives the index in the official 29-module Sequential (= state-dict key).
DECODER_LAYERS = (
    ("conv", "conv4_1", 256),  # 1: 512 -> 256
    ("up",),  # 3
    ("conv", "conv3_4", 256),  # 5
    ("conv", "conv3_3", 256),  # 8
    ("conv", "conv3_2", 256),  # 11
    ("conv", "conv3_1", 128),  # 14
    ("up",),  # 16
    ("conv", "conv2_2", 128),  # 18
    ("conv", "conv2_1", 64),  # 21
    ("up",),  # 23
    ("conv", "conv1_2", 64),  # 25
    ("conv", "conv1_1", 3),  # 28: output, no activation
)
# State-dict index of each decoder conv in decoder.pth (docs/methods/adain.md).
DECODER_TORCH_INDEX = {
    "conv4_1": 1,
    "conv3_4": 5,
    "conv3_3": 8,
    "conv3_2": 11,
    "conv3_1": 14,
    "conv2_2": 18,
    "conv2_1": 21,
    "conv1_2": 25,
    "conv1_1": 28,
}

# Training defaults (docs/methods/adain.md, "Official code").
# Style weight 10 with MSE (mean) statistics losses: pytorch-AdaIN train.py --style_weight 10.
# The Lua original uses 1e-2 with *summed* squared differences over channels (divided by
# the batch size), so its number is not comparable; we use the PyTorch-port losses (means),
# hence its weight.
STYLE_WEIGHT = 10.0
CONTENT_WEIGHT = 1.0  # both codes: content weight 1
LEARNING_RATE = 1e-4  # both codes
LR_DECAY = 5e-5  # both codes: lr / (1 + 5e-5 * t), t = 0, 1, ... (optim.adam learningRateDecay)
ADAM_EPSILON = 1e-8  # torch optim.adam / torch.optim.Adam default (Keras' default is 1e-7)


def _decoder_filters(filters, width):
    return filters if filters == 3 else max(1, int(round(filters * width)))


def build_decoder(in_channels=512, width=1.0, name="decoder"):
    """The official AdaIN decoder (pytorch-AdaIN net.py) as a functional model.

    ``width`` scales every hidden layer (tests use narrow decoders); 1.0 is the official one.
    Input: relu4_1 features (N, h, w, in_channels); output: (N, 8h, 8w, 3), no activation.
    """
    from keras_style.layers.reflection_padding import ReflectionPadding2D

    x_in = keras.Input((None, None, in_channels), name="features")
    x = x_in
    n_up = 0
    for spec in DECODER_LAYERS:
        if spec[0] == "up":
            n_up += 1
            # nearest upsampling in place of pooling (paper; equals torch Upsample, docs/conversions.md)
            x = NearestUpsampling2D(2, name=f"upsample{n_up}")(x)
            continue
        _, lname, filters = spec
        last = lname == "conv1_1"
        x = ReflectionPadding2D(1, name=f"{lname}_pad")(x)
        x = keras.layers.Conv2D(
            _decoder_filters(filters, width),
            3,
            padding="valid",
            activation=None if last else "relu",
            name=lname,
        )(x)
    return keras.Model(x_in, x, name=name)


@dataclasses.dataclass
class EncodedStyle:
    """Cached statistics of a style image at relu4_1 (from `AdaIN.encode_style`).

    ``mean`` and ``std`` are float32 arrays (1, 1, 1, C). ``image`` keeps the (resized) style
    image so ``preserve_color`` can recolour and re-encode it.
    """

    mean: np.ndarray
    std: np.ndarray
    image: np.ndarray
    encoder: str

    def __repr__(self):
        h, w = self.image.shape[:2]
        return f"EncodedStyle({self.encoder}, image {h}x{w}, {self.mean.shape[-1]} channels)"


def _as_list(x):
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


@register(
    "adain",
    "method",
    aliases=("adain_style_transfer",),
    test_config={"encoder": "vgg16", "decoder_width": 0.0625},
    paper="https://arxiv.org/abs/1703.06868",
    notes="Arbitrary style transfer with Adaptive Instance Normalization; "
    "weights='adain_vgg19_coco_wikiart' after `keras-style convert adain`.",
)
@keras.saving.register_keras_serializable(package="keras_style")
class AdaIN(FeedForwardModel):
    """AdaIN arbitrary style transfer: VGG encoder to relu4_1, AdaIN, mirrored decoder.

    Args:
        encoder: ``"vgg19_normalised"`` (the official encoder: reflection padding,
            ceil-mode pooling, leading 1x1 conv), or ``"vgg19"`` / ``"vgg16"`` (keras.applications
            extractors; ``encoder_weights="vgg16_hed_bsds500"`` works offline).
        encoder_weights: weights of the encoder backbone (``None``: random, for tests).
        weights: weights of the whole model: an AdaIN weights name
            (``"adain_vgg19_coco_wikiart"``) or a ``.keras`` / ``.weights.h5`` path. A backbone
            weights name (loads into vgg16/vgg19...) is accepted as ``encoder_weights``.
        decoder_width: multiplier of the decoder's hidden widths (1.0 = official).
        style_weight, content_weight: training loss weights (PyTorch-port defaults).
        epsilon, unbiased: AdaIN / statistics numerics (PyTorch port: sqrt(var_unbiased + 1e-5);
            ``unbiased=False`` gives the Lua target std, docs/methods/adain.md).
        preview_styles: style images (paths) used by `preview` when it is given content only.

    ``get_config`` returns ``weights=None`` and ``encoder_weights=None``: a saved ``.keras``
    file holds every weight, so reloading never needs the original files.

    Unlike both original codes, outputs are cropped back to the content's size (ceil-mode
    pooling makes the decoder's output up to 7 px larger when a side is not a multiple of 8).
    """

    def __init__(
        self,
        encoder="vgg19_normalised",
        encoder_weights=None,
        weights=None,
        decoder_width=1.0,
        style_weight=STYLE_WEIGHT,
        content_weight=CONTENT_WEIGHT,
        epsilon=controls.EPSILON,
        unbiased=True,
        preview_styles=None,
        **kwargs,
    ):
        kwargs.setdefault("name", "adain")
        super().__init__(**kwargs)
        if encoder not in ENCODERS:
            raise ConfigError(f"encoder must be one of {', '.join(ENCODERS)}, got {encoder!r}.")
        if not (isinstance(decoder_width, (int, float)) and decoder_width > 0):
            raise ConfigError(f"decoder_width must be a positive number, got {decoder_width!r}.")
        if style_weight < 0 or content_weight < 0:
            raise ConfigError("style_weight and content_weight must be >= 0.")
        if preview_styles is not None and not all(
            isinstance(p, str) for p in _as_list(preview_styles)
        ):
            # arrays are accepted but not serialised
            self._preview_style_arrays = _as_list(preview_styles)
            preview_styles = None
        else:
            self._preview_style_arrays = None
        model_weights = None
        if weights is not None:
            model_weights, as_encoder = self._classify_weights(weights, encoder)
            if as_encoder is not None:
                if encoder_weights is not None:
                    raise ConfigError(
                        f"weights={weights!r} are encoder weights and encoder_weights="
                        f"{encoder_weights!r} was also given; pass one of them."
                    )
                encoder_weights = as_encoder
        self.encoder_name = encoder
        self.decoder_width = float(decoder_width)
        self.style_weight = float(style_weight)
        self.content_weight = float(content_weight)
        self.epsilon = float(epsilon)
        self.unbiased = bool(unbiased)
        self.preview_styles = preview_styles

        from keras_style.registry import get

        self.encoder = get(encoder, layers=list(STYLE_LAYERS), weights=encoder_weights)
        self.encoder.trainable = False
        self.decoder = build_decoder(512, self.decoder_width)
        remember_initial_weights(self, self.decoder)  # keras_style/untrained.py
        from keras_style.layers.adaptive_instance_normalization import AdaptiveInstanceNormalization

        self.adain_layer = AdaptiveInstanceNormalization(
            epsilon=self.epsilon, unbiased=self.unbiased, name="adain_norm"
        )
        self.content_loss_tracker = keras.metrics.Mean(name="content_loss")
        self.style_loss_tracker = keras.metrics.Mean(name="style_loss")
        self._auto_jit_inference = True  # XLA on tensorflow/jax; eager on torch (base.py)
        self.built = True
        if model_weights is not None:
            self.load_model_weights(model_weights)

    # ------------------------------------------------------------------ config / weights
    @staticmethod
    def _classify_weights(weights, encoder):
        """-> (model weights path or name, encoder weights name or None)."""
        from keras_style import weights as wreg

        if isinstance(weights, str) and weights in wreg.names():
            target = wreg.manifest(weights)["loads_into"]["name"]
            if target == "adain":
                return weights, None
            if target in ENCODERS:
                return None, weights
            raise ConfigError(
                f"weights {weights!r} load into {target!r}, not into adain or its encoder."
            )
        return weights, None

    def load_model_weights(self, weights):
        """Load whole-model weights from a weights name or a ``.keras`` / ``.weights.h5`` file."""
        from keras_style import weights as wreg

        path = wreg.resolve(weights)
        try:
            self.load_weights(str(path))
        except Exception as e:
            raise ConversionError(
                f"{path} does not fit this AdaIN model (encoder={self.encoder_name!r}, "
                f"decoder_width={self.decoder_width}): {type(e).__name__}: "
                f"{' '.join(str(e).split())[:300]}. Build the model with the encoder and "
                "width the file was made with, or convert the official files with "
                "`keras-style convert adain`."
            ) from e
        self.reset_inference_cache()
        self.__dict__.pop("_style_cache", None)  # the encoder may have changed
        return self

    def load_preset_weights(self, path):  # used by keras_style.presets
        return self.load_model_weights(str(path))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "encoder": self.encoder_name,
                "encoder_weights": None,
                "weights": None,
                "decoder_width": self.decoder_width,
                "style_weight": self.style_weight,
                "content_weight": self.content_weight,
                "epsilon": self.epsilon,
                "unbiased": self.unbiased,
                "preview_styles": self.preview_styles,
            }
        )
        return config

    def build(self, input_shape=None):
        self.built = True

    # ------------------------------------------------------------------ forward
    @staticmethod
    def _split_inputs(inputs):
        if isinstance(inputs, dict):
            return inputs["content"], inputs["style"]
        if isinstance(inputs, (list, tuple)) and len(inputs) == 2:
            return inputs[0], inputs[1]
        raise ConfigError(
            "AdaIN is called on (content, style) or {'content': ..., 'style': ...} batches."
        )

    def call(self, inputs, alpha=1.0, training=False):
        """Stylize a batch: ``model((content, style), alpha=1.0)`` -> images (N, H, W, 3).

        Float NHWC RGB in [0, 1]; the output is cropped to the content's size and not
        clipped (the decoder has no output activation). With ``training=True`` returns a
        dict with the intermediate tensors `compute_loss` needs.
        """
        if isinstance(alpha, (int, float)) and not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"alpha must be in [0, 1], got {alpha!r}.")
        content, style = self._split_inputs(inputs)
        c_feat = self.encoder(self._pad8(content))[CONTENT_LAYER]
        s_feats = self.encoder(style)
        t = self.adain_layer([c_feat, s_feats[CONTENT_LAYER]])
        if not (isinstance(alpha, (int, float)) and alpha == 1.0):
            t = alpha * t + (1.0 - alpha) * ops.cast(c_feat, t.dtype)
        out = self.decoder(t)
        shape = ops.shape(content)
        out = out[:, : shape[1], : shape[2], :]
        if training:
            return {"output": out, "target": t, "style_features": s_feats}
        return out

    def _pad8(self, x):
        """The input the encoder sees. vgg19_normalised ceil-pools like both original codes:
        the image as it is (the decoder returns 8*ceil(h/8) rows, cropped by the callers).
        The keras.applications VGGs (no original code) floor-pool: reflect-pad the bottom and
        right to a multiple of 8 so the decoder's output covers the input (then cropped)."""
        if self.encoder_name == "vgg19_normalised":
            return x
        shape = ops.shape(x)
        # (8 - n % 8) % 8, not (-n) % 8: tf2onnx turns a negative FloorMod into a truncated one
        ph, pw = (8 - shape[1] % 8) % 8, (8 - shape[2] % 8) % 8
        if isinstance(ph, int) and isinstance(pw, int) and ph == 0 and pw == 0:
            return x
        return ops.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]], mode="reflect")

    # ------------------------------------------------------------------ training
    def paper_optimizer(self):
        """``compile(optimizer="auto")``: Adam(1e-4, eps 1e-8) with the official inverse-time
        decay lr / (1 + 5e-5 t) (both codes)."""
        return keras.optimizers.Adam(
            learning_rate=adain_learning_rate(), beta_1=0.9, beta_2=0.999, epsilon=ADAM_EPSILON
        )

    def compile(self, optimizer="auto", **kwargs):
        """``optimizer="auto"`` or ``"adam"``: `paper_optimizer`; any other optimizer is used as is."""
        kwargs.setdefault("jit_compile", "auto")
        return super().compile(optimizer, **kwargs)

    def compile_from_config(self, config):
        opt = config.get("optimizer") if isinstance(config, dict) else None
        if isinstance(opt, dict):
            opt = keras.optimizers.deserialize(opt)
        self.compile(optimizer=opt or "auto")
        if self.optimizer is not None and not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)  # so saved slots load back

    def losses_for(self, out, target, style_features):
        """(content_loss, style_loss) of a batch, float32 (PyTorch-port formulas, net.py)."""
        from keras_style.losses.perceptual import FeatureReconstructionLoss, MeanStdStyleLoss

        out_feats = self.encoder(out)
        content_loss = ops.mean(FeatureReconstructionLoss(layers=[CONTENT_LAYER]).call({CONTENT_LAYER: target}, out_feats))
        style = MeanStdStyleLoss(layers=list(STYLE_LAYERS), epsilon=self.epsilon, unbiased=self.unbiased,
                                 channel_reduction="mean")
        style_loss = ops.mean(style.call(style_features, out_feats))
        return content_loss, style_loss

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if not isinstance(y_pred, dict):
            y_pred = self(x, training=True)
        target = ops.stop_gradient(y_pred["target"])
        style_feats = {k: ops.stop_gradient(v) for k, v in y_pred["style_features"].items()}
        content_loss, style_loss = self.losses_for(y_pred["output"], target, style_feats)
        self.content_loss_tracker.update_state(content_loss)
        self.style_loss_tracker.update_state(style_loss)
        total = self.content_weight * content_loss + self.style_weight * style_loss
        extra = self.losses
        if extra:
            total = total + ops.sum(extra)
        return scale_for_distribution(total)

    @property
    def metrics(self):
        base = list(super().metrics)
        for m in (self.content_loss_tracker, self.style_loss_tracker):
            if m not in base:
                base.append(m)
        return base

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        # y_pred is a dict in training; there are no compiled metrics on it.
        return self.get_metrics_result()

    # ------------------------------------------------------------------ compiled pieces
    def encode(self, images):
        """relu4_1 features of a float NHWC batch in [0, 1] (NumPy)."""
        x = np.asarray(images, np.float32)
        if self.encoder_name != "vgg19_normalised":
            ph, pw = (-x.shape[1]) % 8, (-x.shape[2]) % 8
            if ph or pw:
                x = np.pad(x, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="reflect")
        # XLA: 10-30% faster than graph mode on CPU (docs/design.md, "Performance"); it
        # compiles once per input shape (jit_compile_inference)
        return self.compiled_call("encode", lambda t: self.encoder(t)[CONTENT_LAYER], x)

    def decode(self, features):
        """Decoder output of relu4_1 features (NumPy, not cropped, not clipped)."""
        return self.compiled_call("decode", self.decoder, np.asarray(features, np.float32))

    # ------------------------------------------------------------------ inference controls
    def _load(self, img, size, what, return_alpha=False):
        from keras_style.images import load_image

        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 8):
            raise ConfigError(
                f"{what}_size must be an int >= 8 (shorter side in pixels), got {size!r}."
            )
        if isinstance(img, np.ndarray) or hasattr(img, "dtype"):
            rgb, alpha = _array_image(img, what)
            if size is not None:  # as load_image(size=...) does for files (keras_style/images.py)
                rgb = resize_shorter(rgb, size)
                alpha = None if alpha is None else resize_mask(alpha, rgb.shape[:2])
            return (rgb, alpha) if return_alpha else rgb
        return load_image(img, size=size, return_alpha=return_alpha)

    def _stats(self, image):
        f = self.encode(image[None])
        m, s = mean_std(f, self.epsilon, self.unbiased)
        return np.asarray(ops.convert_to_numpy(m)), np.asarray(ops.convert_to_numpy(s))

    def encode_style(self, style, style_size=None):
        """Encode a style image once: returns an `EncodedStyle` with its relu4_1 mean/std.

        Pass it as ``stylize(content, style=encoded)`` (or in a list) to stylize many
        contents without encoding the style again. ``style_size`` resizes the shorter side
        (``None`` keeps the image's size).
        """
        if isinstance(style, EncodedStyle):
            return style
        image = self._load(style, style_size, "style")
        m, s = self._stats(image)
        return EncodedStyle(mean=m, std=s, image=image, encoder=self.encoder_name)

    def _cached_style(self, style, style_size):
        """encode_style with a small cache for style *files* (folder x folder batch mode in
        the CLI calls stylize once per pair): keyed by path, modification time and size."""
        import os
        from collections import OrderedDict

        if not isinstance(style, (str, os.PathLike)) or not os.path.isfile(style):
            return self.encode_style(style, style_size)
        key = (os.path.abspath(os.fspath(style)), os.path.getmtime(style), style_size)
        cache = self.__dict__.setdefault("_style_cache", OrderedDict())
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        enc = self.encode_style(style, style_size)
        cache[key] = enc
        while len(cache) > 16:
            cache.popitem(last=False)
        return enc

    def stylize(
        self,
        content,
        style=None,
        alpha=1.0,
        style_weights=None,
        preserve_color=False,
        masks=None,
        content_size=None,
        style_size=None,
        tile=None,
        overlap=80,  # > the pipeline's receptive-field radius (~70 px): tiled == untiled
        verbose=0,
    ):
        """Stylize one content image; returns NumPy float32 (H, W, 3) in [0, 1].

        Args:
            content: path, PIL image, NumPy array or tensor. RGBA content keeps its alpha:
                the result is then (H, W, 4), the stylized RGB plus the input's alpha.
            style: one style (path/image/array or an `EncodedStyle` from `encode_style`) or a
                list of them (interpolation with ``style_weights``, or one per mask).
            alpha: content-style trade-off in [0, 1] in feature space (paper §7.3).
            style_weights: interpolation weights, one per style; normalised with a warning
                when they do not sum to 1 (default: equal weights).
            preserve_color: recolour each style with CORAL to the content's colour statistics
                before encoding (both official codes; the style is re-encoded).
            masks: one HxW mask per style (content size after ``content_size``): AdaIN per
                region (Lua ``-mask``; any number of regions). Must cover every pixel once.
            content_size, style_size: shorter side in pixels; ``None`` (default) keeps the
                image's size (the originals resize both to 512).
            tile, overlap: process the content in tiles of ``tile`` px (rounded down to a
                multiple of 8), each computed from a crop ``overlap`` px larger on every inner
                side. The content statistics are gathered over the tiles first, so they are the
                whole image's and the result equals the untiled one (`keras_style.methods.adain.tiled`).
                ``tile=None`` (default): one piece, or pieces with a `keras_style.memory.AutoTileWarning`
                when one piece would not fit in memory; ``0``: one piece whatever the estimate.
            verbose: progress bar for tiled inference.
        """
        warn_if_untrained(self)
        if style is None:
            raise ConfigError("AdaIN needs a style: stylize(content, style, ...).")
        if not isinstance(alpha, (int, float)) or not 0.0 <= float(alpha) <= 1.0:
            raise ConfigError(f"alpha must be a number in [0, 1], got {alpha!r}.")
        alpha = float(alpha)
        styles = _as_list(style)
        if not styles:
            raise ConfigError("style is an empty list; give at least one style image.")
        if masks is not None:
            masks = _as_list(masks)
            if style_weights is not None:
                raise ConfigError(
                    "Give either masks (one style per region) or style_weights, not both."
                )
            if len(masks) != len(styles):
                raise ConfigError(
                    f"{len(masks)} mask(s) for {len(styles)} style(s); give one mask per style."
                )
            weights = None
        else:
            weights = controls.check_style_weights(style_weights, len(styles))

        image, alpha_channel = self._load(content, content_size, "content", return_alpha=True)
        h, w = image.shape[:2]
        labels = controls.masks_to_labels(masks, h, w) if masks is not None else None

        encoded = []
        for s in styles:
            if isinstance(s, EncodedStyle):
                if s.encoder != self.encoder_name:
                    raise ConfigError(
                        f"this EncodedStyle was made with encoder {s.encoder!r}, the model "
                        f"uses {self.encoder_name!r}; encode it with this model."
                    )
                if style_size is not None:
                    warnings.warn(
                        "style_size is ignored for an EncodedStyle (it was set at encode_style).",
                        UserWarning,
                        stacklevel=2,
                    )
                enc = s
            else:
                enc = self._cached_style(s, style_size)
            if preserve_color:
                recoloured = controls.coral(enc.image, image)
                m, sd = self._stats(recoloured)
                enc = EncodedStyle(mean=m, std=sd, image=recoloured, encoder=self.encoder_name)
            encoded.append(enc)

        from keras_style.methods.adain.tiled import STRIDE

        tile = self._plan_tile(image, tile, overlap, align=STRIDE)
        if tile:
            from keras_style.methods.adain.tiled import stylize_tiled

            out = stylize_tiled(
                self, image, encoded, weights, labels, alpha, tile, overlap, verbose
            )
        else:
            feat = self.encode(image[None])
            t = self._target(feat, encoded, weights, labels, alpha)
            out = self.decode(t)[0, :h, :w, :]
        out = np.clip(out, 0.0, 1.0).astype(np.float32)
        if alpha_channel is not None:
            a = np.asarray(alpha_channel, np.float32).reshape(h, w, 1)
            out = np.concatenate([out, a], axis=-1)
        return out

    def _target(self, feat, encoded, weights, labels, alpha, content_stats=None):
        """AdaIN target t (then the alpha blend) for content features ``feat`` (NumPy)."""
        feat = np.asarray(feat, np.float32)
        if labels is not None:
            fl = controls.resize_labels(labels, feat.shape[1], feat.shape[2])
            present = set(np.unique(fl).tolist())
            for k in range(len(encoded)):
                if k not in present:
                    warnings.warn(
                        f"mask {k} vanishes at the feature-map size ({feat.shape[1]}x"
                        f"{feat.shape[2]}, 1/8 of the image); its style is not used.",
                        UserWarning,
                        stacklevel=3,
                    )
            t = controls.masked_adain(
                feat,
                fl[None],
                [e.mean for e in encoded],
                [e.std for e in encoded],
                self.epsilon,
                self.unbiased,
            )
        else:
            if content_stats is None:
                c_mean, c_std = (
                    np.asarray(ops.convert_to_numpy(v))
                    for v in mean_std(feat, self.epsilon, self.unbiased)
                )
            else:
                c_mean, c_std = content_stats
            normed = (feat - c_mean) / c_std
            t = 0.0
            for wk, e in zip(weights, encoded):
                if wk == 0.0:
                    continue
                t = t + wk * (normed * e.std + e.mean)
        t = np.asarray(ops.convert_to_numpy(t), np.float32)
        if alpha != 1.0:
            t = alpha * t + (1.0 - alpha) * feat
        return t

    def stylize_folder(self, contents, styles, output_dir, overwrite=False, verbose=1, **options):
        """Stylize every (content, style) pair of two lists/folders into ``output_dir``.

        Each style is encoded once (cached) and reused for every content. Files are named
        ``<content>__<style>.png``. Returns the list of written paths.
        """
        from pathlib import Path

        from keras_style.images import save_image

        def listing(x):
            if isinstance(x, (str, Path)) and Path(x).is_dir():
                from keras_style.images import list_images

                files = list_images(x)
                if not files:
                    raise ConfigError(f"Folder {x} has no images.")
                return files
            return [Path(p) for p in _as_list(x)]

        cs, ss = listing(contents), listing(styles)
        out_dir = Path(output_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        cache_ok = not options.get("preserve_color") and options.get("style_size") is None
        encoded = {s: self.encode_style(str(s)) for s in ss} if cache_ok else {}
        bar = keras.utils.Progbar(len(cs) * len(ss), unit_name="image") if verbose else None
        written = []
        for c in cs:
            for s in ss:
                target = out_dir / f"{c.stem}__{s.stem}.png"
                out = self.stylize(str(c), encoded.get(s, str(s)), **options)
                rgb, a = (out[..., :3], out[..., 3]) if out.shape[-1] == 4 else (out, None)
                save_image(rgb, target, alpha=a, overwrite=overwrite)
                written.append(target)
                if bar is not None:
                    bar.add(1)
        return written

    def preview(self, images, styles=None):
        """Stylized previews (float [0, 1]) for `stylized_preview`.

        ``images`` is a content batch (N, H, W, 3) or a ``(content, style)`` pair of batches.
        For a content batch the styles come from ``styles``, else from ``preview_styles``
        given at construction (cycled over the batch); without any, `ConfigError`.
        """
        if isinstance(images, dict) or (isinstance(images, (list, tuple)) and len(images) == 2):
            content, style = self._split_inputs(images)
            content = np.asarray(ops.convert_to_numpy(content), np.float32)
            style = np.asarray(ops.convert_to_numpy(style), np.float32)
        else:
            content = np.asarray(ops.convert_to_numpy(images), np.float32)
            if styles is None:
                styles = self._preview_style_arrays or self.preview_styles
            if styles is None:
                raise ConfigError(
                    "preview() needs styles: pass (content, style) batches, "
                    "preview(images, styles=...), or AdaIN(preview_styles=[...])."
                )
            h, w = content.shape[1:3]
            loaded = [resize_to(self._load(s, None, "style"), (h, w)) for s in _as_list(styles)]
            style = np.stack([loaded[i % len(loaded)] for i in range(len(content))])
        out = self(
            (ops.convert_to_tensor(content), ops.convert_to_tensor(resize_to(style, content.shape[1:3])))
        )
        return np.clip(np.asarray(ops.convert_to_numpy(out)), 0.0, 1.0)


def _array_image(img, what):
    """Array input (NumPy / tensor) -> (float32 HxWx3, alpha HxW or None), validated by
    `keras_style.images.to_float_image` (the same rules as every other method)."""
    from keras_style.images import to_float_image

    try:
        return to_float_image(img, return_alpha=True)
    except ImageError as e:
        raise ImageError(f"{what} image: {e}") from None


def adain_learning_rate(initial=LEARNING_RATE, decay=LR_DECAY):
    """lr_t = initial / (1 + decay * t), the official schedule (Lua optim.adam)."""
    return keras.optimizers.schedules.InverseTimeDecay(
        initial_learning_rate=initial, decay_steps=1, decay_rate=decay
    )


def output_size(h, w):
    """Decoder output size for an h x w input (ceil-mode pooling, three x2 upsamplings)."""
    return 8 * math.ceil(h / 8), 8 * math.ceil(w / 8)


__all__ = ["AdaIN", "EncodedStyle", "build_decoder", "adain_learning_rate", "output_size"]
