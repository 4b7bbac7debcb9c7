"""Johnson et al. (2016): networks, style model, SR model, converter, training mechanics."""

from __future__ import annotations

import math
import os
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_style as ks
from keras_style.errors import ConfigError, ConversionError, ImageError
from keras_style.methods.johnson import JohnsonSRNetwork, JohnsonStyleTransfer, JohnsonTransformer
from keras_style.methods.johnson.johnson_super_resolution import match_histograms

from helpers import random_image

ROOT = Path(__file__).resolve().parent.parent

TINY = dict(width=0.125, num_residual_blocks=1)
SHORT_VGG = dict(style_layers=["relu1_2", "relu2_2"])  # a short loss network keeps tests fast
LEAN = dict(normalization="instance", upsampling="resize_conv", padding="reflect", layout="padded")


def _style(tmp_path):
    from PIL import Image

    p = tmp_path / "style.png"
    Image.fromarray((random_image(40, 32, seed=3) * 255).astype("uint8")).save(p)
    return str(p)


# ----------------------------------------------------------------------------- networks


def test_paper_network_matches_table1_sizes():
    # Table 1: 256 -> reflect 40 -> 336 -> 168 -> 84 -> 5 residual blocks 80..64 -> 128 -> 256
    net = JohnsonTransformer()  # paper defaults: batch norm, transposed convs, tanh
    x = keras.ops.zeros((1, 256, 256, 3))
    assert net.input_padding == 40
    y = net(x)
    assert tuple(y.shape) == (1, 256, 256, 3)
    shape = keras.ops.zeros((1, 84, 84, 128)).shape
    for block in net.res:
        shape = block.compute_output_shape(shape)
    assert shape[1] == 64
    assert net.conv1.conv2d.kernel.shape == (9, 9, 3, 32)
    assert net.deconv3.conv2d.kernel.shape == (9, 9, 32, 3)


def test_sr_networks_table2_sizes():
    assert tuple(JohnsonSRNetwork(scale=4, **TINY)(np.zeros((1, 18, 18, 3), "float32")).shape) == (1, 72, 72, 3)
    assert tuple(JohnsonSRNetwork(scale=8, **TINY)(np.zeros((1, 9, 9, 3), "float32")).shape) == (1, 72, 72, 3)
    with pytest.raises(ConfigError):
        JohnsonSRNetwork(scale=3)
    with pytest.raises(ConfigError):
        ks.get("johnson_sr", scale=2, backbone_weights=None)


def test_sr_bilinear_skip_starts_at_interpolation_and_round_trips():
    """skip="bilinear" (docs/methods/johnson.md): the output is the bilinear upsampling plus
    the last conv; with that conv zero it is the interpolation exactly, at any size."""
    net = JohnsonSRNetwork(scale=4, **TINY, output="linear", skip="bilinear")
    x = random_image(9, 13, batch=1)
    bilinear = keras.ops.image.resize(x, (36, 52), interpolation="bilinear", antialias=False)
    assert float(np.abs(keras.ops.convert_to_numpy(net(x) - bilinear)).max()) > 1e-3  # random residual
    net.conv_out.conv2d.kernel.assign(np.zeros(net.conv_out.conv2d.kernel.shape, "float32"))
    net.conv_out.conv2d.bias.assign(np.zeros(net.conv_out.conv2d.bias.shape, "float32"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(net(x)), keras.ops.convert_to_numpy(bilinear), atol=1e-6)
    again = JohnsonSRNetwork.from_config(net.get_config())
    assert again.skip == "bilinear"
    m = ks.get("johnson_sr", scale=4, loss="pixel", backbone_weights=None, **TINY, output="linear", skip="bilinear")
    assert m.get_config()["skip"] == "bilinear" and ks.get("johnson_sr", **m.get_config()).transform.skip == "bilinear"
    with pytest.raises(ConfigError, match="output='linear'"):
        JohnsonSRNetwork(scale=4, **TINY, skip="bilinear")
    with pytest.raises(ConfigError, match="skip"):
        JohnsonSRNetwork(scale=4, **TINY, output="linear", skip="bicubic")


def test_network_options_and_config_round_trip():
    for kw in (LEAN, dict(normalization=None, output="linear"), dict(layout="pytorch_examples")):
        net = JohnsonTransformer(**TINY, **kw)
        again = JohnsonTransformer.from_config(net.get_config())
        again.set_weights(net.get_weights())
        x = random_image(32, 32, batch=1)
        np.testing.assert_allclose(again(x), net(x), atol=1e-5)
    with pytest.raises(ConfigError):
        JohnsonTransformer(upsampling="bilinear")


# ----------------------------------------------------------------------------- converter

TORCH_NET = r'''
import torch
from torch import nn

class ConvLayer(nn.Module):
    def __init__(self, i, o, k, s):
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(k // 2)
        self.conv2d = nn.Conv2d(i, o, k, s)
    def forward(self, x):
        return self.conv2d(self.reflection_pad(x))

class ResidualBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = ConvLayer(c, c, 3, 1); self.in1 = nn.InstanceNorm2d(c, affine=True)
        self.conv2 = ConvLayer(c, c, 3, 1); self.in2 = nn.InstanceNorm2d(c, affine=True)
        self.relu = nn.ReLU()
    def forward(self, x):
        return self.in2(self.conv2(self.relu(self.in1(self.conv1(x))))) + x

class UpsampleConvLayer(nn.Module):
    def __init__(self, i, o, k, s, upsample=None):
        super().__init__()
        self.upsample = upsample
        self.reflection_pad = nn.ReflectionPad2d(k // 2)
        self.conv2d = nn.Conv2d(i, o, k, s)
    def forward(self, x):
        if self.upsample:
            x = nn.functional.interpolate(x, mode="nearest", scale_factor=self.upsample)
        return self.conv2d(self.reflection_pad(x))

class TransformerNet(nn.Module):
    """pytorch/examples fast_neural_style TransformerNet, written from its key list (transformer_net.py)."""
    def __init__(self, w=32):
        super().__init__()
        self.conv1 = ConvLayer(3, w, 9, 1); self.in1 = nn.InstanceNorm2d(w, affine=True)
        self.conv2 = ConvLayer(w, 2 * w, 3, 2); self.in2 = nn.InstanceNorm2d(2 * w, affine=True)
        self.conv3 = ConvLayer(2 * w, 4 * w, 3, 2); self.in3 = nn.InstanceNorm2d(4 * w, affine=True)
        for k in range(1, 6):
            setattr(self, f"res{k}", ResidualBlock(4 * w))
        self.deconv1 = UpsampleConvLayer(4 * w, 2 * w, 3, 1, upsample=2); self.in4 = nn.InstanceNorm2d(2 * w, affine=True)
        self.deconv2 = UpsampleConvLayer(2 * w, w, 3, 1, upsample=2); self.in5 = nn.InstanceNorm2d(w, affine=True)
        self.deconv3 = ConvLayer(w, 3, 9, 1)
        self.relu = nn.ReLU()
    def forward(self, x):
        y = self.relu(self.in1(self.conv1(x)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        for k in range(1, 6):
            y = getattr(self, f"res{k}")(y)
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)
'''


@pytest.fixture(scope="module")
def torch_checkpoint(tmp_path_factory):
    torch = pytest.importorskip("torch")
    ns = {}
    exec(TORCH_NET, ns)
    torch.manual_seed(0)
    net = ns["TransformerNet"](w=8)
    with torch.no_grad():  # non-trivial affine parameters
        for name, p in net.named_parameters():
            if name.endswith(".weight") and p.ndim == 1:
                p.uniform_(0.5, 1.5)
            elif p.ndim == 1:
                p.uniform_(-0.2, 0.2)
    net.eval()
    sd = net.state_dict()
    assert len(sd) == 62
    # the published files carry stale running statistics (docs/methods/johnson.md)
    for k in list(sd):
        if k.endswith(".weight") and sd[k].ndim == 1:
            base = k[: -len(".weight")]
            sd[base + ".running_mean"] = torch.zeros_like(sd[k])
            sd[base + ".running_var"] = torch.ones_like(sd[k])
    path = tmp_path_factory.mktemp("pth") / "tiny.pth"
    torch.save(sd, path)
    return net, path


def test_converter_parity_with_pytorch(torch_checkpoint, tmp_path):
    import torch

    net, path = torch_checkpoint
    model = ks.convert.johnson_from_torch(path)
    assert model.transform.layout == "pytorch_examples" and model.transform.width == 0.25
    for h, w in ((64, 64), (97, 131)):
        x = random_image(h, w, seed=h, batch=1)
        with torch.no_grad():
            ref = net(torch.from_numpy(x).permute(0, 3, 1, 2) * 255.0).permute(0, 2, 3, 1).numpy() / 255.0
        ours = keras.ops.convert_to_numpy(model.transform(x))
        assert ours.shape == ref.shape
        assert np.abs(ours - ref).max() <= 1e-4, np.abs(ours - ref).max()
    # stylize crops back to the input size; CLI writes a .keras that loads and stylizes
    assert model.stylize(random_image(30, 42)).shape == (30, 42, 3)
    from keras_style.cli import main

    out = tmp_path / "tiny.keras"
    assert main(["convert", "johnson-pytorch", str(path), "-o", str(out)]) == 0
    loaded = keras.saving.load_model(out)
    x = random_image(32, 32, batch=1)
    np.testing.assert_allclose(loaded.transform(x), model.transform(x), atol=1e-5)


def _torch_ref(net, x):
    import torch

    with torch.no_grad():
        return net(torch.from_numpy(x).permute(0, 3, 1, 2) * 255.0).permute(0, 2, 3, 1).numpy() / 255.0


@pytest.fixture(scope="module")
def calibrated(torch_checkpoint, tmp_path_factory):
    """The tiny TransformerNet with its last conv rescaled so outputs span about [0, 1]
    (random weights give about +-0.01): the parity below then covers the clip range."""
    import copy

    import torch

    net, _ = torch_checkpoint
    net = copy.deepcopy(net)
    x = random_image(64, 64, seed=5, batch=1)
    raw = _torch_ref(net, x)
    k = 0.25 / raw.std()
    with torch.no_grad():
        net.deconv3.conv2d.weight.mul_(k)
        net.deconv3.conv2d.bias.mul_(k).add_(255.0 * (0.5 - raw.mean() * k))
    path = tmp_path_factory.mktemp("pth_cal") / "calibrated.pth"
    torch.save(net.state_dict(), path)
    return net, ks.convert.johnson_from_torch(path)


@pytest.mark.parametrize("size", [(97, 131), (61, 47)])
def test_stylize_equals_the_original_network_at_odd_sizes(calibrated, size):
    """stylize runs TransformerNet on the image as it is (pytorch/examples neural_style.py does
    not pad) and crops its 4*ceil(ceil(h/2)/2) output: within 1e-4 of the value scale."""
    net, model = calibrated
    h, w = size
    x = random_image(h, w, seed=h + w, batch=1) * 0.8 + 0.1
    ref = _torch_ref(net, x)
    assert ref.shape[1:3] == tuple(4 * math.ceil(math.ceil(v / 2) / 2) for v in (h, w))
    ref = np.clip(ref[0, :h, :w], 0.0, 1.0)
    assert ref.std() > 0.1  # the comparison spans the value range
    got = model.stylize(x[0])
    err = np.abs(got - ref).max()
    print(f"johnson stylize {h}x{w}: max |ours - torch| = {err:.2e} (values 0..1, std {ref.std():.2f})")
    assert err <= 1e-4, err
    if size == (61, 47):
        # tiled == untiled: stride-aligned crops, the last ones end at the odd edge
        tiled = model.stylize(x[0], tile=32, overlap=64)
        assert np.abs(tiled - got).max() <= 2 / 255, np.abs(tiled - got).max()


def test_too_small_images_are_refused(torch_checkpoint):
    net, path = torch_checkpoint
    model = ks.convert.johnson_from_torch(path)
    assert model.stylize(random_image(5, 9)).shape == (5, 9, 3)
    with pytest.raises(ImageError, match="at least 5 px"):
        model.stylize(random_image(4, 9))


def test_converter_rejects_other_checkpoints(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "other.pth"
    torch.save({"conv1.conv2d.weight": torch.zeros(8, 3, 9, 9), "fc.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(ConversionError, match="missing keys: conv1.conv2d.bias.*unexpected keys: fc.weight"):
        ks.convert.johnson_from_torch(path)
    with pytest.raises(ConversionError, match="does not exist"):
        ks.convert.johnson_from_torch(tmp_path / "nope.pth")


# ----------------------------------------------------------------------------- style model


@pytest.fixture(scope="module")
def style_model(tmp_path_factory):
    keras.utils.set_random_seed(0)
    style = _style(tmp_path_factory.mktemp("style"))
    return JohnsonStyleTransfer(style_image=style, style_size=32, backbone_weights=None, **SHORT_VGG, **TINY, **LEAN)


def test_strength_and_preserve_color(style_model):
    x = random_image(32, 40, seed=1) * 0.6 + 0.2
    full = style_model.stylize(x)
    assert full.shape == x.shape
    np.testing.assert_allclose(style_model.stylize(x, strength=0.0), x, atol=1e-6)
    np.testing.assert_allclose(style_model.stylize(x, strength=1.0), full, atol=1e-6)
    half = style_model.stylize(x, strength=0.5)
    np.testing.assert_allclose(half, 0.5 * full + 0.5 * x, atol=1e-5)
    kept = style_model.stylize(x, preserve_color=True)
    from keras_style.losses.functional import rgb_to_yiq

    iq_in = keras.ops.convert_to_numpy(rgb_to_yiq(x))[..., 1:]
    iq_out = keras.ops.convert_to_numpy(rgb_to_yiq(kept))[..., 1:]
    inside = np.all((kept > 1e-4) & (kept < 1 - 1e-4), axis=-1)  # unclipped pixels
    assert inside.mean() > 0.5
    assert np.abs(iq_in - iq_out)[inside].max() <= 1 / 255
    with pytest.raises(ConfigError):
        style_model.stylize(x, strength=1.5)
    with pytest.raises(ImageError):
        style_model.stylize(random_image(2, 2))


def test_bad_style_image(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        JohnsonStyleTransfer(style_image=str(tmp_path / "missing.jpg"), backbone_weights=None, **TINY)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(ImageError):
        JohnsonStyleTransfer(style_image=str(bad), backbone_weights=None, **TINY)


def test_fit_reports_terms_and_keras_round_trip(style_model, tmp_path):
    keras.utils.set_random_seed(0)
    style_model.compile(optimizer=keras.optimizers.Adam(1e-3), run_eagerly=True)
    hist = style_model.fit(random_image(32, 32, batch=4), batch_size=2, epochs=1, verbose=0)
    assert {"loss", "content_loss", "style_loss", "tv_loss"} <= set(hist.history)
    assert all(np.isfinite(v[0]) for v in hist.history.values())
    path = tmp_path / "m.keras"
    style_model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, JohnsonStyleTransfer)
    for a, b in zip(loaded.style_grams, style_model.style_grams):
        np.testing.assert_allclose(a.numpy(), b.numpy())
    assert float(np.abs(loaded.style_grams[0].numpy()).sum()) > 0
    x = random_image(32, 32, seed=5)
    np.testing.assert_allclose(loaded.stylize(x), style_model.stylize(x), atol=1e-5)
    # the saved file holds no loss network: only transform + Gram targets
    assert len(loaded.weights) == len(loaded.transform.weights) + len(loaded.style_grams)


def test_backup_and_restore_resume_gives_same_weights(tmp_path, style_model):
    cfg = style_model.get_config()
    cfg.pop("name")
    grams = [v.numpy() for v in style_model.style_grams]
    data = random_image(32, 32, batch=4, seed=7)

    def build():
        keras.utils.set_random_seed(1)
        m = JohnsonStyleTransfer(**{**cfg, "style_image": None})
        for v, g in zip(m.style_grams, grams):
            v.assign(g)
        m.has_style_targets = True
        m.compile(optimizer=keras.optimizers.Adam(1e-3), run_eagerly=True)  # tiny: eager is faster than tracing
        return m

    ref = build()
    ref.fit(data, batch_size=2, epochs=2, shuffle=False, verbose=0)

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("interrupted")

    backup = str(tmp_path / "backup")
    m1 = build()
    with pytest.raises(RuntimeError):
        m1.fit(data, batch_size=2, epochs=2, shuffle=False, verbose=0,
               callbacks=[keras.callbacks.BackupAndRestore(backup), Interrupt()])
    m2 = build()
    m2.fit(data, batch_size=2, epochs=2, shuffle=False, verbose=0,
           callbacks=[keras.callbacks.BackupAndRestore(backup)])
    for a, b in zip(m2.transform.get_weights(), ref.transform.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_mirrored_strategy_two_cpus_same_first_step_loss(tmp_path):
    code = """
import os, numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from keras_style.methods.johnson import JohnsonStyleTransfer
rng = np.random.default_rng(0)
style = rng.random((32, 32, 3)).astype("float32")
data = rng.random((4, 32, 32, 3)).astype("float32")
losses = []
for strategy in (tf.distribute.get_strategy(), tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        m = JohnsonStyleTransfer(style_image=style, style_size=32, weights=None, width=0.125,
                                 num_residual_blocks=1, normalization="instance", style_layers=["relu1_2"],
                                 upsampling="resize_conv", padding="reflect", layout="padded")
        m.compile(optimizer=keras.optimizers.SGD(0.0))
    h = m.fit(data, batch_size=4, epochs=1, shuffle=False, verbose=0)
    losses.append(h.history["loss"][0])
print(strategy.num_replicas_in_sync, losses[0], losses[1])
"""
    from helpers import run_in_backend

    out = run_in_backend("tensorflow", code).split()
    assert out[0] == "2"
    np.testing.assert_allclose(float(out[1]), float(out[2]), rtol=1e-4)


# ----------------------------------------------------------------------------- super-resolution


def test_sr_fit_upscale_and_histogram_matching(tmp_path):
    keras.utils.set_random_seed(0)
    sr = ks.get("johnson_sr", scale=4, loss="pixel", **TINY)
    sr.compile(optimizer=keras.optimizers.Adam(1e-3))
    hr = random_image(32, 32, batch=2)
    lr = keras.ops.convert_to_numpy(keras.ops.image.resize(hr, (8, 8)))
    hist = sr.fit(lr, hr, batch_size=2, epochs=1, verbose=0)
    assert {"pixel_loss", "psnr"} <= set(hist.history)
    small = random_image(10, 13)
    big = sr.upscale(small)
    assert big.shape == (40, 52, 3)
    # histogram matching: the output has the input's per-channel distribution
    np.testing.assert_allclose(np.sort(big[..., 0].ravel())[::16].mean(), np.sort(small[..., 0].ravel()).mean(), atol=0.02)
    assert sr.upscale(small, tile=8, overlap=2).shape == (40, 52, 3)
    m = match_histograms(random_image(8, 8, seed=1), random_image(8, 8, seed=2))
    np.testing.assert_allclose(np.sort(m.ravel()), np.sort(random_image(8, 8, seed=2).ravel()), atol=1e-6)


def test_cli_train_stylize_and_upscale(tmp_path):
    from PIL import Image

    from keras_style.cli import main

    data = tmp_path / "photos"
    data.mkdir()
    for i in range(2):
        Image.fromarray((random_image(40, 40, seed=i) * 255).astype("uint8")).save(data / f"{i}.png")
    style = _style(tmp_path)
    out = tmp_path / "s.keras"
    rc = main(["train", "johnson", "--style", style, "--data", str(data), "--steps", "1", "--batch-size", "2",
               "--image-size", "32", "--style-size", "32", "--width", "0.125", "--weights", "none",
               "--normalization", "instance", "--layout", "padded", "-o", str(out), "--quiet"])
    assert rc == 0 and out.is_file()
    img = tmp_path / "in.png"
    Image.fromarray((random_image(30, 34) * 255).astype("uint8")).save(img)
    assert main(["stylize", str(img), "--model", str(out), "-o", str(tmp_path / "o.png"), "--strength", "0.5",
                 "--quiet"]) == 0
    assert Image.open(tmp_path / "o.png").size == (34, 30)
    sr = ks.get("johnson_sr", scale=4, backbone_weights=None, **TINY)
    sr.save(tmp_path / "sr.keras")
    assert main(["upscale", str(img), "--model", str(tmp_path / "sr.keras"), "-o", str(tmp_path / "big.png")]) == 0
    assert Image.open(tmp_path / "big.png").size == (136, 120)
    assert main(["upscale", str(img), "--model", str(out), "-o", str(tmp_path / "x.png")]) == 1


@pytest.mark.parametrize("name", ["johnson_great_wave", "johnson_starry_night"])
def test_bundled_preset_stylizes_offline(name):
    from keras_style import weights as wreg

    if name not in wreg.names():
        pytest.skip(f"bundled {name} weights not present")
    model = ks.get(name)
    x = random_image(48, 56, seed=4) * 0.8 + 0.1
    out = model.stylize(x)
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1
    assert np.abs(out - x).mean() > 0.02  # it does something
    m = wreg.manifest(name)
    prov = m["provenance"]
    assert m["preset"] and prov["script"] == "examples/train_fast_style.py"
    assert prov["loss_network"] == "vgg16_imagenet"  # retrained on the ImageNet VGG16
    assert (ROOT / "examples" / "images" / prov["style_image"]).is_file()
    for key in ("data", "steps", "wall_time_s", "final_losses", "command"):
        assert prov.get(key), key
    assert os.path.getsize(wreg.resolve(name)) < 5 * 2**20


def test_cli_train_resumes_after_a_kill(tmp_path, monkeypatch, capsys):
    """`train johnson` killed after its second backup restarts at step 4 of 6, not at 1."""
    from PIL import Image

    from keras_style.callbacks import ResumableBackup
    from keras_style.cli import main

    data = tmp_path / "photos"
    data.mkdir()
    for i in range(2):
        Image.fromarray((random_image(40, 40, seed=i) * 255).astype("uint8")).save(data / f"{i}.png")
    out = tmp_path / "s.keras"
    argv = ["train", "johnson", "--style", _style(tmp_path), "--data", str(data), "--steps", "6",
            "--save-every", "2", "--batch-size", "2", "--image-size", "32", "--style-size", "32",
            "--width", "0.125", "--weights", "none", "--normalization", "instance", "--layout", "padded",
            "-o", str(out)]
    original = ResumableBackup._write

    def write_then_die(self, epoch):
        original(self, epoch)
        if epoch == 2:
            raise KeyboardInterrupt  # a kill right after the backup of steps 3-4

    monkeypatch.setattr(ResumableBackup, "_write", write_then_die)
    assert main(argv) == 130  # "interrupted"
    assert not out.exists() and (tmp_path / "s.backup" / "epoch-000002").is_dir()
    monkeypatch.setattr(ResumableBackup, "_write", original)
    capsys.readouterr()
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Resuming from the backup after epoch 2" in printed
    assert "Epoch 3/3" in printed and "Epoch 1/3" not in printed  # only steps 5-6 ran again
    assert out.is_file() and not (tmp_path / "s.backup").exists()
    assert main(argv[:-2] + ["--save-every", "0", "-o", str(tmp_path / "t.keras")]) == 1
    assert "--save-every must be a positive integer" in capsys.readouterr().err


def test_lean_variant_predicts_fits_with_the_papers_adam_and_round_trips(tmp_path):
    """tests/helpers.run_model_test on the instance-norm / resize-conv / reflect variant, compiled
    with ``compile()`` alone (Adam 1e-3, FeedForwardModel.paper_optimizer)."""
    from helpers import run_model_test

    style = random_image(32, 32, seed=9)
    m = JohnsonStyleTransfer(style_image=style, style_size=32, backbone_weights=None, **SHORT_VGG, **TINY, **LEAN)
    x = random_image(32, 32, seed=1, batch=2)
    r = run_model_test(m, x, tmp_path=tmp_path, image=random_image(32, 32, seed=3), fit_data=x,
                       compile_kwargs={"run_eagerly": True})
    assert isinstance(m.optimizer, keras.optimizers.Adam)
    assert set(r.history.history) >= {"loss", "content_loss", "style_loss", "tv_loss"}
