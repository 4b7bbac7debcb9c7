"""keras_style.images: loading every kind of input, saving atomically, and clear errors."""

import io
import os
import struct
import subprocess
import sys
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from keras_style.errors import ConfigError, ImageError, KerasStyleError
from keras_style.images import (
    MAX_PIXELS_ENV,
    image_info,
    load_image,
    resize_image,
    save_image,
    to_float_image,
)

# ----------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _keras_state():
    """Overrides conftest's per-test keras.backend.clear_session() (about 1 s each, a gc pass):
    these tests build no models and leave no Keras state behind."""
    yield


def _listing(d):
    return sorted(os.listdir(d))


def _png_bytes(arr):
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="PNG")
    return b.getvalue()


def _gradient(h=16, w=24):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x / (w - 1), y / (h - 1), (x + y) / (h + w - 2)], -1).astype(np.float32)


def _u8(a):
    return np.round(np.asarray(a) * 255).astype(np.uint8)


def _bomb_png(width, height):
    """A valid PNG header declaring width x height pixels (the data is never decoded)."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _raises(match, fn, *args, exc=ImageError, **kwargs):
    with pytest.raises(exc) as ei:
        fn(*args, **kwargs)
    msg = str(ei.value)
    assert match.lower() in msg.lower(), msg
    return msg


# ----------------------------------------------------------------------------- bad inputs: loading


def test_error_types_are_valueerrors():
    assert issubclass(ImageError, ValueError) and issubclass(ImageError, KerasStyleError)


def test_missing_file(tmp_path):
    before = _listing(tmp_path)
    _raises("not found", load_image, tmp_path / "nope.png")
    assert _listing(tmp_path) == before


def test_directory(tmp_path):
    (tmp_path / "sub").mkdir()
    _raises("is a directory", load_image, tmp_path / "sub")
    assert _listing(tmp_path) == ["sub"]


def test_zero_byte_file(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    _raises("0 bytes", load_image, str(tmp_path / "empty.jpg"))
    assert _listing(tmp_path) == ["empty.jpg"]


def test_empty_bytes():
    _raises("empty (0 bytes)", load_image, b"")


def test_text_file_is_not_an_image(tmp_path):
    (tmp_path / "notes.png").write_text("hello, I am text\n")
    msg = _raises("not an image", load_image, tmp_path / "notes.png")
    assert "hello" in msg  # says what the file starts with
    assert _listing(tmp_path) == ["notes.png"]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file(tmp_path, fmt):
    b = io.BytesIO()
    Image.fromarray(_u8(np.random.default_rng(0).random((64, 64, 3)))).save(b, format=fmt)
    p = tmp_path / f"cut.{fmt.lower()}"
    p.write_bytes(b.getvalue()[: len(b.getvalue()) // 2])
    _raises("truncated", load_image, p)
    _raises("truncated", image_info, p)
    assert _listing(tmp_path) == [p.name]


def test_one_pixel_file(tmp_path):
    p = tmp_path / "dot.png"
    p.write_bytes(_png_bytes(np.zeros((1, 1, 3), np.uint8)))
    _raises("single pixel", load_image, p)


def test_empty_and_one_pixel_arrays():
    _raises("empty", load_image, np.zeros((0, 5, 3), np.float32))
    _raises("single pixel", load_image, np.zeros((1, 1, 3), np.uint8))
    _raises("empty", load_image, Image.new("RGB", (0, 0)))


def test_decompression_bomb_header(tmp_path):
    p = tmp_path / "bomb.png"
    p.write_bytes(_bomb_png(30000, 30000))
    msg = _raises("900,000,000 pixels", load_image, p)
    assert "max_pixels=900000000" in msg and MAX_PIXELS_ENV in msg
    assert _listing(tmp_path) == ["bomb.png"]


def test_decompression_bomb_limit_argument_and_env(tmp_path, monkeypatch):
    data = _png_bytes(_u8(_gradient(20, 30)))
    _raises("600 pixels", load_image, data, max_pixels=500)
    monkeypatch.setenv(MAX_PIXELS_ENV, "100")
    _raises("limit of 100 pixels", load_image, data)
    assert load_image(data, max_pixels=600).shape == (20, 30, 3)  # explicit argument wins
    monkeypatch.setenv(MAX_PIXELS_ENV, "0")  # 0 = no limit
    assert load_image(data).shape == (20, 30, 3)
    monkeypatch.setenv(MAX_PIXELS_ENV, "lots")
    _raises(MAX_PIXELS_ENV, load_image, data, exc=ConfigError)


@pytest.mark.parametrize(
    "arr, match",
    [
        (np.zeros((8, 8, 5), np.float32), "unsupported shape"),
        (np.zeros((3, 16, 16), np.float32), "channels-first"),
        (np.zeros((2, 8, 8, 3), np.float32), "batch of 2"),
        (np.zeros((8,), np.float32), "unsupported shape"),
        (np.zeros((2, 2, 8, 8, 3), np.float32), "unsupported shape"),
    ],
)
def test_unsupported_array_shapes(arr, match):
    _raises(match, load_image, arr)


@pytest.mark.parametrize(
    "arr, match",
    [
        (np.zeros((8, 8, 3), np.complex64), "unsupported dtype"),
        (np.full((8, 8, 3), "a"), "unsupported dtype"),
        (np.full((8, 8, 3), 1000, np.int32), "uint8"),
        (np.full((8, 8, 3), -3, np.int64), "uint8"),
    ],
)
def test_unsupported_array_dtypes(arr, match):
    _raises(match, load_image, arr)


def test_nan_and_inf_values():
    a = _gradient()
    a[3, 4, 1] = np.nan
    _raises("NaN or Inf", load_image, a)
    a[3, 4, 1] = np.inf
    _raises("NaN or Inf", to_float_image, a)


def test_float_out_of_range_names_the_range():
    _raises("divide by 255", load_image, _gradient() * 255)
    _raises("(x + 1) / 2", load_image, _gradient() * 2 - 1)
    # small overshoot (resampling, unclipped network output) is clipped, not an error
    out = load_image(_gradient() * 1.2 - 0.1)
    assert out.min() == 0.0 and out.max() == 1.0


def test_unsupported_source_types_and_urls():
    _raises("Cannot load an image from a dict", load_image, {"a": 1})
    _raises("URL", load_image, "https://example.com/cat.jpg")


def test_bad_arguments_are_config_errors():
    a = _gradient()
    with pytest.raises(ConfigError):
        load_image(a, size=0)
    with pytest.raises(ConfigError):
        load_image(a, size=10, max_size=5)
    with pytest.raises(ConfigError):
        load_image(a, dtype="int32")
    with pytest.raises(ConfigError):
        resize_image(a, size=8, shape=(4, 4))


# ----------------------------------------------------------------------------- bad inputs: saving


def test_save_unsupported_extension(tmp_path):
    for name in ("out.bmp", "out.gif", "out"):
        msg = _raises("not a supported image format", save_image, _gradient(), tmp_path / name)
        assert ".png" in msg and ".jpg" in msg and ".webp" in msg and ".tiff" in msg
    assert _listing(tmp_path) == []


def test_save_refuses_to_overwrite(tmp_path):
    p = tmp_path / "out.png"
    p.write_bytes(b"keep me")
    _raises("overwrite=True", save_image, _gradient(), p)
    assert p.read_bytes() == b"keep me" and _listing(tmp_path) == ["out.png"]
    save_image(_gradient(), p, overwrite=True)
    assert load_image(p).shape == (16, 24, 3) and _listing(tmp_path) == ["out.png"]


def test_save_missing_folder(tmp_path):
    msg = _raises("does not exist", save_image, _gradient(), tmp_path / "a" / "b" / "out.png")
    assert "mkdir" in msg and _listing(tmp_path) == []


def test_save_to_a_directory(tmp_path):
    (tmp_path / "d.png").mkdir()
    _raises("is a directory", save_image, _gradient(), tmp_path / "d.png", overwrite=True)
    assert _listing(tmp_path) == ["d.png"] and _listing(tmp_path / "d.png") == []


@pytest.mark.parametrize(
    "arr, match",
    [
        (np.full((8, 8, 3), np.nan, np.float32), "NaN or Inf"),
        (np.zeros((8, 8, 2), np.float32), "shape"),
        (np.zeros((3, 8, 8), np.float32), "channels-first"),
        (np.zeros((1, 1, 3), np.float32), "single pixel"),
        (np.zeros((8, 8, 3), np.complex64), "unsupported dtype"),
        (np.full((8, 8, 3), 300, np.int32), "values in [300, 300]"),
    ],
)
def test_save_bad_arrays_write_nothing(tmp_path, arr, match):
    _raises(match, save_image, arr, tmp_path / "out.png")
    assert _listing(tmp_path) == []


def test_save_bad_alpha(tmp_path):
    _raises("alpha has shape", save_image, _gradient(), tmp_path / "o.png", alpha=np.ones((3, 3)))
    rgba = np.concatenate([_gradient(), np.ones((16, 24, 1), np.float32)], -1)
    _raises("only once", save_image, rgba, tmp_path / "o.png", alpha=np.ones((16, 24)))
    assert _listing(tmp_path) == []


def test_save_failure_mid_write_leaves_no_temp_file(tmp_path, monkeypatch):
    def broken_save(self, fp, *a, **k):
        fp.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    _raises("No space left", save_image, _gradient(), tmp_path / "out.png")
    assert _listing(tmp_path) == []

    def interrupted(self, fp, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_image(_gradient(), tmp_path / "out.png")
    assert _listing(tmp_path) == []


def test_save_bad_quality(tmp_path):
    with pytest.raises(ConfigError):
        save_image(_gradient(), tmp_path / "o.jpg", quality=0)
    assert _listing(tmp_path) == []


# ----------------------------------------------------------------------------- good path: modes


def test_every_pillow_mode_converts_to_rgb():
    g8 = np.array([[0, 51, 255], [128, 200, 10]], np.uint8)
    gf = g8.astype(np.float32) / 255

    def rgb_of(im, **kw):
        out, alpha = load_image(im, return_alpha=True, **kw)
        assert out.dtype == np.float32 and out.shape == (2, 3, 3)
        assert 0.0 <= out.min() and out.max() <= 1.0
        return out, alpha

    # "1"
    out, a = rgb_of(Image.fromarray(g8 > 100))
    np.testing.assert_array_equal(out[..., 0], (g8 > 100).astype(np.float32))
    assert a is None
    # "L"
    out, a = rgb_of(Image.fromarray(g8))
    np.testing.assert_allclose(out, np.repeat(gf[..., None], 3, -1), atol=1e-6)
    assert a is None
    # "LA"
    la = np.stack([g8, 255 - g8], -1)
    out, a = rgb_of(Image.fromarray(la))
    np.testing.assert_allclose(out[..., 1], gf, atol=1e-6)
    np.testing.assert_allclose(a, 1 - gf, atol=1e-6)
    # "P" without and with transparency
    p = Image.new("P", (3, 2))
    p.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255] + [0] * 759)
    p.putdata([0, 1, 2, 2, 1, 0])
    out, a = rgb_of(p)
    np.testing.assert_allclose(out[0, 1], [1, 0, 0])
    np.testing.assert_allclose(out[0, 2], [0, 0, 1])
    assert a is None
    p.info["transparency"] = 0
    out, a = rgb_of(p)
    np.testing.assert_allclose(a, [[0, 1, 1], [1, 1, 0]])
    # "RGBA"
    rgba = np.stack([g8, 255 - g8, g8 // 2, g8[::-1]], -1)
    out, a = rgb_of(Image.fromarray(rgba))
    np.testing.assert_allclose(out, rgba[..., :3] / 255, atol=1e-6)
    np.testing.assert_allclose(a, rgba[..., 3] / 255, atol=1e-6)
    # "CMYK": pure cyan, magenta, yellow, black, white
    cmyk = Image.new("CMYK", (3, 2))
    cmyk.putdata(
        [(255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 255, 0), (0, 0, 0, 255), (0, 0, 0, 0), (0, 0, 0, 0)]
    )
    out, _ = rgb_of(cmyk)
    np.testing.assert_allclose(out[0], [[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    np.testing.assert_allclose(out[1, 0], [0, 0, 0])
    np.testing.assert_allclose(out[1, 1], [1, 1, 1])
    # "I;16": full 16-bit range, not clipped at 255
    g16 = np.array([[0, 300, 65535], [32768, 1000, 65000]], np.uint16)
    im16 = Image.fromarray(g16)
    assert im16.mode == "I;16"
    out, _ = rgb_of(im16)
    np.testing.assert_allclose(out[..., 2], g16 / 65535, atol=1e-6)
    assert out[0, 1, 0] < 0.01  # 300 / 65535, not 1.0
    # "I" (32-bit int holding 16-bit data)
    imi = Image.fromarray(g16.astype(np.int32))
    assert imi.mode == "I"
    out, _ = rgb_of(imi)
    np.testing.assert_allclose(out[..., 0], g16 / 65535, atol=1e-6)
    # "I" outside 0..65535 is stretched, with a warning
    with pytest.warns(UserWarning, match="stretched"):
        out, _ = rgb_of(Image.fromarray(np.array([[-5, 0, 5], [10, 15, 20]], np.int32)))
    np.testing.assert_allclose(out[0, :, 0], [0, 0.2, 0.4], atol=1e-6)
    # "F" in [0, 1], in 0..255, and NaN
    out, _ = rgb_of(Image.fromarray(gf))
    np.testing.assert_allclose(out[..., 0], gf, atol=1e-6)
    out, _ = rgb_of(Image.fromarray(g8.astype(np.float32)))
    np.testing.assert_allclose(out[..., 0], gf, atol=1e-6)
    with pytest.raises(ImageError, match="NaN"):
        load_image(Image.fromarray(np.array([[np.nan, 0, 1]], np.float32)))
    # "YCbCr" / "RGBX" go through Pillow's conversion
    rgb = np.stack([g8, 255 - g8, g8], -1)
    out, _ = rgb_of(Image.fromarray(rgb).convert("RGBX"))
    np.testing.assert_allclose(out, rgb / 255, atol=1e-6)
    out, _ = rgb_of(Image.fromarray(rgb).convert("YCbCr"))
    np.testing.assert_allclose(out, rgb / 255, atol=0.02)


def test_16bit_png_file_keeps_precision(tmp_path):
    g16 = (np.arange(48).reshape(6, 8) * 1300).astype(np.uint16)
    p = tmp_path / "g16.png"
    Image.fromarray(g16).save(p)
    out = load_image(p)
    np.testing.assert_allclose(out[..., 0], g16 / 65535, atol=1e-6)


# ----------------------------------------------------------------------------- good path: files


def _jpeg_with_orientation(orientation):
    a = np.zeros((16, 32, 3), np.uint8)  # stored: left half red, right half blue
    a[:, :16, 0] = 255
    a[:, 16:, 2] = 255
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[0x0112] = orientation
    b = io.BytesIO()
    im.save(b, format="JPEG", quality=95, exif=exif.tobytes())
    return b.getvalue()


def test_exif_orientation_is_applied(tmp_path):
    p = tmp_path / "rot.jpg"
    p.write_bytes(_jpeg_with_orientation(6))  # display = stored rotated 90 degrees clockwise
    out = load_image(p)
    assert out.shape == (32, 16, 3)
    assert out[:16, :, 0].mean() > 0.9 and out[:16, :, 2].mean() < 0.1  # red on top
    assert out[16:, :, 2].mean() > 0.9 and out[16:, :, 0].mean() < 0.1  # blue below
    info = image_info(p)
    assert info["exif_orientation"] == 6 and (info["loaded_width"], info["loaded_height"]) == (
        16,
        32,
    )
    # orientation 3 (180 degrees): blue on the left; also via bytes and a PIL image
    out = load_image(_jpeg_with_orientation(3))
    assert out.shape == (16, 32, 3) and out[:, :16, 2].mean() > 0.9
    out = load_image(Image.open(io.BytesIO(_jpeg_with_orientation(3))))
    assert out[:, 16:, 0].mean() > 0.9
    # size with orientation: shorter side of the *displayed* image
    assert load_image(p, size=8).shape == (16, 8, 3)


def test_size_and_max_size():
    a = _gradient(20, 40)
    assert load_image(a, size=10).shape == (10, 20, 3)
    assert load_image(a, size=30).shape == (30, 60, 3)  # upscaling too
    assert load_image(a, max_size=20).shape == (10, 20, 3)
    assert load_image(a, size=15, max_size=20).shape == (10, 20, 3)  # max_size caps the longer side
    assert load_image(a.transpose(1, 0, 2), size=10).shape == (20, 10, 3)
    out = load_image(a, size=10)
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1
    # antialiased: a downscaled gradient stays a gradient (mean preserved)
    assert abs(out.mean() - a.mean()) < 0.01
    # JPEG draft decoding + exact final size
    big = io.BytesIO()
    Image.fromarray(_u8(_gradient(64, 96))).save(big, format="JPEG")
    assert load_image(big.getvalue(), size=16).shape == (16, 24, 3)


def test_resize_image():
    a = _gradient(20, 40)
    assert resize_image(a, shape=(7, 9)).shape == (7, 9, 3)
    assert resize_image(a, size=10).shape == (10, 20, 3)
    assert resize_image(a[..., 0], max_size=20).shape == (10, 20)
    u = resize_image(_u8(a), size=10)
    assert u.dtype == np.uint8 and u.shape == (10, 20, 3)
    r = resize_image(a, shape=(40, 80))
    assert r.min() >= a.min() and r.max() <= a.max()  # no Lanczos overshoot
    assert resize_image(np.stack([a, a]), size=10).shape == (2, 10, 20, 3)


def test_alpha_round_trip_png_webp_tiff(tmp_path):
    rgb = _gradient()
    alpha = np.linspace(0, 1, 16 * 24, dtype=np.float32).reshape(16, 24)
    for ext in ("png", "tiff", "webp"):
        p = save_image(rgb, tmp_path / f"a.{ext}", alpha=alpha)
        out, a = load_image(p, return_alpha=True)
        tol = 1 / 255 if ext != "webp" else 0.1
        np.testing.assert_allclose(a, alpha, atol=1 / 255 if ext != "webp" else 0.01)
        # lossy WebP colours under partial transparency are approximate
        np.testing.assert_allclose(out[alpha > 0.5], rgb[alpha > 0.5], atol=tol)
    # the alpha from load_image goes back through save_image
    out, a = load_image(tmp_path / "a.png", return_alpha=True)
    p2 = save_image(out, tmp_path / "b.png", alpha=a)
    np.testing.assert_array_equal(
        np.asarray(Image.open(p2)), np.asarray(Image.open(tmp_path / "a.png"))
    )
    # RGBA array, gray + alpha
    rgba = np.concatenate([rgb, alpha[..., None]], -1)
    _, a = load_image(save_image(rgba, tmp_path / "c.png"), return_alpha=True)
    np.testing.assert_allclose(a, alpha, atol=1 / 255)
    p = save_image(rgb[..., 0], tmp_path / "d.png", alpha=alpha)
    assert Image.open(p).mode == "LA"
    assert _listing(tmp_path) == ["a.png", "a.tiff", "a.webp", "b.png", "c.png", "d.png"]


def test_alpha_to_jpeg_is_dropped_with_a_warning(tmp_path):
    with pytest.warns(UserWarning, match="no alpha"):
        p = save_image(_gradient(), tmp_path / "o.jpg", alpha=np.ones((16, 24)))
    assert Image.open(p).mode == "RGB"


def test_uint8_and_float_input_are_exact_in_png(tmp_path):
    u = _u8(np.random.default_rng(1).random((12, 10, 3)))
    p = save_image(u, tmp_path / "u.png")
    np.testing.assert_array_equal(np.asarray(Image.open(p)), u)
    f = u.astype(np.float32) / 255
    p = save_image(f, tmp_path / "f.png")
    np.testing.assert_array_equal(np.asarray(Image.open(p)), u)
    np.testing.assert_allclose(load_image(p), f, atol=1e-6)
    assert np.array_equal(load_image(p, dtype="uint8"), u)
    # batch of 1, HxWx1, uint16, bool, clipping
    save_image(f[None], tmp_path / "b.png")
    assert Image.open(save_image(f[..., :1], tmp_path / "g.png")).mode == "L"
    np.testing.assert_array_equal(
        np.asarray(Image.open(save_image(u.astype(np.uint16) * 257, tmp_path / "s.png"))), u
    )
    save_image(u > 128, tmp_path / "m.png")
    c = np.asarray(Image.open(save_image(f * 1.3 - 0.15, tmp_path / "c.png")))
    assert c.min() == 0 and c.max() == 255
    assert oct(os.stat(p).st_mode & 0o777) != "0o600"  # not the temp file's private mode


def test_jpeg_quality(tmp_path):
    a = np.random.default_rng(2).random((32, 32, 3)).astype(np.float32)
    hi = save_image(a, tmp_path / "hi.jpg", quality=95)
    lo = save_image(a, tmp_path / "lo.JPEG", quality=10)
    assert hi.stat().st_size > 1.5 * lo.stat().st_size
    assert np.abs(load_image(hi) - a).mean() < np.abs(load_image(lo) - a).mean()
    assert Image.open(lo).format == "JPEG"


def test_bytes_file_object_pil_and_tensor_inputs(tmp_path):
    u = _u8(_gradient())
    data = _png_bytes(u)
    ref = u.astype(np.float32) / 255
    np.testing.assert_allclose(load_image(data), ref, atol=1e-6)
    np.testing.assert_allclose(load_image(bytearray(data)), ref, atol=1e-6)
    np.testing.assert_allclose(load_image(io.BytesIO(data)), ref, atol=1e-6)
    np.testing.assert_allclose(load_image(Image.fromarray(u)), ref, atol=1e-6)
    import keras

    t = keras.ops.convert_to_tensor(ref[None])  # batch of 1 tensor
    np.testing.assert_allclose(load_image(t), ref, atol=1e-6)
    np.testing.assert_allclose(to_float_image(keras.ops.convert_to_tensor(u)), ref, atol=1e-6)
    save_image(keras.ops.convert_to_tensor(ref), tmp_path / "t.png")
    np.testing.assert_allclose(load_image(tmp_path / "t.png"), ref, atol=1e-6)


class _FakeTorchTensor:
    """Duck-types the torch.Tensor calls load_image makes (detach/cpu/numpy)."""

    __module__ = "torch"

    def __init__(self, a):
        self.a, self.shape, self.dtype = a, a.shape, a.dtype

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.a


def test_torch_tensor_input():
    ref = _gradient()
    np.testing.assert_allclose(load_image(_FakeTorchTensor(ref)), ref, atol=1e-6)
    # a real torch tensor (with requires_grad) when torch is already imported by another
    # test module; importing it here would cost seconds
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        t = torch.from_numpy(ref).requires_grad_(True)
        np.testing.assert_allclose(load_image(t), ref, atol=1e-6)


def test_to_float_image_alpha_and_gray():
    rgb, a = to_float_image(np.zeros((4, 5, 2), np.uint8) + 255, return_alpha=True)
    assert rgb.shape == (4, 5, 3) and a.shape == (4, 5) and a.min() == 1.0
    assert to_float_image(np.ones((4, 5), np.uint16) * 65535).min() == 1.0


def test_image_info(tmp_path):
    p = save_image(_gradient(), tmp_path / "i.png", alpha=np.ones((16, 24)))
    info = image_info(p)
    assert (info["width"], info["height"], info["mode"], info["alpha"]) == (24, 16, "RGBA", True)
    assert info["format"] == "PNG" and info["exif_orientation"] is None


# ----------------------------------------------------------------------------- CLI


def test_cli_image_info_bad_images_exit_1_one_line(tmp_path, capsys):
    from keras_style.cli import main

    (tmp_path / "text.png").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "bomb.png").write_bytes(_bomb_png(30000, 30000))
    good = save_image(_gradient(), tmp_path / "good.png")
    bad = ["text.png", "empty.png", "bomb.png", "missing.png", "."]
    for name in bad:
        assert main(["image-info", str(tmp_path / name)]) == 1, name
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert err.startswith("keras-style: error: ")
    assert main(["image-info", str(good)]) == 0
    out = capsys.readouterr().out
    assert "24x16" in out and "PNG" in out


def test_cli_subprocess_bad_image_no_traceback(tmp_path):
    p = tmp_path / "photo.jpg"
    p.write_bytes(_jpeg_with_orientation(6)[:300])  # truncated
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-m", "keras_style.cli", "image-info", str(p)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    lines = [
        ln
        for ln in proc.stderr.splitlines()
        if ln.strip()
        and not ln.startswith(("WARNING: All log messages", "I0000", "E0000", "W0000", "To enable"))
    ]
    assert proc.returncode == 1, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "truncated" in lines[0] and str(p) in lines[0]


def test_no_warnings_on_clean_round_trip(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = save_image(_gradient(), tmp_path / "w.webp", quality=90)
        load_image(p, size=8)


def test_methods_convert_arrays_through_images_py():
    """Gatys and AdaIN take arrays by the same rules as keras_style.images: a float image in
    0..255 is refused with a hint (Gatys used to clip it to white), gray + alpha is accepted."""
    from keras_style.images import read_rgb as _as_rgb  # what Gatys, DeepDream, Johnson ... call
    from keras_style.methods.adain.adain import _array_image

    bright = np.full((8, 9, 3), 200.0, np.float32)
    for convert in (lambda a: _as_rgb(a, "content image"), lambda a: _array_image(a, "content")):
        with pytest.raises(ImageError, match="divide by 255"):
            convert(bright)
    ga = np.zeros((8, 9, 2), np.uint8)
    ga[..., 0], ga[..., 1] = 128, 255
    np.testing.assert_allclose(_as_rgb(ga, "x"), np.full((8, 9, 3), 128 / 255, np.float32))
    rgb, alpha = _array_image(ga, "x")
    assert rgb.shape == (8, 9, 3) and alpha is not None and float(alpha.min()) == 1.0
