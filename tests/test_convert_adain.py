"""pytorch-AdaIN -> Keras converter: parity with a PyTorch reference, key checks, manifest.

The PyTorch networks are written here from the published key list (pytorch-AdaIN net.py) with
random weights; nothing is downloaded.
"""

import numpy as np
import pytest
from helpers import random_image

torch = pytest.importorskip("torch")
nn = torch.nn

import keras_style as ks  # noqa: E402
from keras_style.convert.adain import adain_from_torch  # noqa: E402
from keras_style.errors import ConversionError, WeightsUnavailableError  # noqa: E402


def torch_vgg():
    """The 53-module vgg_normalised Sequential (net.py ``vgg``)."""
    mods = [nn.Conv2d(3, 3, 1)]
    cin = 3
    for b, (n, ch) in enumerate(zip((2, 2, 4, 4, 4), (64, 128, 256, 512, 512)), start=1):
        for _ in range(n):
            mods += [nn.ReflectionPad2d(1), nn.Conv2d(cin, ch, 3), nn.ReLU()]
            cin = ch
        if b < 5:
            mods.append(nn.MaxPool2d(2, 2, 0, ceil_mode=True))
    assert len(mods) == 53
    return nn.Sequential(*mods)


def torch_decoder():
    """The 29-module decoder Sequential (net.py ``decoder``)."""

    def conv(i, o, relu=True):
        return [nn.ReflectionPad2d(1), nn.Conv2d(i, o, 3)] + ([nn.ReLU()] if relu else [])

    up = [nn.Upsample(scale_factor=2, mode="nearest")]
    mods = (
        conv(512, 256)
        + up
        + conv(256, 256)
        + conv(256, 256)
        + conv(256, 256)
        + conv(256, 128)
        + up
        + conv(128, 128)
        + conv(128, 64)
        + up
        + conv(64, 64)
        + conv(64, 3, relu=False)
    )
    assert len(mods) == 29
    return nn.Sequential(*mods)


def calc_mean_std(feat, eps=1e-5):
    n, c = feat.shape[:2]
    var = feat.view(n, c, -1).var(dim=2) + eps
    return feat.view(n, c, -1).mean(dim=2).view(n, c, 1, 1), var.sqrt().view(n, c, 1, 1)


def torch_stylize(vgg, dec, content, style, alpha=1.0):
    enc = vgg[:31]
    with torch.no_grad():
        c = torch.from_numpy(content).permute(0, 3, 1, 2)
        s = torch.from_numpy(style).permute(0, 3, 1, 2)
        cf, sf = enc(c), enc(s)
        cm, cs = calc_mean_std(cf)
        sm, ss = calc_mean_std(sf)
        t = (cf - cm) / cs * ss + sm
        t = alpha * t + (1 - alpha) * cf
        return dec(t).permute(0, 2, 3, 1).numpy()


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    torch.manual_seed(0)
    vgg, dec = torch_vgg(), torch_decoder()
    # the official 1x1 preprocessing conv (lib/utils.lua:getPreprocessConv)
    with torch.no_grad():
        w = torch.zeros(3, 3, 1, 1)
        w[0, 2] = w[1, 1] = w[2, 0] = 255.0
        vgg[0].weight.copy_(w)
        vgg[0].bias.copy_(-torch.tensor([103.939, 116.779, 123.68]))
        # default init gives outputs of about +-0.02; scale the last conv so the outputs span
        # about [-1, 1] and an absolute 1e-4 tolerance means something
        dec[28].weight.mul_(50.0)
        dec[28].bias.mul_(50.0)
    d = tmp_path_factory.mktemp("adain_pth")
    torch.save(vgg.state_dict(), d / "vgg_normalised.pth")
    torch.save(dec.state_dict(), d / "decoder.pth")
    out = d / "adain.keras"
    model = adain_from_torch(d / "decoder.pth", d / "vgg_normalised.pth", output=out)
    model.jit_compile_inference = False
    return {"dir": d, "vgg": vgg, "dec": dec, "model": model, "keras": out}


@pytest.mark.parametrize("size", [(64, 64), (68, 90)])
def test_parity_with_pytorch(converted, size):
    """Stylized outputs match within 1e-4; odd sizes exercise ceil-mode pooling (68x90 ->
    the decoder returns 72x96; we compare on the content-sized top-left region, which is
    what keras_style returns)."""
    h, w = size
    c = random_image(h, w, seed=1, batch=1)
    s = random_image(48, 56, seed=2, batch=1)
    ref = torch_stylize(converted["vgg"], converted["dec"], c, s)
    assert ref.shape[1:3] == (8 * -(-h // 8), 8 * -(-w // 8))
    ref = ref[:, :h, :w]
    got = np.asarray(converted["model"]((c, s)))
    assert got.shape == ref.shape
    err = np.abs(got - ref).max()
    print(
        f"AdaIN parity {h}x{w}: max |keras - torch| = {err:.2e} (output range "
        f"{ref.min():.3f}..{ref.max():.3f})"
    )
    assert err < 1e-4, err
    if (h, w) == (64, 64):
        return
    # the NumPy inference path (stylize, clipped) agrees too
    half = torch_stylize(converted["vgg"], converted["dec"], c, s, alpha=0.5)[0, :h, :w]
    st = converted["model"].stylize(c[0], s[0], alpha=0.5)
    assert np.abs(st - np.clip(half, 0, 1)).max() < 1e-4


def test_cli_convert_and_saved_model(converted, tmp_path):
    from keras_style.cli import main

    d = converted["dir"]
    out = tmp_path / "cli.keras"
    rc = main(
        [
            "convert",
            "adain",
            "--decoder",
            str(d / "decoder.pth"),
            "--vgg",
            str(d / "vgg_normalised.pth"),
            "-o",
            str(out),
        ]
    )
    assert rc == 0 and out.is_file()
    rc = main(
        [
            "convert",
            "adain",
            "--decoder",
            str(d / "decoder.pth"),
            "--vgg",
            str(d / "vgg_normalised.pth"),
            "-o",
            str(out),
        ]
    )
    assert rc == 1  # exists, no --overwrite


def test_bad_checkpoints(converted, tmp_path):
    d = converted["dir"]
    with pytest.raises(ConversionError, match="swap"):
        adain_from_torch(d / "vgg_normalised.pth", d / "decoder.pth")
    # a decoder from another architecture (a Johnson-like transform net)
    other = nn.Sequential(
        nn.Conv2d(3, 32, 9), nn.InstanceNorm2d(32, affine=True), nn.Conv2d(32, 3, 3)
    )
    torch.save(other.state_dict(), tmp_path / "johnson.pth")
    with pytest.raises(ConversionError) as ei:
        adain_from_torch(tmp_path / "johnson.pth", d / "vgg_normalised.pth")
    msg = str(ei.value)
    assert "missing keys" in msg and "'5.weight'" in msg
    assert "unexpected keys" in msg and "'0.weight'" in msg and "1.weight has shape [32]" in msg
    # right keys, wrong shapes (a narrower decoder)
    sd = converted["dec"].state_dict()
    sd = {k: v[: v.shape[0] // 2] if k == "28.weight" else v for k, v in sd.items()}
    torch.save(sd, tmp_path / "narrow.pth")
    with pytest.raises(ConversionError, match=r"28.weight has shape \[1, 64, 3, 3\]"):
        adain_from_torch(tmp_path / "narrow.pth", d / "vgg_normalised.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ConversionError, match="weights_only"):
        adain_from_torch(tmp_path / "junk.pth", d / "vgg_normalised.pth")
    with pytest.raises(ConversionError, match="does not exist"):
        adain_from_torch(tmp_path / "nope.pth", d / "vgg_normalised.pth")
    # a vgg truncated after relu4_1 (indices 0..30) is enough
    vsd = {k: v for k, v in converted["vgg"].state_dict().items() if int(k.split(".")[0]) <= 30}
    torch.save(vsd, tmp_path / "vgg_short.pth")
    adain_from_torch(d / "decoder.pth", tmp_path / "vgg_short.pth")


def test_manifest_unavailable_then_loaded(converted, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_STYLE_HOME", str(tmp_path))
    with pytest.raises(WeightsUnavailableError) as ei:
        ks.get("adain", weights="adain_vgg19_coco_wikiart")
    msg = str(ei.value)
    assert (
        "decoder.pth" in msg and "vgg_normalised.pth" in msg and "keras-style convert adain" in msg
    )
    assert str(tmp_path / "adain_vgg19_coco_wikiart.keras") in msg
    (tmp_path / "adain_vgg19_coco_wikiart.keras").write_bytes(converted["keras"].read_bytes())
    model = ks.get("adain", weights="adain_vgg19_coco_wikiart")
    c = random_image(32, 40, seed=3, batch=1)
    s = random_image(24, 24, seed=4, batch=1)
    ref = np.asarray(converted["model"]((c, s)))
    assert np.abs(np.asarray(model((c, s))) - ref).max() < 1e-5
