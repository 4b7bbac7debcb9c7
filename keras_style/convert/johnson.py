"""pytorch/examples ``fast_neural_style`` checkpoints (``TransformerNet``) -> Keras.

```python
model = keras_style.convert.johnson_from_torch("candy.pth")     # a `johnson` model
model.stylize("photo.jpg")
```
```
keras-style convert johnson-pytorch candy.pth -o candy.keras
```

The state dict is read with ``torch.load(..., weights_only=True)`` (no pickled code runs).
The published ``saved_models.zip`` files carry stale ``in*.running_mean/var`` buffers
(saved before PyTorch 0.4); they are dropped, as pytorch/examples'
``stylize`` does, and instance statistics are always used. Every one of the 62 learned
tensors is mapped (conv kernels ``(out, in, kh, kw)`` -> ``(kh, kw, in, out)``,
docs/conversions.md); missing, unexpected or mis-shaped keys raise `ConversionError` naming them.
The output channels of ``conv1`` decide the width (32 -> width 1.0).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from keras_style.convert._torch import read_state_dict as _read_state_dict
from keras_style.errors import ConversionError

_STALE = re.compile(r"in\d+\.running_(mean|var)$")  # neural_style.py:stylize's regex
_CONVS = ["conv1", "conv2", "conv3", "deconv1", "deconv2", "deconv3"]
_NORMS = ["in1", "in2", "in3", "in4", "in5"]


def expected_keys(num_residual_blocks=5):
    """The 62 state-dict keys of ``TransformerNet`` (pytorch/examples transformer_net.py)."""
    keys = []
    for c in _CONVS:
        keys += [f"{c}.conv2d.weight", f"{c}.conv2d.bias"]
    for n in _NORMS:
        keys += [f"{n}.weight", f"{n}.bias"]
    for k in range(1, num_residual_blocks + 1):
        for c in ("conv1", "conv2"):
            keys += [f"res{k}.{c}.conv2d.weight", f"res{k}.{c}.conv2d.bias"]
        for n in ("in1", "in2"):
            keys += [f"res{k}.{n}.weight", f"res{k}.{n}.bias"]
    return keys


def read_state_dict(path):
    """``{key: float32 NumPy}`` from a ``.pth``/``.pt``/``.model`` file, without running pickled code."""
    return _read_state_dict(path, "TransformerNet checkpoint")


def _check(sd, path):
    sd = {k[len("module.") :] if k.startswith("module.") else k: v for k, v in sd.items()}
    dropped = sorted(k for k in sd if _STALE.search(k))
    sd = {k: v for k, v in sd.items() if k not in dropped and not k.endswith("num_batches_tracked")}
    blocks = sorted({int(m.group(1)) for k in sd for m in [re.match(r"res(\d+)\.", k)] if m})
    n_blocks = max(blocks) if blocks else 5
    want = expected_keys(n_blocks)
    missing = [k for k in want if k not in sd]
    unexpected = sorted(k for k in sd if k not in set(want))
    if missing or unexpected:
        def show(keys):
            return ", ".join(keys[:8]) + (f" (+{len(keys) - 8} more)" if len(keys) > 8 else "")

        raise ConversionError(
            f"{path} is not a pytorch/examples TransformerNet state dict: "
            + (f"missing keys: {show(missing)}" if missing else "")
            + ("; " if missing and unexpected else "")
            + (f"unexpected keys: {show(unexpected)}" if unexpected else "")
            + "."
        )
    return sd, n_blocks, dropped


def johnson_from_torch(path, output=None, overwrite=False):
    """Convert a pytorch/examples ``TransformerNet`` checkpoint to a `johnson` model.

    Args:
        path: ``.pth`` / ``.model`` state dict (e.g. the published candy, mosaic, udnie,
            rain_princess models).
        output: optional ``.keras`` path to save the model to (atomically).
        overwrite: replace an existing ``output``.

    Returns:
        a `keras_style.methods.johnson.JohnsonStyleTransfer` with
        ``layout="pytorch_examples"`` (input/output in [0, 1]; ``stylize`` works).
    """
    from keras_style.methods.johnson.johnson_style_transfer import JohnsonStyleTransfer

    if output is not None:
        output = Path(output)
        if output.suffix != ".keras":
            raise ConversionError(f"The output must be a .keras file, got {output}.")
        if output.exists() and not overwrite:
            raise ConversionError(f"{output} exists; pass overwrite=True (--overwrite) to replace it.")
    sd, n_blocks, _ = _check(read_state_dict(path), path)
    c32 = sd["conv1.conv2d.weight"].shape[0]
    width = c32 / 32.0
    model = JohnsonStyleTransfer(
        style_image=None, backbone_weights=None, width=width, num_residual_blocks=n_blocks,
        layout="pytorch_examples", name=f"johnson_{Path(path).stem}"[:60].replace("-", "_"),
    )
    t = model.transform

    def conv(layer, key):
        w, b = sd[f"{key}.weight"], sd[f"{key}.bias"]
        kernel = np.transpose(w, (2, 3, 1, 0))
        want = tuple(layer.kernel.shape)
        if kernel.shape != want or b.shape != (want[-1],):
            raise ConversionError(
                f"{key}: PyTorch weight {w.shape} does not fit the Keras kernel {want} "
                "(is this a TransformerNet of a different width?)."
            )
        layer.set_weights([kernel, b])

    def norm(layer, key):
        g, b = sd[f"{key}.weight"], sd[f"{key}.bias"]
        if g.shape != tuple(layer.gamma.shape):
            raise ConversionError(f"{key}: shape {g.shape} does not fit {tuple(layer.gamma.shape)}.")
        layer.set_weights([g, b])

    conv(t.conv1.conv2d, "conv1.conv2d")
    conv(t.conv2.conv2d, "conv2.conv2d")
    conv(t.conv3.conv2d, "conv3.conv2d")
    conv(t.deconv1.conv, "deconv1.conv2d")
    conv(t.deconv2.conv, "deconv2.conv2d")
    conv(t.deconv3.conv2d, "deconv3.conv2d")
    for n in _NORMS:
        norm(getattr(t, n), n)
    for k, block in enumerate(t.res, start=1):
        conv(block.conv1, f"res{k}.conv1.conv2d")
        conv(block.conv2, f"res{k}.conv2.conv2d")
        norm(block.norm1, f"res{k}.in1")
        norm(block.norm2, f"res{k}.in2")
    model.has_style_targets = True  # a ready style model (no Gram targets: not trainable)
    if output is not None:
        from keras_style.saving import save_model_atomic

        save_model_atomic(model, output)
    return model


__all__ = ["johnson_from_torch", "expected_keys", "read_state_dict"]
