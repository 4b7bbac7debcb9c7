"""Encoder E, decoder G and multi-scale discriminator D of Sanakoyeu et al. (ECCV 2018).

Built exactly as the official TF1 code (``CompVis/adaptive-style-transfer: module.py, ops.py``,
docs/methods/style_aware.md): convolutions without biases, truncated-normal(0.02) kernels, instance norm with
epsilon 1e-5 whose scale starts at N(1, 0.02) and offset at 0. Keras layer names are the TF
variable scopes (``g_e1_c``, ``g_e1_bn``, ``g_r1``, ``g_d1_dc``, ``d_h0_conv``, ``d_bn0``,
``d_h0_pred``...), so `keras_style.convert.style_aware_from_tf` maps checkpoints by name.

Images enter E and D in [-1, 1] (``x/127.5 - 1`` in the code); G ends with ``sigmoid(x)*2 - 1``.
NHWC (channels_last) only.
"""

from __future__ import annotations

import keras

from keras_style.layers import (
    InstanceNormalization,
    ReflectionPadding2D,
    ResidualBlock,
    UpsampleConv2D,
)

# Discriminator prediction heads: block index -> kernel size (module.py: d_h{i}_pred).
DISCRIMINATOR_HEADS = {0: 5, 1: 10, 3: 10, 5: 6, 6: 3}


def _seed(seed, offset):
    return None if seed is None else int(seed) * 1009 + offset


def _conv(filters, kernel_size, strides, padding, name, seed):
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        use_bias=False,  # ops.conv2d: biases_initializer=None
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02, seed=seed),  # ops.conv2d stddev 0.02
        name=name,
    )


@keras.saving.register_keras_serializable(package="keras_style")
class PredictionConv2D(keras.layers.Conv2D):
    """A one-channel logit conv (the discriminator heads); same weights and numbers as Conv2D.

    The kernel is zero-padded to two output channels for the convolution and channel 0 is
    returned: torch's CPU conv backward fails for one-output-channel 3x3 convs on tiny maps
    ("slow_conv2d: grad_weight must be contiguous"); two channels avoid that path on every backend.
    """

    def convolution_op(self, inputs, kernel):
        kernel = keras.ops.convert_to_tensor(kernel)  # a Variable (JAX: zeros_like needs an array)
        padded = keras.ops.concatenate([kernel, keras.ops.zeros_like(kernel)], axis=-1)
        return super().convolution_op(inputs, padded)[..., :1]


def _norm(name):
    return InstanceNormalization(epsilon=1e-5, name=name)  # ops.instance_norm: epsilon 1e-5


def build_encoder(ngf=32, seed=None, name="encoder"):
    """E: input IN, reflect pad 15, 3x3 convs (s1, s2, s2, s2, s2) with IN + ReLU; latent has 8*ngf channels."""
    x_in = keras.Input((None, None, 3), name="image")
    x = _norm("g_e0_bn")(x_in)
    x = ReflectionPadding2D(15, name="g_e0_pad")(x)
    for i, (mult, stride) in enumerate([(1, 1), (1, 2), (2, 2), (4, 2), (8, 2)], start=1):
        x = _conv(ngf * mult, 3, stride, "valid", f"g_e{i}_c", _seed(seed, i))(x)
        x = _norm(f"g_e{i}_bn")(x)
        x = keras.layers.ReLU(name=f"g_e{i}_relu")(x)
    return keras.Model(x_in, x, name=name)


def build_decoder(ngf=32, num_residual_blocks=9, seed=None, name="decoder"):
    """G: residual blocks at 8*ngf, 4 resize-conv stages (nearest x2 + 3x3 zero-SAME conv, IN, ReLU), reflect pad 3 + 7x7 conv, sigmoid*2-1."""
    z_in = keras.Input((None, None, ngf * 8), name="latent")
    x = z_in
    for i in range(1, num_residual_blocks + 1):
        x = ResidualBlock(
            ngf * 8, kernel_size=3, padding="reflect", normalization="instance", use_bias=False, name=f"g_r{i}"
        )(x)
    for i, mult in enumerate([8, 4, 2, 1], start=1):
        x = UpsampleConv2D(ngf * mult, kernel_size=3, size=2, padding="zero", use_bias=False, name=f"g_d{i}_dc")(x)
        x = _norm(f"g_d{i}_bn")(x)
        x = keras.layers.ReLU(name=f"g_d{i}_relu")(x)
    x = ReflectionPadding2D(3, name="g_pred_pad")(x)
    x = _conv(3, 7, 1, "valid", "g_pred_c", _seed(seed, 50))(x)
    x = keras.layers.Activation("sigmoid", name="g_pred_sigmoid")(x)
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="g_pred_rescale")(x)  # sigmoid*2 - 1
    return keras.Model(z_in, x, name=name)


def build_discriminator(ndf=64, seed=None, name="discriminator"):
    """D: seven 5x5 stride-2 SAME convs (IN + LReLU 0.2) with 5 one-channel logit heads ``scale_0/1/3/5/6``."""
    x_in = keras.Input((None, None, 3), name="image")
    x = x_in
    outputs = {}
    for i, mult in enumerate([2, 2, 4, 8, 8, 16, 16]):
        x = _conv(ndf * mult, 5, 2, "same", f"d_h{i}_conv", _seed(seed, 100 + i))(x)
        x = _norm(f"d_bn{i}")(x)
        x = keras.layers.LeakyReLU(negative_slope=0.2, name=f"d_h{i}_lrelu")(x)  # lrelu leak 0.2
        if i in DISCRIMINATOR_HEADS:
            k = DISCRIMINATOR_HEADS[i]
            outputs[f"scale_{i}"] = PredictionConv2D(
                1,
                k,
                padding="same",
                use_bias=False,
                kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02, seed=_seed(seed, 200 + i)),
                name=f"d_h{i}_pred",
            )(x)
    return keras.Model(x_in, outputs, name=name)


def official_init(model, seed=None):
    """Re-draw every conv kernel from TruncatedNormal(0.02) and every IN scale from N(1, 0.02).

    Needed for the convs inside `ResidualBlock` / `UpsampleConv2D` (whose constructors do not take an
    initializer) and for instance-norm scales (keras_style's default is 1).
    """
    k = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        k += 1
        s = _seed(seed, 1000 + k)
        if isinstance(layer, keras.layers.Conv2D) and layer.built:
            init = keras.initializers.TruncatedNormal(stddev=0.02, seed=s)
            layer.kernel.assign(init(layer.kernel.shape))
        elif isinstance(layer, InstanceNormalization) and layer.built:
            scale = instance_norm_variables(layer)[0]
            if scale is not None:
                init = keras.initializers.RandomNormal(mean=1.0, stddev=0.02, seed=s)
                scale.assign(init(scale.shape))


def instance_norm_variables(layer):
    """(scale, offset) variables of a keras_style InstanceNormalization (None where absent)."""
    scale = offset = None
    for attr in ("gamma", "scale"):
        v = getattr(layer, attr, None)
        if isinstance(v, keras.Variable):
            scale = v
            break
    for attr in ("beta", "offset", "center"):
        v = getattr(layer, attr, None)
        if isinstance(v, keras.Variable):
            offset = v
            break
    return scale, offset


def sublayers_of_type(layer, cls):
    """Sub-layers of ``layer`` (recursively, in creation order) that are instances of ``cls``."""
    return [sub for sub in layer._flatten_layers(include_self=False, recursive=True) if isinstance(sub, cls)]
