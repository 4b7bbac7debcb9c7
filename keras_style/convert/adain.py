"""Convert the pytorch-AdaIN checkpoints ``decoder.pth`` + ``vgg_normalised.pth`` to Keras.

```python
from keras_style.convert import adain_from_torch
model = adain_from_torch("decoder.pth", "vgg_normalised.pth", output="adain.keras")
```
```
keras-style convert adain --decoder decoder.pth --vgg vgg_normalised.pth -o adain.keras
```

Key lists and shapes: docs/methods/adain.md, "Official code". ``decoder.pth`` holds the 29-module decoder Sequential
(convs at indices 1, 5, 8, 11, 14, 18, 21, 25, 28); ``vgg_normalised.pth`` the 53-module VGG
(convs at 0, 2, 5, 9, ..., 51; only those up to 29 = relu4_1 are used). PyTorch conv kernels
(out, in, kh, kw) become Keras (kh, kw, in, out) by the (2, 3, 1, 0) transpose (docs/conversions.md).
``torch`` is imported only here, and files are read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_style.convert._torch import read_state_dict
from keras_style.errors import ConfigError, ConversionError

WEIGHTS_NAME = "adain_vgg19_coco_wikiart"

# decoder.pth: index -> (our layer name, PyTorch weight shape) (pytorch-AdaIN net.py decoder)
DECODER_KEYS = {
    1: ("conv4_1", (256, 512, 3, 3)),
    5: ("conv3_4", (256, 256, 3, 3)),
    8: ("conv3_3", (256, 256, 3, 3)),
    11: ("conv3_2", (256, 256, 3, 3)),
    14: ("conv3_1", (128, 256, 3, 3)),
    18: ("conv2_2", (128, 128, 3, 3)),
    21: ("conv2_1", (64, 128, 3, 3)),
    25: ("conv1_2", (64, 64, 3, 3)),
    28: ("conv1_1", (3, 64, 3, 3)),
}
_VGG_CH = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}


def _vgg_keys():
    """vgg_normalised.pth: index -> (our layer name, PyTorch weight shape), all 17 convs."""
    from keras_style.backbones.vgg import VGG19_NORMALISED_TORCH_INDEX

    out = {}
    prev = 3
    for idx, name in sorted(VGG19_NORMALISED_TORCH_INDEX.items()):
        if name == "preprocess":
            out[idx] = (name, (3, 3, 1, 1))
            continue
        b = int(name[5])
        out[idx] = (name, (_VGG_CH[b], prev, 3, 3))
        prev = _VGG_CH[b]
    return out


# encoder convs needed up to relu4_1 (block4_conv1, index 29)
_VGG_NEEDED_MAX_INDEX = 29


def _check(sd, table, path, what, optional_from=None, hint=""):
    """Key and shape checks; returns {layer_name: (kernel HWIO, bias)}."""
    expected = {f"{i}.{p}" for i in table for p in ("weight", "bias")}
    required = {
        f"{i}.{p}"
        for i in table
        for p in ("weight", "bias")
        if optional_from is None or i <= optional_from
    }
    missing = sorted(required - set(sd), key=lambda k: (int(k.split(".")[0]), k))
    unexpected = sorted(set(sd) - expected)
    problems = []
    if missing:
        problems.append(f"missing keys {missing}")
    if unexpected:
        problems.append(
            f"unexpected keys {unexpected[:20]}{' ...' if len(unexpected) > 20 else ''}"
        )
    for i, (_name, shape) in table.items():
        w, b = sd.get(f"{i}.weight"), sd.get(f"{i}.bias")
        if w is not None and tuple(w.shape) != shape:
            problems.append(f"{i}.weight has shape {list(w.shape)}, expected {list(shape)}")
        if b is not None and tuple(b.shape) != (shape[0],):
            problems.append(f"{i}.bias has shape {list(b.shape)}, expected [{shape[0]}]")
    if problems:
        raise ConversionError(
            f"{path} is not the pytorch-AdaIN {what}: "
            + "; ".join(problems)
            + "."
            + hint
        )
    out = {}
    for i, (name, _) in table.items():
        if f"{i}.weight" in sd:
            out[name] = (np.transpose(sd[f"{i}.weight"], (2, 3, 1, 0)), sd[f"{i}.bias"])
    return out


def _swap_hint(sd, other_table):
    keys = {f"{i}.weight" for i in other_table}
    if keys & set(sd) and len(keys & set(sd)) >= len(keys) // 2:
        return " It looks like the other file: did you swap --decoder and --vgg?"
    return ""


def _set_encoder(encoder, vgg):
    for name in encoder._by_name:
        encoder.set_conv_weights(name, *vgg[name])


def load_vgg_normalised(encoder, vgg_path):
    """Load ``vgg_normalised.pth`` into a ``vgg19_normalised`` backbone (e.g. ``model.encoder``
    before training a decoder from scratch, as both official codes do)."""
    if getattr(encoder, "arch", None) != "vgg19_normalised":
        raise ConfigError("vgg_normalised.pth loads only into the 'vgg19_normalised' encoder.")
    sd = read_state_dict(vgg_path, "vgg_normalised")
    vgg = _check(
        sd,
        _vgg_keys(),
        vgg_path,
        "vgg_normalised encoder",
        optional_from=_VGG_NEEDED_MAX_INDEX,
        hint=_swap_hint(sd, DECODER_KEYS),
    )
    _set_encoder(encoder, vgg)
    return encoder


def adain_from_torch(decoder_path, vgg_path, output=None, overwrite=False):
    """Build an `AdaIN` model (``encoder="vgg19_normalised"``) from the official files.

    Args:
        decoder_path: ``decoder.pth`` (pytorch-AdaIN release v0.0.0, or one trained by its
            ``train.py``, which saves ``net.decoder.state_dict()``).
        vgg_path: ``vgg_normalised.pth`` (the full 53-module VGG; a file truncated after
            relu4_1 is accepted too).
        output: optional ``.keras`` path to save the model to (atomically).
        overwrite: replace an existing ``output``.

    Raises `ConversionError` listing missing / unexpected keys and wrong shapes.
    """
    from keras_style.methods.adain.adain import AdaIN

    if output is not None:
        output = Path(output).expanduser()
        if output.suffix != ".keras":
            raise ConfigError(f"output must end in .keras, got {output}.")
        if output.exists() and not overwrite:
            raise ConfigError(f"{output} exists; pass overwrite=True (--overwrite) to replace it.")
    vgg_table = _vgg_keys()
    dec_sd = read_state_dict(decoder_path, "decoder")
    vgg_sd = read_state_dict(vgg_path, "vgg_normalised")
    dec = _check(dec_sd, DECODER_KEYS, decoder_path, "decoder", hint=_swap_hint(dec_sd, vgg_table))
    vgg = _check(
        vgg_sd,
        vgg_table,
        vgg_path,
        "vgg_normalised encoder",
        optional_from=_VGG_NEEDED_MAX_INDEX,
        hint=_swap_hint(vgg_sd, DECODER_KEYS),
    )

    model = AdaIN(encoder="vgg19_normalised", encoder_weights=None)
    _set_encoder(model.encoder, vgg)
    for name, (k, b) in dec.items():
        model.decoder.get_layer(name).set_weights([k, b])
    if output is not None:
        from keras_style.saving import save_model_atomic

        save_model_atomic(model, output)
    return model


__all__ = ["adain_from_torch", "load_vgg_normalised", "DECODER_KEYS", "WEIGHTS_NAME"]
