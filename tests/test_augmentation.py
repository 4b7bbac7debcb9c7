"""Augmentation layers (docs/augmentation.md): our own layers, Keras-core and keras-cv entries, preset, CLI."""

import inspect
import math
import sys

import keras
import numpy as np
import pytest
from helpers import assert_allclose, random_image, run_in_backend, run_layer_test

import keras_style as ks
from keras_style.errors import ConfigError, ImageError
from keras_style.layers.augmentation import (
    AutoContrast,
    CoarseDropout,
    RandomHSVScale,
    RandomResizedCrop,
)

N_DRAWS = 2000


def np_(x):
    return keras.ops.convert_to_numpy(x)


# --------------------------------------------------------------------- RandomResizedCrop


def torchvision_get_params(rng, height, width, scale, ratio):
    """NumPy transcription of torchvision RandomResizedCrop.get_params (docs/augmentation.md)."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return rng.integers(0, height - h + 1), rng.integers(0, width - w + 1), h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def test_random_resized_crop_sampling_matches_torchvision_statistics():
    H, W = 60, 80
    layer = RandomResizedCrop(size=(8, 8), seed=1)
    t = layer.get_random_transformation(np.zeros((N_DRAWS, H, W, 1), "float32"))
    top, left, h, w = (np_(t[k]) for k in ("top", "left", "height", "width"))
    # bounds: inside the image, integer boxes, area and aspect within the requested ranges
    assert np.all(top >= 0) and np.all(left >= 0)
    assert np.all(top + h <= H) and np.all(left + w <= W)
    assert np.all(h >= 1) and np.all(w >= 1)
    for v in (top, left, h, w):
        assert np.array_equal(v, np.round(v))
    frac = h * w / (H * W)
    aspect = w / h
    # rounding of w and h moves area/aspect slightly outside the continuous range
    assert frac.min() >= 0.08 * 0.8 and frac.max() <= 1.0
    assert aspect.min() >= 0.75 * 0.85 and aspect.max() <= 4 / 3 * 1.15
    # distribution: means equal the torchvision algorithm's (NumPy transcription)
    rng = np.random.default_rng(0)
    ref = np.array([torchvision_get_params(rng, H, W, (0.08, 1.0), (3 / 4, 4 / 3)) for _ in range(N_DRAWS)])
    ref_frac = ref[:, 2] * ref[:, 3] / (H * W)
    ref_logr = np.log(ref[:, 3] / ref[:, 2])
    se = lambda a, b: 4 * math.sqrt(a.var() / len(a) + b.var() / len(b))  # noqa: E731
    assert abs(frac.mean() - ref_frac.mean()) < se(frac, ref_frac)
    assert abs(np.log(aspect).mean() - ref_logr.mean()) < se(np.log(aspect), ref_logr)
    # different crops within one batch
    assert len(np.unique(np.stack([top, left, h, w], 1), axis=0)) > N_DRAWS * 0.9


def test_random_resized_crop_fallback_is_centre_crop():
    # scale=(1, 1) with a very wide image: no attempt fits -> centre crop at max ratio
    layer = RandomResizedCrop(size=4, scale=(1.0, 1.0), ratio=(1.0, 1.0), seed=0)
    t = layer.get_random_transformation(np.zeros((3, 10, 30, 1), "float32"))
    assert np_(t["height"]).tolist() == [10, 10, 10]
    assert np_(t["width"]).tolist() == [10, 10, 10]
    assert np_(t["left"]).tolist() == [10, 10, 10]
    assert np_(t["top"]).tolist() == [0, 0, 0]


def test_random_resized_crop_full_crop_is_resize_and_values():
    # a crop of the whole image to the same size is the identity (half-pixel centres)
    x = random_image(12, 16, batch=2)
    layer = RandomResizedCrop(size=(12, 16), scale=(1.0, 1.0), ratio=(16 / 12, 16 / 12), seed=0)
    assert_allclose(layer(x), x, atol=1e-6)
    # a 2x downscale of the full image equals 2x2 averaging with bilinear half-pixel centres
    layer = RandomResizedCrop(size=(6, 8), scale=(1.0, 1.0), ratio=(16 / 12, 16 / 12), seed=0)
    expected = x.reshape(2, 6, 2, 8, 2, 3).mean(axis=(2, 4))
    assert_allclose(layer(x), expected, atol=1e-6)


def test_random_resized_crop_dict_masks_and_boxes():
    x = random_image(40, 48, batch=3)
    masks = np.zeros((3, 40, 48, 1), "int32")
    masks[:, 10:30, 12:36] = 2
    boxes = np.array([[[12, 10, 36, 30], [0, 0, 2, 2]]] * 3, "float32")  # xyxy
    labels = np.array([[1, 5]] * 3, "int32")
    layer = RandomResizedCrop(size=(16, 16), bounding_box_format="xyxy", seed=4)
    out = layer({"images": x, "segmentation_masks": masks, "bounding_boxes": {"boxes": boxes, "labels": labels}})
    assert tuple(out["images"].shape) == (3, 16, 16, 3)
    m = np_(out["segmentation_masks"])
    assert m.shape == (3, 16, 16, 1) and m.dtype == np.int32 and set(np.unique(m)) <= {0, 2}
    b, lab = np_(out["bounding_boxes"]["boxes"]), np_(out["bounding_boxes"]["labels"])
    # where the mask box survived, the transformed box covers exactly the mask's pixels
    for i in range(3):
        if lab[i, 0] == 1:
            ys, xs = np.nonzero(m[i, ..., 0] == 2)
            x1, y1, x2, y2 = b[i, 0]
            assert x1 - 1 <= xs.min() and xs.max() <= x2 + 1 and y1 - 1 <= ys.min() and ys.max() <= y2 + 1
        else:
            assert np.all(b[i, 0] == -1)
    assert np.all((b >= -1) & (b <= 16))
    with pytest.raises(ConfigError, match="bounding_box_format"):
        RandomResizedCrop(size=8)({"images": x, "bounding_boxes": {"boxes": boxes}})


def test_random_resized_crop_inference_unbatched_channels_first():
    x = random_image(20, 30, batch=2)
    layer = RandomResizedCrop(size=(10, 10), seed=0)
    inf = np_(layer(x, training=False))
    # centre crop (20x20 of 20x30) then resize = 2x2 averaging of the centre
    assert_allclose(inf, x[:, :, 5:25].reshape(2, 10, 2, 10, 2, 3).mean(axis=(2, 4)), atol=1e-6)
    assert layer(x[0]).shape == (10, 10, 3)
    cf = RandomResizedCrop(size=(10, 10), data_format="channels_first", seed=0)
    out = np_(cf(np.transpose(x, (0, 3, 1, 2)), training=False))
    assert_allclose(np.transpose(out, (0, 2, 3, 1)), inf, atol=1e-6)


# --------------------------------------------------------------------- RandomHSVScale


def test_hsv_scale_factor_statistics_and_effect():
    layer = RandomHSVScale(hue=(0.5, 1.5), saturation=(0.2, 0.6), brightness=0.5, seed=3)
    t = layer.get_random_transformation(np.zeros((N_DRAWS, 1, 1, 3), "float32"))
    for key, (lo, hi) in {"hue": (0.5, 1.5), "saturation": (0.2, 0.6), "brightness": (0.5, 1.5)}.items():
        f = np_(t[key])
        assert f.min() >= lo and f.max() <= hi
        assert abs(f.mean() - (lo + hi) / 2) < 4 * (hi - lo) / math.sqrt(12 * N_DRAWS)
    # brightness only == multiply the RGB image and clip
    x = random_image(8, 8, batch=4)
    only_v = RandomHSVScale(hue=None, saturation=None, brightness=(0.5, 1.5), seed=5)
    f = np_(only_v.get_random_transformation(x)["brightness"])
    only_v2 = RandomHSVScale(hue=None, saturation=None, brightness=(0.5, 1.5), seed=5)
    assert_allclose(only_v2(x), np.clip(x * f[:, None, None, None], 0, 1), atol=1e-6)
    # hue scaling of a pure colour: H' = H * f (mod 1); a grey image is unchanged
    hsv = np.zeros((1, 2, 2, 3), "float32") + np.array([0.3, 1.0, 1.0], "float32")
    rgb = np_(keras.ops.image.hsv_to_rgb(hsv))
    hue2 = RandomHSVScale(hue=(2.0, 2.0), saturation=None, brightness=None)
    out_hsv = np_(keras.ops.image.rgb_to_hsv(hue2(rgb)))
    assert_allclose(out_hsv[..., 0], 0.6, atol=1e-4)
    grey = np.full((1, 4, 4, 3), 0.4, "float32")
    g = np_(RandomHSVScale(seed=0)(grey))
    assert_allclose(g[..., 0], g[..., 2], atol=1e-6)
    assert 0.2 - 1e-6 <= g.min() and g.max() <= 0.6 + 1e-6


def test_hsv_value_range_255():
    x = random_image(6, 6, batch=2) * 255
    out = np_(RandomHSVScale(value_range=(0, 255), seed=0)(x))
    assert out.min() >= 0 and out.max() <= 255 and out.max() > 2


# --------------------------------------------------------------------- CoarseDropout


def test_coarse_dropout_rate_blocks_and_per_channel():
    ones = np.ones((N_DRAWS, 16, 16, 1), "float32")
    out = np_(CoarseDropout(p=(0.1, 0.3), size_percent=0.25, seed=0)(ones))
    assert set(np.unique(out)) <= {0.0, 1.0}
    assert abs((1 - out).mean() - 0.2) < 0.01
    # mask resolution int(0.25 * 16) = 4 -> constant 4x4 blocks (nearest upsampling)
    blocks = out.reshape(N_DRAWS, 4, 4, 4, 4)
    assert np.all(blocks.min(axis=(2, 4)) == blocks.max(axis=(2, 4)))
    # per-image p: the drop fraction varies between images within [0.1, 0.3] on average
    per_image = (1 - out).mean(axis=(1, 2, 3))
    assert per_image.std() > 0.05
    # per_channel=True: channels get different masks; False: identical masks
    rgb = np.ones((8, 16, 16, 3), "float32")
    pc = np_(CoarseDropout(p=0.5, size_px=8, per_channel=True, seed=1)(rgb))
    assert not np.array_equal(pc[..., 0], pc[..., 1])
    shared = np_(CoarseDropout(p=0.5, size_px=8, per_channel=False, seed=1)(rgb))
    assert np.array_equal(shared[..., 0], shared[..., 2])
    # min_size: size_percent 0.05 of 16 px -> 0, raised to 3 cells
    tiny = np_(CoarseDropout(p=0.5, size_percent=0.05, seed=2)(ones[:50]))
    assert len(np.unique(tiny[0, :, 0, 0])) <= 3 + 0 and set(np.unique(tiny)) <= {0.0, 1.0}


def test_coarse_dropout_black_in_value_range():
    x = np.full((2, 8, 8, 3), 0.5, "float32")
    out = np_(CoarseDropout(p=1.0, size_px=4, value_range=(-1, 1))(x))
    assert np.all(out == -1.0)


# --------------------------------------------------------------------- AutoContrast


@pytest.mark.parametrize("cutoff", [0, 1, 2.5, (2, 10), 20])
def test_auto_contrast_matches_pil(cutoff):
    from PIL import Image, ImageOps

    rng = np.random.default_rng(7)
    for k in range(3):
        img = (rng.random((21 + k, 17, 3)) ** (1 + k) * 180 + 30).astype(np.uint8)
        ref = np.asarray(ImageOps.autocontrast(Image.fromarray(img), cutoff=cutoff), np.float32) / 255
        ours = np_(AutoContrast(cutoff=cutoff)(img.astype(np.float32) / 255))
        assert np.abs(ours - ref).max() <= 1 / 255 + 1e-6
        # most pixels equal exactly
        assert np.mean(np.abs(ours - ref) < 1e-6) > 0.95
    # a constant channel is left unchanged (hi <= lo: identity table)
    flat = np.full((4, 4, 3), 0.5, "float32")
    assert_allclose(AutoContrast(cutoff=cutoff)(flat), np.round(flat * 255) / 255, atol=1e-6)


# ---------------------------------------------------------------- shared behaviour


LAYERS = [
    lambda seed: RandomResizedCrop(size=(12, 12), seed=seed),
    lambda seed: RandomHSVScale(seed=seed),
    lambda seed: CoarseDropout(p=0.3, size_percent=0.5, seed=seed),
    lambda seed: AutoContrast(cutoff=1, seed=seed),
]


@pytest.mark.parametrize("make", LAYERS, ids=["crop", "hsv", "dropout", "autocontrast"])
def test_seed_determinism_identity_and_serialization(make):
    x = random_image(16, 20, batch=3)
    a, b = np_(make(3)(x)), np_(make(3)(x))
    assert_allclose(a, b, atol=0)
    if not isinstance(make(0), AutoContrast):
        assert not np.allclose(np_(make(4)(x)), a)
    layer = make(3)
    if not isinstance(layer, RandomResizedCrop):
        assert_allclose(layer(x, training=False), x, atol=0)
    # unbatched input
    assert layer(x[0]).shape[-1] == 3 and len(layer(x[0]).shape) == 3
    # config / .keras round trip (inference path: deterministic)
    run_layer_test(make(3), x, call_kwargs={"training": False})
    # inside a model, predict() is inference
    model = keras.Sequential([keras.Input((16, 20, 3)), make(3)])
    if not isinstance(layer, RandomResizedCrop):
        assert_allclose(model.predict(x, verbose=0), x, atol=1e-6)


def test_tf_data_map_with_tensorflow_backend():
    import tensorflow as tf

    x = random_image(24, 28, batch=8)
    aug = keras.Sequential(
        [
            ks.get("random_flip", mode="horizontal", seed=0),
            ks.get("random_resized_crop", size=(16, 16), seed=0),
            ks.get("random_hsv_scale", seed=0),
            ks.get("coarse_dropout", p=0.5, size_percent=0.3, seed=0),
            ks.get("auto_contrast", cutoff=0.0),
        ]
    )
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(8))).batch(4)
    ds = ds.map(lambda im, y: (aug(im, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    batches = [(im.numpy(), y.numpy()) for im, y in ds]
    assert [b[0].shape for b in batches] == [(4, 16, 16, 3)] * 2
    assert all(np.isfinite(b[0]).all() and b[0].min() >= 0 and b[0].max() <= 1 for b in batches)
    # unbatched elements of different sizes
    preset = ks.get("seed_augment", size=12, seed=1)
    ds2 = tf.data.Dataset.from_generator(
        lambda: (random_image(20 + i, 30 - i, seed=i) for i in range(3)),
        output_signature=tf.TensorSpec((None, None, 3), tf.float32),
    ).map(lambda im: preset(im))
    assert [tuple(e.shape) for e in ds2] == [(12, 12, 3)] * 3


def test_bad_input_errors():
    with pytest.raises(ConfigError, match="inverted"):
        RandomResizedCrop(size=8, scale=(1.2, 0.1))
    with pytest.raises(ConfigError, match="out of bounds"):
        RandomResizedCrop(size=8, scale=(0.1, 1.2))
    with pytest.raises(ConfigError, match="inverted"):
        RandomHSVScale(hue=(1.5, 0.5))
    with pytest.raises(ConfigError):
        RandomHSVScale(saturation=(-1.0, 1.0))
    with pytest.raises(ConfigError, match="out of bounds"):
        CoarseDropout(p=2)
    with pytest.raises(ConfigError, match="not both"):
        CoarseDropout(size_percent=0.5, size_px=4)
    with pytest.raises(ConfigError):
        AutoContrast(cutoff=60)
    with pytest.raises(ConfigError):
        RandomResizedCrop(size=(0, 8))
    with pytest.raises(ConfigError, match="value_range"):
        RandomHSVScale(value_range=(1, 0))
    with pytest.raises(ImageError, match="smaller than the output size"):
        RandomResizedCrop(size=64)(random_image(32, 32, batch=1))
    assert RandomResizedCrop(size=64, allow_upscale=True)(random_image(32, 32, batch=1)).shape == (1, 64, 64, 3)
    with pytest.raises(ImageError, match="floating-point"):
        RandomHSVScale()(np.zeros((2, 8, 8, 3), "uint8"))
    with pytest.raises(ImageError, match="rank"):
        CoarseDropout()(np.zeros((8, 8), "float32"))


def test_torch_backend_eager():
    out = run_in_backend(
        "torch",
        """
        import numpy as np, keras, keras_style as ks
        assert keras.backend.backend() == "torch"
        x = np.random.default_rng(0).random((2, 20, 24, 3), dtype=np.float32)
        for name, kw in [("random_resized_crop", {"size": (8, 8)}), ("random_hsv_scale", {}),
                         ("coarse_dropout", {"p": 0.3, "size_percent": 0.5}), ("auto_contrast", {"cutoff": 2}),
                         ("seed_augment", {"size": 8})]:
            a = keras.ops.convert_to_numpy(ks.get(name, seed=1, **kw)(x))
            b = keras.ops.convert_to_numpy(ks.get(name, seed=1, **kw)(x))
            assert np.array_equal(a, b) and np.isfinite(a).all(), name
        d = ks.get("random_resized_crop", size=(8, 8), bounding_box_format="xyxy", seed=0)(
            {"images": x, "segmentation_masks": np.zeros((2, 20, 24, 1), "int32"),
             "bounding_boxes": {"boxes": np.array([[[2, 2, 10, 10]]] * 2, "float32"),
                                "labels": np.ones((2, 1), "int32")}})
        print("OK", tuple(d["images"].shape), tuple(d["segmentation_masks"].shape))
        """,
    )
    assert "OK (2, 8, 8, 3) (2, 8, 8, 1)" in out


# ---------------------------------------------------------------- Keras core entries


def test_every_keras_core_image_preprocessing_layer_is_registered():
    from keras.src.layers.preprocessing.image_preprocessing.base_image_preprocessing_layer import (
        BaseImagePreprocessingLayer,
    )

    registered = {ks.registry.entry(n).summary.split(":")[0] for n in ks.names(kind="augmentation")}
    missing = [
        name
        for name in dir(keras.layers)
        if inspect.isclass(getattr(keras.layers, name))
        and issubclass(getattr(keras.layers, name), BaseImagePreprocessingLayer)
        and f"keras.layers.{name}" not in registered
    ]
    assert not missing, f"Keras layers without a registry entry: {missing}"
    layer = ks.get("random_flip", mode="horizontal")
    assert type(layer) is keras.layers.RandomFlip
    assert type(ks.get("keras_auto_contrast")) is keras.layers.AutoContrast
    assert type(ks.get("auto_contrast")) is AutoContrast
    # value_range defaults to keras_style's (0, 1); notes explain the semantic differences
    assert tuple(ks.get("random_brightness", factor=(0.1, 0.1)).value_range) == (0.0, 1.0)
    assert "ADDITIVE" in ks.describe("random_brightness")["notes"]
    assert "f / (1 - f)" in ks.describe("random_saturation")["notes"]
    assert "50%" in ks.describe("random_erasing")["notes"]
    assert "(0, 0.5)" in ks.describe("random_contrast")["notes"]
    out = np_(ks.get("random_brightness", factor=(0.1, 0.1))(np.full((1, 4, 4, 3), 0.5, "float32")))
    assert_allclose(out, 0.6, atol=1e-6)  # additive, in the (0, 1) range


# ---------------------------------------------------------------- keras-cv


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_keras_cv_entries_and_missing_extra(monkeypatch):
    pytest.importorskip("keras_cv")
    from keras_style.layers.augmentation import keras_cv_interop

    names = ks.names(kind="augmentation")
    cv_names = [n for n in names if n.startswith("keras_cv.")]
    assert "keras_cv.random_crop_and_resize" in cv_names and len(cv_names) >= 30
    layer = ks.get("keras_cv.RandomFlip", mode="horizontal", seed=0)
    assert type(layer).__module__.startswith("keras_cv")
    assert layer(random_image(8, 8, batch=2)).shape == (2, 8, 8, 3)
    for n in cv_names:
        cfg = ks.registry.entry(n).test_config
        assert cfg is not None, n
        ks.get(n, **cfg)
    # without keras-cv: a clear message naming the extra
    monkeypatch.setitem(sys.modules, "keras_cv", None)
    with pytest.raises(ConfigError, match=r'pip install "keras-style\[cv\]"'):
        keras_cv_interop.import_keras_cv()


def test_namespace_hook_reraises_populate_errors():
    from keras_style import registry

    calls = []

    def populate():
        calls.append(1)
        raise ConfigError('test extra missing: pip install "keras-style[test]"')

    registry.register_namespace("test_ns_missing", populate, kind="augmentation")
    try:
        with pytest.raises(ConfigError, match="test extra missing"):
            ks.get("test_ns_missing.thing")
        with pytest.raises(ConfigError, match="test extra missing"):
            ks.get("test_ns_missing.thing")
        assert calls == [1]
        assert not any(n.startswith("test_ns_missing") for n in ks.names(kind="augmentation"))
    finally:
        registry._NAMESPACES.pop("test_ns_missing")


# ---------------------------------------------------------------- preset and CLI


def test_seed_augment_preset():
    pipe = ks.get("seed_augment", size=12, seed=0)
    assert [type(la).__name__ for la in pipe.layers] == ["RandomFlip", "RandomResizedCrop", "RandomHSVScale"]
    x = random_image(20, 24, batch=4)
    out = np_(pipe(x))
    assert out.shape == (4, 12, 12, 3) and out.min() >= 0 and out.max() <= 1
    assert np_(pipe(x, training=False)).shape == (4, 12, 12, 3)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(pipe))
    assert [type(la).__name__ for la in again.layers] == [type(la).__name__ for la in pipe.layers]


def test_cli_augment_contact_sheet(tmp_path):
    from PIL import Image

    from keras_style.cli import main

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(2):
        Image.fromarray((random_image(40, 50, seed=i) * 255).astype(np.uint8)).save(folder / f"{i}.png")
    out = tmp_path / "sheet.png"
    rc = main(["augment", str(folder), "-o", str(out), "--pipeline", "seed_augment", "-n", "3", "--size", "16", "--seed", "0"])
    assert rc == 0
    sheet = np.asarray(Image.open(out))
    assert sheet.shape == (2 * 20 + 4, 4 * 20 + 4, 3)
    rc = main(["augment", str(folder), "-o", str(tmp_path / "b.png"), "--pipeline", "coarse_dropout",
               "--option", "p=0.5", "--option", "size_percent=0.25", "-n", "2", "--size", "16"])
    assert rc == 0
    assert main(["augment", str(folder), "-o", str(out), "-n", "2", "--size", "16"]) == 1  # exists
    assert main(["augment", str(folder), "-o", str(tmp_path / "c.png"), "--pipeline", "gram_style"]) == 1
