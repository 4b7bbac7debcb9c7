"""Official TF1 checkpoints of Sanakoyeu et al. (CompVis/adaptive-style-transfer) -> `StyleAware`.

``tf.train.load_checkpoint`` reads the variables without rebuilding the TF1 graph. The variable
names are the TF scopes of ``module.py`` / ``ops.py`` (docs/methods/style_aware.md), e.g.
``encoder/g_e1_c/Conv/weights`` (kh, kw, in, out: already the Keras layout),
``encoder/g_e1_bn/scale`` / ``offset``, ``decoder/g_r1_c1/Conv/weights``,
``decoder/g_d1_dc/conv2d/Conv/weights``, ``decoder/g_pred_c/Conv/weights``,
``discriminator/d_h0_conv/Conv/weights``, ``discriminator/d_bn0/scale``,
``discriminator/d_h0_pred/Conv/weights``. There are no biases. Adam slots, ``beta1_power`` and
``global_step`` are ignored. ``ngf``, ``ndf`` and the number of residual blocks are read from the
shapes.

```python
from keras_style.convert import style_aware_from_tf
model = style_aware_from_tf("models/model_van-gogh/checkpoint_long/model_van-gogh.ckpt-300000")
model.save("van_gogh.keras")
```
```
keras-style convert style-aware-tf CHECKPOINT_PREFIX -o van_gogh.keras
```
"""

from __future__ import annotations

import os
import re
import warnings

import numpy as np

from keras_style.errors import ConfigError, ConversionError

_IGNORED = re.compile(r"(/Adam(_\d+)?$|^beta[12]_power|^global_step|^learning_rate)")


def _read_checkpoint(prefix):
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(str(prefix))
    except Exception as e:  # NotFoundError, DataLossError, ...
        raise ConversionError(
            f"Could not read a TF checkpoint at {prefix!r} ({type(e).__name__}: {str(e).splitlines()[0][:200]}). "
            "Pass the checkpoint *prefix* (e.g. .../model_van-gogh.ckpt-300000, without .index/.data-*) "
            "or its folder."
        ) from None
    return reader


def _mapping(model, has_discriminator):
    """[(tf_name, keras_variable)] for every weight of the model."""
    from keras_style.methods.style_aware.networks import (
        DISCRIMINATOR_HEADS,
        instance_norm_variables,
    )

    pairs = []

    def norm(scope, layer):
        scale, offset = instance_norm_variables(layer)
        pairs.append((f"{scope}/scale", scale))
        pairs.append((f"{scope}/offset", offset))

    enc, dec, dis = model.encoder, model.decoder, model.discriminator
    norm("encoder/g_e0_bn", enc.get_layer("g_e0_bn"))
    for i in range(1, 6):
        pairs.append((f"encoder/g_e{i}_c/Conv/weights", enc.get_layer(f"g_e{i}_c").kernel))
        norm(f"encoder/g_e{i}_bn", enc.get_layer(f"g_e{i}_bn"))
    for i in range(1, model.num_residual_blocks + 1):
        block = dec.get_layer(f"g_r{i}")
        for j in (1, 2):
            pairs.append((f"decoder/g_r{i}_c{j}/Conv/weights", getattr(block, f"conv{j}").kernel))
            norm(f"decoder/g_r{i}_bn{j}", getattr(block, f"norm{j}"))
    for i in range(1, 5):
        pairs.append((f"decoder/g_d{i}_dc/conv2d/Conv/weights", dec.get_layer(f"g_d{i}_dc").conv.kernel))
        norm(f"decoder/g_d{i}_bn", dec.get_layer(f"g_d{i}_bn"))
    pairs.append(("decoder/g_pred_c/Conv/weights", dec.get_layer("g_pred_c").kernel))
    if has_discriminator:
        for i in range(7):
            pairs.append((f"discriminator/d_h{i}_conv/Conv/weights", dis.get_layer(f"d_h{i}_conv").kernel))
            norm(f"discriminator/d_bn{i}", dis.get_layer(f"d_bn{i}"))
            if i in DISCRIMINATOR_HEADS:
                pairs.append((f"discriminator/d_h{i}_pred/Conv/weights", dis.get_layer(f"d_h{i}_pred").kernel))
    return pairs


def style_aware_from_tf(checkpoint_prefix, include_discriminator=True, **model_kwargs):
    """Build a `StyleAware` model from an official TF checkpoint (prefix or folder).

    Args:
        checkpoint_prefix: checkpoint prefix (``.../model.ckpt-300000``) or a folder holding a
            ``checkpoint`` file.
        include_discriminator: load D too when the checkpoint has it (inference needs only E, G).
        **model_kwargs: other `StyleAware` arguments (loss weights, ...); ``ngf``, ``ndf`` and
            ``num_residual_blocks`` are read from the checkpoint.

    Raises:
        ConversionError: unreadable checkpoint, a checkpoint of another model, a missing variable
            or a variable with the wrong shape (nothing is returned half-converted).
    """
    from keras_style.methods.style_aware.style_aware import StyleAware

    prefix = str(checkpoint_prefix)
    if os.path.isdir(prefix):
        import tensorflow as tf

        latest = tf.train.latest_checkpoint(prefix)
        if latest is None:
            raise ConversionError(f"Folder {prefix} has no TF 'checkpoint' file; pass the checkpoint prefix.")
        prefix = latest
    reader = _read_checkpoint(prefix)
    shapes = reader.get_variable_to_shape_map()
    key = "encoder/g_e1_c/Conv/weights"
    if key not in shapes:
        sample = ", ".join(sorted(shapes)[:5]) or "no variables"
        raise ConversionError(
            f"{prefix} is not a style-aware (CompVis/adaptive-style-transfer) checkpoint: it has no "
            f"{key!r} (it has {sample}...)."
        )
    for reserved in ("ngf", "ndf", "num_residual_blocks"):
        if reserved in model_kwargs:
            raise ConfigError(f"{reserved} is read from the checkpoint; do not pass it.")
    w1 = shapes[key]
    if len(w1) != 4 or tuple(w1[:3]) != (3, 3, 3):
        raise ConversionError(f"{key} has shape {w1}, expected (3, 3, 3, ngf).")
    ngf = int(w1[3])
    nres = 0
    while f"decoder/g_r{nres + 1}_c1/Conv/weights" in shapes:
        nres += 1
    d0 = shapes.get("discriminator/d_h0_conv/Conv/weights")
    has_d = bool(include_discriminator and d0 is not None)
    if include_discriminator and d0 is None:
        warnings.warn(
            f"{prefix} has no discriminator variables; D keeps its random initialisation.", stacklevel=2
        )
    ndf = int(d0[3]) // 2 if d0 is not None and len(d0) == 4 else 64
    model = StyleAware(ngf=ngf, ndf=ndf, num_residual_blocks=max(nres, 0), **model_kwargs)
    pairs = _mapping(model, has_d)

    missing = [n for n, _ in pairs if n not in shapes]
    if missing:
        raise ConversionError(
            f"{prefix} lacks {len(missing)} variable(s) of the style-aware model: {', '.join(missing[:6])}"
            + (", ..." if len(missing) > 6 else "")
        )
    wrong = [
        f"{n}: checkpoint {tuple(shapes[n])} vs model {tuple(v.shape)}"
        for n, v in pairs
        if tuple(shapes[n]) != tuple(v.shape)
    ]
    if wrong:
        raise ConversionError(f"Shape mismatch in {prefix}: " + "; ".join(wrong[:6]))
    mapped = {n for n, _ in pairs}
    scopes = ("encoder/", "decoder/") + (("discriminator/",) if has_d else ())
    unexpected = [
        n for n in shapes if n.startswith(scopes) and n not in mapped and not _IGNORED.search(n)
    ]
    if unexpected:
        raise ConversionError(
            f"{prefix} has variables the official architecture does not ({', '.join(sorted(unexpected)[:6])}); "
            "it is not a checkpoint of CompVis/adaptive-style-transfer's model."
        )
    for n, v in pairs:
        v.assign(np.asarray(reader.get_tensor(n), dtype="float32"))
    return model


__all__ = ["style_aware_from_tf"]
