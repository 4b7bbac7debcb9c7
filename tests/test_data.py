"""keras_style.data folder pipelines: image_folder, super_resolution_pairs, skipping."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

import keras_style as ks
from keras_style.errors import ConfigError, DataError


def _write(path, h, w, mode="RGB", seed=0):
    rng = np.random.default_rng(seed)
    shape = (h, w, 3) if mode == "RGB" else (h, w)
    Image.fromarray((rng.random(shape) * 255).astype("uint8"), mode=mode if mode != "RGB" else None).save(path)


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "a.jpg", 40, 50)
    _write(tmp_path / "b.png", 60, 36, seed=1)
    _write(tmp_path / "sub" / "c.webp", 48, 48, seed=2)
    _write(tmp_path / "sub" / "d.png", 45, 70, mode="L", seed=3)  # greyscale -> RGB
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (tmp_path / "notes.png").write_text("text with an image extension")
    (tmp_path / "readme.txt").write_text("ignored: not an image extension")
    return tmp_path


def test_list_files_recursive(folder):
    files = ks.data.list_image_files(folder)
    assert len(files) == 6 and any("c.webp" in f for f in files)
    assert len(ks.data.list_image_files(folder, recursive=False)) == 4


def test_image_folder_skips_corrupt_files_with_one_warning(folder):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = ks.data.image_folder(folder, image_size=32, batch_size=2, seed=0)
    msgs = [str(w.message) for w in caught if "keras_style.data" in str(w.message)]
    assert len(msgs) == 1 and "skipped 2 of 6" in msgs[0]
    batches = [b.numpy() for b in ds]
    assert [b.shape for b in batches] == [(2, 32, 32, 3), (2, 32, 32, 3)]
    assert all(b.dtype == np.float32 and 0 <= b.min() and b.max() <= 1 for b in batches)
    # same seed, same crops and order; centre crop is deterministic
    again = [b.numpy() for b in ks.data.image_folder(folder, image_size=32, batch_size=2, seed=0)]
    np.testing.assert_array_equal(np.concatenate(batches), np.concatenate(again))
    centre = ks.data.image_folder(folder, image_size=32, batch_size=4, crop="center", shuffle=False, cache=True)
    assert next(iter(centre)).shape == (4, 32, 32, 3)
    rep = ks.data.image_folder(folder, image_size=16, resize=40, batch_size=3, repeat=True)
    assert len(list(rep.take(5))) == 5


def test_empty_and_all_corrupt_folders(tmp_path):
    with pytest.raises(DataError, match="No image files"):
        ks.data.image_folder(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        ks.data.image_folder(tmp_path / "missing")
    (tmp_path / "x.jpg").write_bytes(b"garbage")
    with pytest.raises(DataError, match="could be read"):
        ks.data.image_folder(tmp_path)
    with pytest.raises(ConfigError):
        ks.data.image_folder(tmp_path, crop="middle")


def test_super_resolution_pairs_blur_then_bicubic(folder):
    ds = ks.data.super_resolution_pairs(folder, patch_size=32, scale=4, batch_size=2, seed=1)
    lr, hr = next(iter(ds))
    assert lr.shape == (2, 8, 8, 3) and hr.shape == (2, 32, 32, 3)
    import tensorflow as tf

    expected = ks.data.degrade(hr, scale=4, blur_sigma=1.0)
    np.testing.assert_allclose(lr.numpy(), expected.numpy(), atol=1e-6)
    # the blur is a normalised Gaussian of sigma 1 (taps radius 3)
    flat = tf.ones((1, 16, 16, 3)) * 0.5
    np.testing.assert_allclose(ks.data.gaussian_blur(flat, 1.0).numpy(), 0.5, atol=1e-6)
    with pytest.raises(ConfigError):
        ks.data.super_resolution_pairs(folder, patch_size=30, scale=4)
