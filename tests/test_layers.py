"""Shared layers: serialisation, PyTorch parity, the torch backend, mixed precision."""

import os
import tempfile

import keras
import numpy as np
import pytest
from helpers import run_in_backend, run_layer_test

from keras_style.errors import ConfigError
from keras_style.layers import (
    AdaptiveInstanceNormalization,
    InstanceNormalization,
    NearestUpsampling2D,
    ReflectionPadding2D,
    ResidualBlock,
    UpsampleConv2D,
)

# Parity tolerance, relative to the values' scale: max|ours - ref| <= PARITY_RTOL * max(1, max|ref|).
# Both sides compute in float32 (unit roundoff u = 6e-8) but sum in different orders (oneDNN /
# Eigen vs ATen), so a k x k x C convolution output differs by up to about n*u*sum|terms| with
# n = k*k*C (150 for the 5x5x6 residual block, chained twice). That grows with the magnitude of
# the outputs, not as a fixed absolute number: 1e-5 of the largest value is 1e-5 for unit-scale
# values; the measured errors (printed with -s) are at most 4e-7 of it on an AMD EPYC, where a
# fixed 1e-5 failed for the 5x5 residual block (1.3e-5 at max|ref| 36).
PARITY_RTOL = 1e-5


def _x(shape, seed=0, scale=1.0, offset=0.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale + offset).astype("float32")


def _nchw(x):
    return np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)))


def _nhwc(x):
    return np.ascontiguousarray(np.transpose(x, (0, 2, 3, 1)))


def _check_parity(name, ours, ref):
    ours = keras.ops.convert_to_numpy(ours)
    assert ours.shape == ref.shape, f"{name}: shape {ours.shape} vs {ref.shape}"
    err = float(np.max(np.abs(ours - ref)))
    scale = max(1.0, float(np.max(np.abs(ref))))
    tol = PARITY_RTOL * scale
    print(f"parity {name}: max abs error {err:.2e} (max|ref| {scale:.3g}, limit {tol:.2e})")
    assert err <= tol, f"{name}: max abs error {err:.2e} > {tol:.2e} (= {PARITY_RTOL} * max|ref|)"
    return err


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize(
    "make",
    [
        lambda: ReflectionPadding2D(2),
        lambda: ReflectionPadding2D(((1, 2), (3, 0))),
        lambda: InstanceNormalization(epsilon=1e-3, gamma_initializer="random_uniform"),
        lambda: InstanceNormalization(center=False, scale=False),
        lambda: ResidualBlock(4),
        lambda: ResidualBlock(4, padding="valid", normalization="batch"),
        lambda: ResidualBlock(4, padding="zero", normalization=None, use_bias=False),
        lambda: UpsampleConv2D(3),
        lambda: UpsampleConv2D(5, kernel_size=1, size=3, padding="zero", strides=2),
        lambda: UpsampleConv2D(2, kernel_initializer=keras.initializers.TruncatedNormal(0.0, 0.02)),
        lambda: ResidualBlock(4, kernel_initializer=keras.initializers.TruncatedNormal(0.0, 0.02)),
        lambda: NearestUpsampling2D(3),
    ],
)
def test_round_trip(make):
    x = _x((2, 11, 13, 4))
    layer = make()
    out = run_layer_test(layer, x)
    assert out.shape == tuple(layer.compute_output_shape(x.shape))
    config = layer.get_config()
    assert keras.saving.get_registered_object(
        keras.saving.get_registered_name(type(layer))
    ) is type(layer)
    assert "fixed_moments" not in config


def test_round_trip_adain():
    out = run_layer_test(
        AdaptiveInstanceNormalization(unbiased=False), [_x((2, 9, 7, 3)), _x((2, 5, 6, 3), 1)]
    )
    assert out.shape == (2, 9, 7, 3)


def test_registry_entries():
    import keras_style as ks

    for name, cls in [
        ("reflection_padding_2d", ReflectionPadding2D),
        ("instance_normalization", InstanceNormalization),
        ("adaptive_instance_normalization", AdaptiveInstanceNormalization),
        ("residual_block", ResidualBlock),
        ("upsample_conv_2d", UpsampleConv2D),
        ("nearest_upsampling_2d", NearestUpsampling2D),
    ]:
        entry = ks.registry.entry(name)
        assert entry.kind == "layer"
        assert isinstance(ks.get(name, **entry.test_config), cls)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("size", [2, 3])
def test_nearest_upsampling_equals_keras_upsampling(size, data_format):
    shape = (2, 5, 7, 3) if data_format == "channels_last" else (2, 3, 5, 7)
    x = _x(shape)
    ref = keras.layers.UpSampling2D(size, data_format=data_format, interpolation="nearest")(x)
    got = NearestUpsampling2D(size, data_format=data_format)(x)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(ref))
    with pytest.raises(ConfigError, match="size"):
        NearestUpsampling2D(0)


def test_output_shapes_with_unknown_dims():
    assert ReflectionPadding2D(((1, 2), (3, 4))).compute_output_shape((None, None, 5, 3)) == (
        None,
        None,
        12,
        3,
    )
    assert ResidualBlock(8, padding="valid").compute_output_shape((None, 20, None, 8)) == (
        None,
        16,
        None,
        8,
    )
    assert UpsampleConv2D(6).compute_output_shape((None, None, 7, 3)) == (None, None, 14, 6)
    # symbolic inputs with unknown spatial dims
    inp = keras.Input((None, None, 8))
    y = UpsampleConv2D(4)(ResidualBlock(8)(ReflectionPadding2D(1)(inp)))
    assert tuple(y.shape) == (None, None, None, 4)
    model = keras.Model(inp, y)
    assert model(_x((1, 5, 6, 8))).shape == (1, 14, 16, 4)


# ------------------------------------------------------------------ bad arguments


def test_bad_arguments():
    with pytest.raises(ConfigError, match="padding"):
        ReflectionPadding2D(-1)
    with pytest.raises(ConfigError, match="padding"):
        ReflectionPadding2D("same")
    with pytest.raises(ConfigError, match="larger than 3"):
        ReflectionPadding2D(3)(_x((1, 3, 8, 2)))
    with pytest.raises(ConfigError, match="width"):
        ReflectionPadding2D((1, 4))(keras.Input((8, 4, 2)))
    with pytest.raises(ConfigError, match="odd"):
        ResidualBlock(4, kernel_size=4)
    with pytest.raises(ConfigError, match="padding"):
        ResidualBlock(4, padding="same")
    with pytest.raises(ConfigError, match="normalization"):
        ResidualBlock(4, normalization="group")
    with pytest.raises(ConfigError, match="4 channels"):
        ResidualBlock(4)(_x((1, 8, 8, 3)))
    with pytest.raises(ConfigError, match="filters"):
        UpsampleConv2D(0)
    with pytest.raises(ConfigError, match="padding"):
        UpsampleConv2D(3, padding="valid")
    with pytest.raises(ConfigError, match="data_format"):
        InstanceNormalization(data_format="nhwc")
    with pytest.raises(ConfigError, match="epsilon"):
        InstanceNormalization(epsilon=-1.0)
    with pytest.raises(ConfigError, match=r"\[content, style\]"):
        AdaptiveInstanceNormalization()(_x((1, 4, 4, 2)))


# ------------------------------------------------------------------ PyTorch parity


def test_reflection_padding_matches_torch():
    torch = pytest.importorskip("torch")
    x = _x((2, 13, 17, 3))
    for pad, torch_pad in [
        (1, (1, 1, 1, 1)),
        ((2, 5), (5, 5, 2, 2)),
        (((1, 3), (0, 4)), (0, 4, 1, 3)),
    ]:
        ref = torch.nn.ReflectionPad2d(torch_pad)(torch.from_numpy(_nchw(x))).numpy()
        _check_parity(f"ReflectionPad2d{torch_pad}", ReflectionPadding2D(pad)(x), _nhwc(ref))
        ours_cf = ReflectionPadding2D(pad, data_format="channels_first")(_nchw(x))
        _check_parity(f"ReflectionPad2d{torch_pad} channels_first", ours_cf, ref)


def test_instance_norm_matches_torch():
    torch = pytest.importorskip("torch")
    c = 5
    x = _x((2, 13, 17, c), scale=3.0, offset=2.0)
    rng = np.random.default_rng(1)
    gamma = rng.uniform(0.5, 1.5, c).astype("float32")
    beta = rng.standard_normal(c).astype("float32")
    for eps in (1e-5, 1e-3):
        ref_layer = torch.nn.InstanceNorm2d(c, affine=True, eps=eps)
        with torch.no_grad():
            ref_layer.weight.copy_(torch.from_numpy(gamma))
            ref_layer.bias.copy_(torch.from_numpy(beta))
            ref = ref_layer(torch.from_numpy(_nchw(x))).numpy()
        for df in ("channels_last", "channels_first"):
            layer = InstanceNormalization(epsilon=eps, data_format=df)
            inp = x if df == "channels_last" else _nchw(x)
            layer.build(inp.shape)
            layer.gamma.assign(gamma)
            layer.beta.assign(beta)
            want = _nhwc(ref) if df == "channels_last" else ref
            _check_parity(f"InstanceNorm2d eps={eps} {df}", layer(inp), want)
    # the same numbers as keras.layers.GroupNormalization(groups=-1) (docs/conversions.md)
    gn = keras.layers.GroupNormalization(groups=-1, epsilon=1e-5)
    gn.build(x.shape)
    gn.set_weights([gamma, beta])
    layer = InstanceNormalization()
    layer.build(x.shape)
    layer.set_weights([gamma, beta])
    _check_parity(
        "InstanceNormalization vs GroupNormalization(groups=-1)",
        layer(x),
        keras.ops.convert_to_numpy(gn(x)),
    )


def _torch_conv(torch, kernel, bias, stride=1, padding=0):
    k = kernel.shape[0]
    conv = torch.nn.Conv2d(
        kernel.shape[2], kernel.shape[3], k, stride=stride, padding=padding, bias=bias is not None
    )
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(np.transpose(kernel, (3, 2, 0, 1)).copy()))
        if bias is not None:
            conv.bias.copy_(torch.from_numpy(bias))
    return conv


def _set_random_weights(layer, seed=0):
    rng = np.random.default_rng(seed)
    weights = []
    for w in layer.weights:
        if "moving_variance" in w.path or "gamma" in w.path:
            weights.append(rng.uniform(0.5, 1.5, w.shape).astype("float32"))
        else:
            weights.append((rng.standard_normal(w.shape) * 0.3).astype("float32"))
    layer.set_weights(weights)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": 3, "size": 2, "padding": "reflect"},
        {"kernel_size": 5, "size": 3, "padding": "zero", "strides": 2, "use_bias": False},
    ],
)
def test_upsample_conv_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    x = _x((2, 13, 17, 3))
    layer = UpsampleConv2D(4, **kwargs)
    layer.build(x.shape)
    _set_random_weights(layer)
    k, p = kwargs["kernel_size"], kwargs["kernel_size"] // 2
    bias = layer.conv.bias.numpy() if kwargs.get("use_bias", True) else None
    conv = _torch_conv(torch, layer.conv.kernel.numpy(), bias, stride=kwargs.get("strides", 1))
    pad = torch.nn.ReflectionPad2d(p) if kwargs["padding"] == "reflect" else torch.nn.ZeroPad2d(p)
    ref_net = torch.nn.Sequential(
        torch.nn.Upsample(scale_factor=kwargs["size"], mode="nearest"), pad, conv
    )
    with torch.no_grad():
        ref = ref_net(torch.from_numpy(_nchw(x))).numpy()
    _check_parity(f"Upsample+Conv2d {kwargs}", layer(x), _nhwc(ref))
    assert k == layer.conv.kernel.shape[0]


def _torch_residual_block(torch, layer, padding, normalization):
    nn = torch.nn
    k = layer.kernel_size
    p = k // 2

    def norm(sub):
        if normalization is None:
            return nn.Identity()
        c = layer.filters
        if normalization == "instance":
            m = nn.InstanceNorm2d(c, affine=True, eps=1e-5)
        else:
            m = nn.BatchNorm2d(c, eps=1e-5)
            m.running_mean.copy_(torch.from_numpy(sub.moving_mean.numpy()))
            m.running_var.copy_(torch.from_numpy(sub.moving_variance.numpy()))
        m.weight.data.copy_(torch.from_numpy(sub.gamma.numpy()))
        m.bias.data.copy_(torch.from_numpy(sub.beta.numpy()))
        return m

    def pad():
        return {"reflect": nn.ReflectionPad2d(p), "zero": nn.ZeroPad2d(p), "valid": nn.Identity()}[
            padding
        ]

    def conv(sub):
        bias = sub.bias.numpy() if sub.use_bias else None
        return _torch_conv(torch, sub.kernel.numpy(), bias)

    with torch.no_grad():
        body = nn.Sequential(
            pad(), conv(layer.conv1), norm(layer.norm1), nn.ReLU(),
            pad(), conv(layer.conv2), norm(layer.norm2),
        )  # fmt: skip
    body.eval()

    def forward(x):
        y = body(x)
        if padding == "valid":
            c = 2 * p
            x = x[:, :, c:-c, c:-c]
        return x + y

    return forward


@pytest.mark.parametrize(
    "padding,normalization,kernel_size",
    [("reflect", "instance", 3), ("valid", "batch", 3), ("zero", None, 5)],
)
def test_residual_block_matches_torch(padding, normalization, kernel_size):
    torch = pytest.importorskip("torch")
    x = _x((2, 13, 17, 6))
    layer = ResidualBlock(6, kernel_size, padding=padding, normalization=normalization)
    layer.build(x.shape)
    _set_random_weights(layer)
    ref_fn = _torch_residual_block(torch, layer, padding, normalization)
    with torch.no_grad():
        ref = ref_fn(torch.from_numpy(_nchw(x))).numpy()
    _check_parity(f"ResidualBlock {padding}/{normalization}/k{kernel_size}", layer(x), _nhwc(ref))
    # stable sub-layer names for converters
    names = {w.path.split("/", 1)[1] for w in layer.weights}
    assert {"conv1/kernel", "conv2/kernel"} <= names
    if normalization:
        assert {"norm1/gamma", "norm1/beta", "norm2/gamma", "norm2/beta"} <= names


def _torch_calc_mean_std(torch, feat, eps, unbiased):
    # pytorch-AdaIN function.py calc_mean_std (unbiased=True); biased variant otherwise
    n, c = feat.shape[:2]
    var = feat.reshape(n, c, -1).var(dim=2, unbiased=unbiased) + eps
    return feat.reshape(n, c, -1).mean(dim=2).reshape(n, c, 1, 1), var.sqrt().reshape(n, c, 1, 1)


def _torch_adain(torch, content, style, eps, unbiased):
    s_mean, s_std = _torch_calc_mean_std(torch, style, eps, unbiased)
    c_mean, c_std = _torch_calc_mean_std(torch, content, eps, unbiased)
    return (content - c_mean) / c_std * s_std + s_mean


@pytest.mark.parametrize("unbiased", [True, False])
def test_adain_matches_torch_formula(unbiased):
    torch = pytest.importorskip("torch")
    content = _x((2, 13, 17, 8), 0, scale=2.0, offset=1.0)
    style = _x((2, 9, 11, 8), 1, scale=0.5, offset=-3.0)
    tc, ts = torch.from_numpy(_nchw(content)), torch.from_numpy(_nchw(style))
    ref = _torch_adain(torch, tc, ts, 1e-5, unbiased).numpy()
    layer = AdaptiveInstanceNormalization(unbiased=unbiased)
    _check_parity(f"AdaIN unbiased={unbiased}", layer([content, style]), _nhwc(ref))
    layer_cf = AdaptiveInstanceNormalization(unbiased=unbiased, data_format="channels_first")
    _check_parity(
        f"AdaIN unbiased={unbiased} channels_first", layer_cf([_nchw(content), _nchw(style)]), ref
    )
    # precomputed statistics, (N, C) and keep-dims shapes
    s_mean, s_std = _torch_calc_mean_std(torch, ts, 1e-5, unbiased)
    s_mean, s_std = _nhwc(s_mean.numpy()), _nhwc(s_std.numpy())
    _check_parity(
        "AdaIN from_statistics", layer.from_statistics(content, s_mean, s_std), _nhwc(ref)
    )
    flat = layer.from_statistics(content, s_mean.reshape(2, 8), s_std.reshape(2, 8))
    _check_parity("AdaIN from_statistics (N, C)", flat, _nhwc(ref))


def test_adain_biased_and_unbiased_differ_only_through_epsilon():
    # the n/(n-1) factor cancels between content and style sigma; only eps breaks the tie,
    # so the variants differ visibly only for low-variance (e.g. 5x5, near-constant) maps
    content, style = _x((1, 5, 5, 4), scale=0.01), _x((1, 5, 5, 4), 1)
    a = keras.ops.convert_to_numpy(AdaptiveInstanceNormalization(unbiased=True)([content, style]))
    b = keras.ops.convert_to_numpy(AdaptiveInstanceNormalization(unbiased=False)([content, style]))
    assert 1e-4 < np.max(np.abs(a - b)) < 0.1
    a = AdaptiveInstanceNormalization(unbiased=True, epsilon=0.0)([content * 100, style])
    b = AdaptiveInstanceNormalization(unbiased=False, epsilon=0.0)([content * 100, style])
    _check_parity("AdaIN unbiased vs biased, eps=0", a, keras.ops.convert_to_numpy(b))


# ------------------------------------------------------------------ tiling hook


def test_instance_norm_fixed_moments():
    x = _x((2, 12, 16, 3), scale=2.0, offset=1.0)
    layer = InstanceNormalization()
    full = keras.ops.convert_to_numpy(layer(x))
    mean, var = layer.compute_moments(x)
    crop = x[:, 2:9, 3:11]
    layer.fixed_moments = (mean, var)
    # a crop normalised with the whole-image statistics equals the crop of the full result
    _check_parity("fixed_moments crop", layer(crop), full[:, 2:9, 3:11])
    layer.fixed_moments = (np.reshape(mean, (2, 3)), np.reshape(var, (2, 3)))
    _check_parity("fixed_moments crop, (N, C) moments", layer(crop), full[:, 2:9, 3:11])
    assert len(layer.weights) == 2 and "fixed_moments" not in layer.get_config()
    layer.fixed_moments = (keras.Variable(mean), keras.Variable(var))
    assert len(layer.weights) == 2, "fixed_moments must never become weights"
    layer.fixed_moments = None
    own = keras.ops.convert_to_numpy(layer(crop))
    assert np.max(np.abs(own - full[:, 2:9, 3:11])) > 1e-2
    with pytest.raises(ConfigError):
        layer.fixed_moments = mean


# ------------------------------------------------------------------ mixed precision


def test_mixed_float16_statistics():
    # large offset: x**2 overflows float16 (max 65504) unless the moments are in float32
    x = _x((2, 9, 11, 4), scale=20.0, offset=600.0)
    style = _x((2, 7, 7, 4), 1, scale=30.0, offset=-500.0)
    makers = [
        lambda: InstanceNormalization(),
        lambda: ResidualBlock(4),
        lambda: ResidualBlock(4, padding="valid", normalization="batch"),
        lambda: UpsampleConv2D(3),
        lambda: ReflectionPadding2D(2),
    ]
    ref = []
    for make in makers:
        layer = make()
        layer.build(x.shape)
        _set_random_weights(layer, 3)
        ref.append((keras.ops.convert_to_numpy(layer(x)), layer.get_weights()))
    ref_adain = keras.ops.convert_to_numpy(AdaptiveInstanceNormalization()([x, style]))

    keras.mixed_precision.set_global_policy("mixed_float16")
    for make, (want, weights) in zip(makers, ref):
        layer = make()
        layer.build(x.shape)
        layer.set_weights(weights)
        y = layer(x)
        assert keras.backend.standardize_dtype(y.dtype) == "float16", type(layer).__name__
        y = keras.ops.convert_to_numpy(y).astype("float32")
        assert np.all(np.isfinite(y)), type(layer).__name__
        scale = max(1.0, float(np.max(np.abs(want))))
        assert np.max(np.abs(y - want)) <= 2e-2 * scale, type(layer).__name__
    adain = AdaptiveInstanceNormalization()
    y = keras.ops.convert_to_numpy(adain([x, style])).astype("float32")
    assert np.all(np.isfinite(y))
    assert np.max(np.abs(y - ref_adain)) <= 2e-2 * np.max(np.abs(ref_adain))


# ------------------------------------------------------------------ torch backend


TORCH_CODE = r"""
import os, sys, tempfile
import numpy as np
import keras
assert keras.backend.backend() == "torch"
from keras_style.layers import (AdaptiveInstanceNormalization, InstanceNormalization,
    ReflectionPadding2D, ResidualBlock, UpsampleConv2D)

data = np.load(sys.argv[1] if len(sys.argv) > 1 else os.environ["KS_LAYERS_NPZ"])
x, style = data["x"], data["style"]
makers = {
    "pad": lambda df: ReflectionPadding2D(((1, 2), (3, 1)), data_format=df),
    "in": lambda df: InstanceNormalization(data_format=df),
    "res": lambda df: ResidualBlock(4, data_format=df),
    "res_valid_bn": lambda df: ResidualBlock(4, padding="valid", normalization="batch",
                                             data_format=df),
    "up": lambda df: UpsampleConv2D(3, size=2, padding="zero", data_format=df),
}
cf = lambda a: np.transpose(a, (0, 3, 1, 2))
# relative to the values' scale, as PARITY_RTOL in the calling test module
tol = lambda want: 1e-5 * max(1.0, float(np.max(np.abs(want))))
worst = 0.0
for key, make in makers.items():
    n = int(data[key + "_n"])
    weights = [data[f"{key}_w{i}"] for i in range(n)]
    for df in ("channels_last", "channels_first"):
        inp = x if df == "channels_last" else cf(x)
        want = data[key + "_y"] if df == "channels_last" else cf(data[key + "_y"])
        layer = make(df)
        layer.build(inp.shape)
        layer.set_weights(weights)
        got = keras.ops.convert_to_numpy(layer(inp))
        err = float(np.max(np.abs(got - want)))
        assert err <= tol(want), (key, df, err, tol(want))
        worst = max(worst, err)
        # .keras round trip under torch
        kin = keras.Input(inp.shape[1:])
        model = keras.Model(kin, layer(kin))
        with tempfile.TemporaryDirectory() as d:
            model.save(os.path.join(d, "m.keras"))
            loaded = keras.saving.load_model(os.path.join(d, "m.keras"))
        err = float(np.max(np.abs(keras.ops.convert_to_numpy(loaded(inp)) - want)))
        assert err <= tol(want), (key, df, "reload", err, tol(want))
for df in ("channels_last", "channels_first"):
    c, s = (x, style) if df == "channels_last" else (cf(x), cf(style))
    want = data["adain_y"] if df == "channels_last" else cf(data["adain_y"])
    got = keras.ops.convert_to_numpy(AdaptiveInstanceNormalization(data_format=df)([c, s]))
    err = float(np.max(np.abs(got - want)))
    assert err <= tol(want), ("adain", df, err, tol(want))
    worst = max(worst, err)
# mixed precision under torch: float32 statistics, float16 output
keras.mixed_precision.set_global_policy("mixed_float16")
big = (x * 20 + 600).astype("float32")
y = InstanceNormalization()(big)
assert keras.backend.standardize_dtype(y.dtype) == "float16"
assert np.all(np.isfinite(keras.ops.convert_to_numpy(y).astype("float32")))
print(f"TORCH-BACKEND-OK worst={worst:.2e}")
"""


def test_layers_on_torch_backend():
    pytest.importorskip("torch")
    x = _x((2, 9, 11, 4))
    style = _x((2, 6, 7, 4), 1, scale=2.0, offset=1.0)
    makers = {
        "pad": lambda: ReflectionPadding2D(((1, 2), (3, 1))),
        "in": lambda: InstanceNormalization(),
        "res": lambda: ResidualBlock(4),
        "res_valid_bn": lambda: ResidualBlock(4, padding="valid", normalization="batch"),
        "up": lambda: UpsampleConv2D(3, size=2, padding="zero"),
    }
    arrays = {"x": x, "style": style}
    for key, make in makers.items():
        layer = make()
        layer.build(x.shape)
        _set_random_weights(layer, 5)
        weights = layer.get_weights()
        arrays[key + "_n"] = np.array(len(weights))
        for i, w in enumerate(weights):
            arrays[f"{key}_w{i}"] = w
        arrays[key + "_y"] = keras.ops.convert_to_numpy(layer(x))
    arrays["adain_y"] = keras.ops.convert_to_numpy(AdaptiveInstanceNormalization()([x, style]))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "layers.npz")
        np.savez(path, **arrays)
        code = f"import os; os.environ['KS_LAYERS_NPZ'] = {path!r}\n" + TORCH_CODE
        out = run_in_backend("torch", code)
    assert "TORCH-BACKEND-OK" in out
    print(out.strip().splitlines()[-1])


def test_adain_from_statistics_in_functional_model():
    # unknown spatial sizes: mean_std must work on symbolic tensors too
    layer = AdaptiveInstanceNormalization()
    content = keras.Input((None, None, 3))
    mean, std = keras.Input((3,)), keras.Input((3,))
    model = keras.Model([content, mean, std], layer.from_statistics(content, mean, std))
    c = _x((2, 7, 9, 3))
    m, s = _x((2, 3), 1), np.abs(_x((2, 3), 2)) + 0.5
    y = keras.ops.convert_to_numpy(model([c, m, s]))
    np.testing.assert_allclose(
        y, keras.ops.convert_to_numpy(layer.from_statistics(c, m, s)), atol=1e-6
    )
    np.testing.assert_allclose(y.mean(axis=(1, 2)), m, atol=1e-5)
