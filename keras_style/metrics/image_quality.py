"""PSNR and SSIM as in super-resolution papers: Y channel (BT.601), border crop.

Super-resolution results (Johnson et al. 2016 Table 2's comparisons, SRCNN) are reported
on the luminance channel Y of YCbCr (ITU-R BT.601, MATLAB ``rgb2ycbcr``:
Y = 16 + 65.481 R + 128.553 G + 24.966 B for RGB in [0, 1]) with ``scale`` pixels cropped
from each border. SSIM uses ``keras.ops.image.ssim`` (Gaussian window 11, sigma 1.5,
k1 0.01, k2 0.03: Wang et al. 2004's constants).

```python
ks.metrics.psnr(sr, hr, crop_border=4)        # per-image PSNR in dB (NumPy)
model.compile(metrics=[ks.get("psnr", crop_border=4)])
```

MATLAB's bicubic (antialiased) and TF's bicubic (not antialiased) differ, so absolute
values do not match published tables exactly (docs/methods/johnson.md, "Super-resolution
networks").
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_style.errors import ConfigError
from keras_style.registry import register

_Y = (65.481 / 255.0, 128.553 / 255.0, 24.966 / 255.0)


def rgb_to_y(x):
    """BT.601 luma of RGB in [0, 1], in [16/255, 235/255] (NHWC -> NHW1)."""
    x = ops.cast(x, "float32")
    w = ops.convert_to_tensor(np.asarray(_Y, "float32").reshape(3, 1))
    return ops.matmul(x, w) + 16.0 / 255.0


def _prepare(y_true, y_pred, crop_border, y_channel):
    a = ops.cast(ops.convert_to_tensor(y_true), "float32")
    b = ops.cast(ops.convert_to_tensor(y_pred), "float32")
    if len(a.shape) == 3:
        a, b = a[None], b[None]
    if y_channel and a.shape[-1] == 3:
        a, b = rgb_to_y(a), rgb_to_y(b)
    c = int(crop_border)
    if c > 0:
        a = a[:, c:-c, c:-c, :]
        b = b[:, c:-c, c:-c, :]
    return a, b


def psnr_values(y_true, y_pred, max_val=1.0, crop_border=0, y_channel=True):
    """Per-image PSNR in dB (tensor of shape (N,))."""
    a, b = _prepare(y_true, y_pred, crop_border, y_channel)
    mse = ops.mean(ops.square(a - b), axis=(1, 2, 3))
    return 10.0 * ops.log10(max_val**2 / ops.maximum(mse, 1e-12))


def ssim_values(y_true, y_pred, max_val=1.0, crop_border=0, y_channel=True):
    """Per-image SSIM (tensor of shape (N,)), via ``keras.ops.image.ssim`` per image."""
    a, b = _prepare(y_true, y_pred, crop_border, y_channel)
    vals = [ops.image.ssim(a[i : i + 1], b[i : i + 1], max_val=max_val) for i in range(a.shape[0])]
    return ops.reshape(ops.stack([ops.mean(v) for v in vals]), (-1,))


def psnr(y_true, y_pred, max_val=1.0, crop_border=0, y_channel=True):
    """Mean PSNR (dB) over the batch as a Python float (NumPy/tensor/image inputs)."""
    return float(np.mean(ops.convert_to_numpy(psnr_values(y_true, y_pred, max_val, crop_border, y_channel))))


def ssim(y_true, y_pred, max_val=1.0, crop_border=0, y_channel=True):
    """Mean SSIM over the batch as a Python float."""
    return float(np.mean(ops.convert_to_numpy(ssim_values(y_true, y_pred, max_val, crop_border, y_channel))))


class _ImageQuality(keras.metrics.Mean):
    def __init__(self, max_val=1.0, crop_border=0, y_channel=True, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if int(crop_border) < 0:
            raise ConfigError(f"crop_border must be >= 0, got {crop_border}.")
        self.max_val = float(max_val)
        self.crop_border = int(crop_border)
        self.y_channel = bool(y_channel)

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(self._values(y_true, y_pred), sample_weight=sample_weight)

    def get_config(self):
        return {
            "name": self.name,
            "dtype": self.dtype,
            "max_val": self.max_val,
            "crop_border": self.crop_border,
            "y_channel": self.y_channel,
        }


@keras.saving.register_keras_serializable(package="keras_style")
@register("psnr", "metric", test_config={"crop_border": 0})
class PSNR(_ImageQuality):
    """Peak signal-to-noise ratio (dB), averaged over images; Y channel and border crop.

    Args:
        max_val: peak value (1.0 for images in [0, 1]).
        crop_border: pixels removed from every border first (the SR scale, by convention).
        y_channel: evaluate the BT.601 luma only (SR convention); ``False`` = all channels.
    """

    def __init__(self, max_val=1.0, crop_border=0, y_channel=True, name="psnr", dtype=None):
        super().__init__(max_val, crop_border, y_channel, name=name, dtype=dtype)

    def _values(self, y_true, y_pred):
        return psnr_values(y_true, y_pred, self.max_val, self.crop_border, self.y_channel)


@keras.saving.register_keras_serializable(package="keras_style")
@register("ssim", "metric", test_config={"crop_border": 0})
class SSIM(_ImageQuality):
    """Structural similarity (Wang et al. 2004) via ``keras.ops.image.ssim``; Y channel,
    border crop; averaged over images. Arguments as `PSNR`."""

    def __init__(self, max_val=1.0, crop_border=0, y_channel=True, name="ssim", dtype=None):
        super().__init__(max_val, crop_border, y_channel, name=name, dtype=dtype)

    def _values(self, y_true, y_pred):
        return ssim_values(y_true, y_pred, self.max_val, self.crop_border, self.y_channel)


__all__ = ["PSNR", "SSIM", "psnr", "ssim", "psnr_values", "ssim_values", "rgb_to_y"]
