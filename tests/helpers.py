"""Shared test helpers: layer/loss round trips and small utilities.

- ``run_layer_test(layer, inputs)``: build, call, ``get_config`` -> ``from_config`` round trip
  (same config, same output with copied weights), and a ``.keras`` save/load of a tiny
  functional model around the layer giving the same output after reload.
- ``run_loss_test(loss, y_true, y_pred)``: finite scalar, zero on identical inputs,
  config round trip, works inside a compiled model's save/load.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap

import keras
import numpy as np


def _to_numpy(x):
    if isinstance(x, dict):
        return {k: _to_numpy(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_to_numpy(v) for v in x)
    return keras.ops.convert_to_numpy(x)


def assert_allclose(a, b, atol=1e-5, rtol=1e-5, msg=""):
    a, b = _to_numpy(a), _to_numpy(b)
    if isinstance(a, dict):
        assert set(a) == set(b), f"{msg} keys differ: {sorted(a)} vs {sorted(b)}"
        for k in a:
            assert_allclose(a[k], b[k], atol, rtol, msg=f"{msg}[{k}]")
        return
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for i, (x, y) in enumerate(zip(a, b)):
            assert_allclose(x, y, atol, rtol, msg=f"{msg}[{i}]")
        return
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol, rtol=rtol, err_msg=msg)


def run_layer_test(layer, inputs, *, call_kwargs=None, atol=1e-5, check_saving=True):
    """Round-trip a layer instance; returns its output on ``inputs``.

    ``inputs`` is a NumPy array or a list of arrays (for multi-input layers).
    """
    call_kwargs = call_kwargs or {}
    out = layer(inputs, **call_kwargs)
    out_np = _to_numpy(out)

    # config round trip: the same config, and the same output with copied weights
    config = layer.get_config()
    clone = layer.__class__.from_config(config)
    assert clone.get_config() == config, "get_config() is not stable across from_config()"
    clone(inputs, **call_kwargs)
    clone.set_weights(layer.get_weights())
    assert_allclose(clone(inputs, **call_kwargs), out_np, atol=atol, msg="from_config output")

    # serialize -> deserialize through Keras' own machinery (registered name)
    ser = keras.saving.serialize_keras_object(layer)
    again = keras.saving.deserialize_keras_object(ser)
    assert type(again) is type(layer)

    if check_saving:
        multi = isinstance(inputs, (list, tuple))
        specs = list(inputs) if multi else [inputs]
        kin = [keras.Input(shape=np.shape(x)[1:], dtype=str(np.asarray(x).dtype)) for x in specs]
        y = layer(kin if multi else kin[0], **call_kwargs)
        model = keras.Model(kin if multi else kin[0], y)
        expected = _to_numpy(model(inputs))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "layer.keras")
            model.save(path)
            loaded = keras.saving.load_model(path)
        assert_allclose(loaded(inputs), expected, atol=atol, msg=".keras round trip")
    return out_np


def run_loss_test(loss, y_true, y_pred, *, atol=1e-6):
    """Check a keras_style loss; returns its value on (y_true, y_pred) as a float."""
    assert isinstance(loss, keras.losses.Loss)
    value = float(keras.ops.convert_to_numpy(loss(y_true, y_pred)))
    assert np.isfinite(value), f"loss is not finite: {value}"
    zero = float(keras.ops.convert_to_numpy(loss(y_pred, y_pred)))
    assert abs(zero) <= atol, f"loss of identical inputs should be 0, got {zero}"
    config = loss.get_config()
    clone = loss.__class__.from_config(config)
    assert clone.get_config() == config
    np.testing.assert_allclose(
        float(keras.ops.convert_to_numpy(clone(y_true, y_pred))), value, rtol=1e-5, atol=atol
    )
    ser = keras.saving.serialize_keras_object(loss)
    again = keras.saving.deserialize_keras_object(ser)
    assert type(again) is type(loss)
    np.testing.assert_allclose(
        float(keras.ops.convert_to_numpy(again(y_true, y_pred))), value, rtol=1e-5, atol=atol
    )
    return value


def run_in_backend(backend: str, code: str, timeout: int = 300) -> str:
    """Run ``code`` in a fresh interpreter with ``KERAS_BACKEND=backend``; returns stdout.

    Fails the test with the subprocess' stderr when it exits non-zero.
    """
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"{backend} subprocess failed (rc={proc.returncode}):\n{proc.stderr[-4000:]}"
        )
    return proc.stdout


def random_image(h=32, w=32, seed=0, batch=None, channels=3):
    rng = np.random.default_rng(seed)
    shape = (h, w, channels) if batch is None else (batch, h, w, channels)
    return rng.random(shape, dtype=np.float32)
