"""Johnson et al. (2016) single-image super-resolution with perceptual (or pixel) loss.

```python
sr = ks.get("johnson_sr", scale=4, loss="feature", weights="vgg16_hed_bsds500")
sr.compile(optimizer=keras.optimizers.Adam(1e-3))
sr.fit(ks.data.super_resolution_pairs("images/", patch_size=288, scale=4), epochs=10)
big = sr.upscale("small.png")                        # histogram-matched to the input
```

Paper facts (docs/methods/johnson.md): x4 and x8 networks of supplementary Table 2, feature
reconstruction loss at VGG-16 relu2_2 (``loss="feature"``) or a per-pixel loss
(``loss="pixel"``), 288x288 patches, Gaussian blur sigma 1.0 then bicubic downsampling,
Adam 1e-3, batch 4, and histogram matching of the output to the low-resolution input as
post-processing.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_style.deprecation import UNSET, renamed
from keras_style.distribution import scale_for_distribution
from keras_style.errors import ConfigError
from keras_style.images import read_rgb as load_any_image
from keras_style.losses.mixed_precision import LOSS_NETWORK_DTYPE
from keras_style.methods.base import FeedForwardModel
from keras_style.methods.johnson.johnson_style_transfer import _renamed_config
from keras_style.methods.johnson.networks import JohnsonSRNetwork
from keras_style.registry import register
from keras_style.untrained import remember_initial_weights, warn_if_untrained


def match_histograms(image, reference):
    """Per-channel histogram matching of ``image`` to ``reference`` (NumPy HxWxC in [0, 1])."""
    out = np.empty_like(image, dtype="float32")
    for c in range(image.shape[-1]):
        src = image[..., c].ravel()
        ref = np.sort(reference[..., c].ravel())
        order = np.argsort(src, kind="stable")
        quantiles = (np.arange(src.size) + 0.5) / src.size
        ref_q = (np.arange(ref.size) + 0.5) / ref.size
        matched = np.empty_like(src)
        matched[order] = np.interp(quantiles, ref_q, ref)
        out[..., c] = matched.reshape(image.shape[:-1])
    return out


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "johnson_sr",
    "method",
    aliases=("johnson_super_resolution",),
    test_config={"scale": 4, "backbone_weights": None, "width": 0.125, "num_residual_blocks": 1},
    paper="https://arxiv.org/abs/1603.08155",
)
class JohnsonSuperResolution(FeedForwardModel):
    """x4 / x8 super-resolution network trained with a feature or pixel loss.

    Args:
        scale: 4 or 8 (the paper's models).
        loss: ``"feature"`` (relu2_2 feature reconstruction, the paper's ``l_feat``) or
            ``"pixel"`` (mean squared error, ``l_pixel``).
        backbone_weights: loss-network weights (old name ``weights``, deprecated) (``"vgg16_imagenet"`` = paper, ``"vgg16_hed_bsds500"``
            offline, ``None`` random); unused with ``loss="pixel"``.
        content_layer: ``"relu2_2"`` (paper).
        histogram_matching: `upscale` matches the output's histogram to the input (paper).
        width, num_residual_blocks, normalization, upsampling, padding, output, skip: the
            network (`JohnsonSRNetwork`); defaults are the paper's (``skip="bilinear"``, a
            global residual, is not).
    """

    def __init__(
        self,
        scale=4,
        loss="feature",  # paper's l_feat model
        backbone_weights="vgg16_imagenet",  # paper: ImageNet VGG-16
        loss_network="vgg16",
        content_layer="relu2_2",  # paper
        histogram_matching=True,  # paper: post-processing by histogram matching
        width=1.0,
        num_residual_blocks=4,  # paper Table 2
        normalization="batch",
        upsampling="transposed",
        padding="zero",
        output="tanh",
        skip=None,
        weights=UNSET,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if scale not in (4, 8):
            raise ConfigError(f"johnson_sr: scale must be 4 or 8 (the paper's models), got {scale!r}.")
        if loss not in ("feature", "pixel"):
            raise ConfigError(f"johnson_sr: loss must be 'feature' or 'pixel', got {loss!r}.")
        self.scale = scale
        self.loss_kind = loss
        self.weights_id = renamed("JohnsonSuperResolution", "weights", weights, "backbone_weights", backbone_weights,
                                  new_default="vgg16_imagenet")
        self.loss_network_name = loss_network
        self.content_layer = content_layer
        self.histogram_matching = bool(histogram_matching)
        self.transform = JohnsonSRNetwork(
            scale=scale, width=width, num_residual_blocks=num_residual_blocks,
            normalization=normalization, upsampling=upsampling, padding=padding, output=output,
            skip=skip, name="transform",
        )
        remember_initial_weights(self, self.transform)  # keras_style/untrained.py
        self.loss_tracker_feature = keras.metrics.Mean(name="feature_loss" if loss == "feature" else "pixel_loss")
        from keras_style.metrics.image_quality import PSNR

        self.psnr_tracker = PSNR(crop_border=scale, name="psnr")
        object.__setattr__(self, "_loss_net", None)
        self.built = True

    _min_size = 1

    @property
    def _out_scale(self):
        return self.scale

    @property
    def loss_network(self):
        if self._loss_net is None and self.loss_kind == "feature":
            from keras_style.registry import get

            # float32 even under mixed precision (docs/mixed_precision.md)
            net = get(
                self.loss_network_name, layers=[self.content_layer], weights=self.weights_id,
                dtype=LOSS_NETWORK_DTYPE,
            )
            object.__setattr__(self, "_loss_net", net)
        return self._loss_net

    # compile(optimizer="auto"): FeedForwardModel's Adam 1e-3 (Johnson et al. 2016, §4.2)

    def _prepare_compile(self):
        _ = self.loss_network  # build the extractor outside any traced function

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if y is None:
            raise ConfigError("johnson_sr trains on (low_res, high_res) pairs: use ks.data.super_resolution_pairs.")
        if y_pred is None:
            y_pred = self(x, training=training)
        if self.loss_kind == "feature":  # the paper's l_feat at relu2_2, targets keyed by layer name
            from keras_style.losses.perceptual import FeatureReconstructionLoss

            f = self.loss_network
            layer = self.content_layer
            # .call: the per-sample values, reduced here (a Loss's __call__ would also divide
            # by the replicas, which scale_for_distribution below does once for both kinds)
            loss = ops.mean(FeatureReconstructionLoss(layers=[layer]).call(
                {layer: ops.stop_gradient(f(y)[layer])}, {layer: f(y_pred)[layer]}
            ))
        else:
            loss = ops.mean(ops.square(ops.cast(y_pred, "float32") - ops.cast(y, "float32")))
        self.loss_tracker_feature.update_state(loss)
        self.psnr_tracker.update_state(y, ops.clip(y_pred, 0.0, 1.0))
        return scale_for_distribution(loss)

    def upscale(self, image, tile=None, overlap=16, histogram_matching=None, verbose=0):
        """Upscale one image by ``scale``; returns NumPy HxWx3 in [0, 1].

        ``tile`` (input pixels) bounds memory for large inputs (``overlap`` 16 input px
        covers the x4/x8 networks' receptive field); ``histogram_matching`` overrides the
        model's setting.
        """
        warn_if_untrained(self)
        lr = load_any_image(image, "image")
        tile = self._plan_tile(lr, tile, overlap)
        out = np.clip(self._run(lr[None], tile=tile, overlap=overlap, verbose=verbose)[0], 0.0, 1.0)
        hm = self.histogram_matching if histogram_matching is None else histogram_matching
        if hm:
            out = match_histograms(out, lr)
        return out.astype("float32")

    def stylize(self, image, tile=None, overlap=16):
        """Alias of `upscale` (so the generic ``keras-style stylize --model`` works)."""
        return self.upscale(image, tile=tile, overlap=overlap)

    def load_preset_weights(self, path):
        self.transform.load_weights(str(path))

    @classmethod
    def from_config(cls, config):
        return cls(**_renamed_config(config))

    def get_config(self):
        t = self.transform.get_config()
        return {
            "name": self.name,
            "scale": self.scale,
            "loss": self.loss_kind,
            "backbone_weights": self.weights_id,
            "loss_network": self.loss_network_name,
            "content_layer": self.content_layer,
            "histogram_matching": self.histogram_matching,
            **{k: t[k] for k in ("width", "num_residual_blocks", "normalization", "upsampling", "padding", "output", "skip")},
        }


__all__ = ["JohnsonSuperResolution", "match_histograms"]
