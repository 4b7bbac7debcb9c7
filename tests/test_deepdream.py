"""DeepDream: octaves, jitter, loss, errors (tiny images, random VGG weights)."""

import numpy as np
import pytest
from helpers import random_image

import keras_style as ks
from keras_style.errors import ConfigError


def _smooth(h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([0.5 + 0.3 * np.sin(xx / (4 + c) + yy / 6) for c in range(3)], -1).astype(np.float32)


def test_dream_increases_loss_and_keeps_size():
    model = ks.get("deepdream", backbone_weights=None)
    assert model.get_config()["backbone"] == "vgg16"
    img = _smooth(48, 56)
    layers = {"relu3_3": 1.0, "relu4_1": 0.5}
    objective = model.build_objective(layers)
    from keras import ops

    before = float(ops.convert_to_numpy(objective(ops.convert_to_tensor(img[None]))[0]))
    out = model.dream(img, layers=layers, octaves=2, steps=4, seed=0, verbose=0)
    after = float(ops.convert_to_numpy(objective(ops.convert_to_tensor(out[None]))[0]))
    assert out.shape == img.shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert after > before
    # seeded jitter is deterministic; a different seed differs
    again = model.dream(img, layers=layers, octaves=2, steps=4, seed=0, verbose=0)
    np.testing.assert_allclose(out, again, atol=1e-5)
    other = model.dream(img, layers=layers, octaves=2, steps=4, seed=1, verbose=0)
    assert np.abs(other - out).max() > 1e-4


def test_dream_options_and_grayscale():
    model = ks.get("deepdream", backbone="vgg19", backbone_weights=None)
    gray = (random_image(40, 40, channels=1)[..., 0] * 255).astype(np.uint8)
    out = model.dream(gray, layers="relu2_2, relu3_1", octaves=1, steps=2, jitter=0,
                      size=32, max_loss=1e-12, verbose=0)  # max_loss stops after one step
    assert out.shape == (32, 32, 3)


def test_dream_errors():
    model = ks.get("deepdream", backbone_weights=None)
    img = random_image(32, 32)
    with pytest.raises(ValueError, match="relu4_3"):
        model.dream(img, layers={"relu9_9": 1.0}, verbose=0)
    with pytest.raises(ConfigError, match="octave"):
        model.dream(img, layers={"relu5_3": 1.0}, octaves=4, verbose=0)  # 11 px < 16
    with pytest.raises(ConfigError, match="steps"):
        model.dream(img, steps=0, verbose=0)
    with pytest.raises(ConfigError, match="octave_scale"):
        model.dream(img, octave_scale=1.0, verbose=0)
    with pytest.raises(ConfigError, match="backbone"):
        ks.get("deepdream", backbone="resnet", backbone_weights=None)
    with pytest.raises(ConfigError):
        ks.get("deepdream", backbone="inception_v3", backbone_weights="vgg16_hed_bsds500")


def test_inception_v3_backbone_random_weights():
    model = ks.get("deepdream", backbone="inception_v3", backbone_weights=None)
    assert model.default_layers() == {"mixed4": 1.0, "mixed5": 1.5, "mixed6": 2.0, "mixed7": 2.5}
    out = model.dream(random_image(80, 80), layers={"mixed2": 1.0}, octaves=1, steps=1, verbose=0)
    assert out.shape == (80, 80, 3)


def test_cli_dream_and_denoise(tmp_path):
    from PIL import Image

    from keras_style.cli import main

    src = tmp_path / "in.png"
    Image.fromarray((random_image(32, 32) * 255).astype(np.uint8)).save(src)
    out = tmp_path / "dream.png"
    rc = main(["dream", str(src), "-o", str(out), "--layers", "relu3_3:1,relu2_2:0.5",
               "--weights", "none", "--octaves", "2", "--steps", "2", "--quiet"])
    assert rc == 0 and out.exists()
    assert main(["dream", str(src), "-o", str(out), "--weights", "none", "--quiet"]) == 1  # exists
    rc = main(["dream", str(src), "-o", str(tmp_path / "x.png"), "--layers", "relu9_9",
               "--weights", "none", "--quiet"])
    assert rc == 1
    clean = tmp_path / "clean.png"
    assert main(["denoise", str(src), "-o", str(clean), "--steps", "3", "--quiet"]) == 0
    assert clean.exists()
    assert main(["denoise", str(src), "-o", str(tmp_path / "y.png"), "--weight", "-1", "--quiet"]) == 1


def test_default_weights_are_imagenet():
    """backbone_weights="auto": the ImageNet VGG16 (offline with the `offline` extra) for vgg16, the
    ImageNet weights of the other backbones; HED stays a named option (nothing is loaded
    before the first dream)."""
    from keras_style.methods.deepdream.deepdream import DEFAULT_WEIGHTS

    assert ks.get("deepdream").get_config()["backbone_weights"] == "vgg16_imagenet"
    assert ks.get("deepdream", backbone="vgg19").backbone_weights == "vgg19_imagenet"
    assert ks.get("deepdream", backbone="inception_v3").backbone_weights == "imagenet"
    assert DEFAULT_WEIGHTS["vgg16"] == "vgg16_imagenet"
    assert ks.get("deepdream", backbone_weights="vgg16_hed_bsds500").backbone_weights == "vgg16_hed_bsds500"
    with pytest.raises(ConfigError, match="vgg16"):
        ks.get("deepdream", backbone="vgg19", backbone_weights="vgg16_imagenet")
