"""The shared resize functions and the one image-extension list of `keras_style.images`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keras_style import images

PACKAGE = Path(__file__).resolve().parent.parent / "keras_style"


def _photo(h=24, w=36, seed=0):
    return np.random.default_rng(seed).random((h, w, 3)).astype(np.float32)


# ----------------------------------------------------------------------------- photo resizes


def test_resize_longer_and_shorter_keep_aspect_and_range():
    img = _photo(24, 36)
    out = images.resize_longer(img, 18)
    assert out.shape == (12, 18, 3) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    out = images.resize_shorter(img, 12)
    assert out.shape == (12, 18, 3)
    # None: unchanged; the same as resize_image (Lanczos) and load_image(size=...)
    assert images.resize_longer(img, None) is img and images.resize_shorter(img, None) is img
    np.testing.assert_array_equal(images.resize_shorter(img, 12), images.resize_image(img, size=12))
    np.testing.assert_array_equal(images.resize_longer(img, 18), images.resize_image(img, max_size=18))


def test_resize_to_exact_batch_and_crop():
    img = _photo(24, 36)
    assert images.resize_to(img, (10, 7)).shape == (10, 7, 3)
    batch = np.stack([img, img[::-1]])
    assert images.resize_to(batch, (6, 9)).shape == (2, 6, 9, 3)
    # crop=True: the centred square, as keras' crop_to_aspect_ratio -- no squashing
    stripes = np.zeros((20, 40, 3), np.float32)
    stripes[:, 10:30] = 1.0  # the centre square is all white
    sq = images.resize_to(stripes, (8, 8), crop=True)
    assert sq.shape == (8, 8, 3) and sq.min() > 0.99
    squashed = images.resize_to(stripes, (8, 8))
    assert squashed.min() < 0.01


def test_resize_mask_is_clipped_to_unit_range():
    m = np.zeros((16, 16), np.float32)
    m[:, 8:] = 1.0
    out = images.resize_mask(m, (5, 9))
    assert out.shape == (5, 9) and out.min() >= 0.0 and out.max() <= 1.0
    assert out[:, 0].max() < 0.05 and out[:, -1].min() > 0.95


def test_upscale_alpha_is_bicubic_and_clipped():
    a = np.zeros((6, 6), np.float32)
    a[2:4, 2:4] = 1.0
    out = images.upscale_alpha(a, (12, 12))
    ref = np.asarray(Image.fromarray(a).resize((12, 12), Image.Resampling.BICUBIC))
    np.testing.assert_allclose(out, np.clip(ref, 0, 1))
    assert out.min() >= 0.0 and out.max() <= 1.0 and ref.max() > 1.0  # bicubic overshoot clipped


def test_reference_recipes():
    img = _photo(16, 20)
    # iterates: Keras bilinear, not clipped (values outside [0, 1] survive)
    wide = (img * 3.0 - 1.0).astype(np.float32)
    up = images.resize_bilinear(wide, (32, 40))
    assert up.shape == (32, 40, 3) and up.min() < 0 and up.max() > 1
    assert images.resize_bilinear(img, (16, 20)) is not None
    np.testing.assert_allclose(images.resize_bilinear(img, (16, 20)), img)
    # the style-aware output resize: Pillow bilinear per float channel
    ref = np.asarray(Image.fromarray(img[..., 1], mode="F").resize((7, 5), Image.BILINEAR))
    np.testing.assert_allclose(images.resize_bilinear_pil(img, (5, 7))[..., 1], ref)
    # uint8 cv2 recipes: box when shrinking, bicubic when enlarging; per-axis factors
    u8 = (img * 255).astype(np.uint8)
    small = images.resize_uint8_cv2(u8, (8, 10))
    box = np.asarray(Image.fromarray(u8).resize((10, 8), Image.BOX))
    assert small.dtype == np.uint8 and np.array_equal(small, box)
    assert images.resize_uint8_cv2(u8, (16, 20)) is u8
    assert images.scale_uint8_cv2(u8, 1.5, 0.5).shape == (8, 30, 3)


# ----------------------------------------------------------------------------- extensions


def _tif_folder(tmp_path):
    folder = tmp_path / "tifs"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i, ext in enumerate((".tif", ".TIFF", ".tif")):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(folder / f"im{i}{ext}")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_extension_list_covers_what_pillow_reads():
    for ext in (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"):
        assert ext in images.IMAGE_EXTENSIONS
        assert images.is_image_file(f"a/b{ext.upper()}")
    assert not images.is_image_file("clip.mp4") and not images.is_image_file("notes.txt")
    registered = {e.lower() for e, f in Image.registered_extensions().items()}
    assert set(images.IMAGE_EXTENSIONS) <= registered


def test_tif_folder_is_accepted_by_data_and_cli_listing(tmp_path):
    """Regression: `keras-style stylize` took a folder of .tif files that
    `ks.data.list_image_files` refused."""
    from keras_style.cli.stylize_cmds import _images_in
    from keras_style.data import list_image_files

    folder = _tif_folder(tmp_path)
    names = ["im0.tif", "im1.TIFF", "im2.tif"]
    assert [Path(p).name for p in list_image_files(folder)] == names
    assert [p.name for p in _images_in(folder)] == names
    assert [p.name for p in images.list_images(folder)] == names


def test_augment_cli_lists_the_same_files(tmp_path):
    from keras_style.cli.augment_cmds import collect_images

    folder = _tif_folder(tmp_path)
    found = collect_images([str(folder)])
    assert sorted(Path(p).name for p in found) == ["im0.tif", "im1.TIFF", "im2.tif"]


_EXT_RE = re.compile(r"^\.(jpe?g|png|webp|bmp|tiff?|gif)$", re.IGNORECASE)


def _extension_literals(tree):
    """Line numbers of tuple/list/set literals holding two or more image extensions."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            exts = [
                e.value
                for e in node.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str) and _EXT_RE.match(e.value)
            ]
            if len(exts) >= 2:
                yield node.lineno


def test_only_images_py_defines_an_image_extension_list():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "images.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        offenders += [f"{path.relative_to(PACKAGE.parent)}:{n}" for n in _extension_literals(tree)]
    assert not offenders, (
        "image-extension lists outside keras_style/images.py (use images.IMAGE_EXTENSIONS): "
        + ", ".join(offenders)
    )
    tree = ast.parse((PACKAGE / "images.py").read_text(encoding="utf-8"))
    assert list(_extension_literals(tree)), "the test no longer finds IMAGE_EXTENSIONS itself"


@pytest.mark.parametrize("name", ["_resize", "_resize_to", "_resize_shorter", "_resize_longer",
                                  "_resize_batch", "_scale_image", "resize_alpha"])
def test_no_private_resize_helpers_outside_images_py(name):
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "images.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        defined = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name]
        assert not defined, f"{path.relative_to(PACKAGE.parent)}:{defined[0]} defines {name}; use keras_style.images"


def test_tif_training_folder_says_to_convert(tmp_path):
    """The tf.data pipelines list .tif files but TF cannot decode them: the skip warning says so."""
    from keras_style.data.folders import readable_image_files

    folder = _tif_folder(tmp_path)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "ok.png")
    with pytest.warns(UserWarning, match="TIFF files are listed but tf.data cannot decode them"):
        files = readable_image_files(folder)
    assert [Path(f).name for f in files] == ["ok.png"]
