"""PSNR / SSIM metrics (Y channel, border crop)."""

from __future__ import annotations

import keras
import numpy as np

import keras_style as ks

from helpers import random_image


def test_psnr_against_numpy_on_y_channel():
    a = random_image(40, 40, batch=2)
    b = np.clip(a + np.random.default_rng(1).normal(0, 0.05, a.shape), 0, 1).astype("float32")
    ya = 16 / 255 + a @ np.array([65.481, 128.553, 24.966], "float32") / 255
    yb = 16 / 255 + b @ np.array([65.481, 128.553, 24.966], "float32") / 255
    c = 4
    mse = ((ya - yb)[:, c:-c, c:-c] ** 2).mean(axis=(1, 2))
    np.testing.assert_allclose(ks.metrics.psnr(a, b, crop_border=c), np.mean(10 * np.log10(1 / mse)), rtol=1e-5)
    m = ks.get("psnr", crop_border=c)
    m.update_state(a, b)
    np.testing.assert_allclose(float(m.result()), np.mean(10 * np.log10(1 / mse)), rtol=1e-5)
    assert ks.metrics.psnr(a, a) > 100


def test_ssim_range_and_config():
    a = random_image(32, 32, batch=2)
    assert abs(ks.metrics.ssim(a, a) - 1.0) < 1e-5
    noisy = np.clip(a + 0.2 * random_image(32, 32, batch=2, seed=9), 0, 1)
    assert 0 < ks.metrics.ssim(a, noisy) < 0.99
    m = ks.get("ssim", crop_border=2, y_channel=False)
    m.update_state(a, noisy)
    again = ks.metrics.SSIM.from_config(m.get_config())
    assert again.get_config() == m.get_config()
    assert isinstance(keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(m)), ks.metrics.SSIM)
