"""Shared test helpers: layer/loss round trips and small utilities.

- ``run_layer_test(layer, inputs)``: build, call, ``get_config`` -> ``from_config`` round trip
  (same config, same output with copied weights), and a ``.keras`` save/load of a tiny
  functional model around the layer giving the same output after reload.
- ``run_loss_test(loss, y_true, y_pred)``: finite scalar, zero on identical inputs,
  config round trip, works inside a compiled model's save/load.
- ``run_model_test(model, inputs, fit_data=..., tmp_path=...)``: finite output of the expected
  shape (and of ``stylize``/``upscale``), one ``fit`` step that changes a weight with a finite
  loss, and a ``.keras`` round trip with the same weights and outputs.
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


# ----------------------------------------------------------------------------- models


def _first_array(x):
    if isinstance(x, dict):
        return _first_array(next(iter(x.values())))
    if isinstance(x, (list, tuple)):
        return _first_array(x[0])
    return x


def _num_samples(x):
    return int(np.shape(_first_array(x))[0])


def _overrides(model, *names):
    """Whether ``type(model)`` overrides one of ``names`` of `keras.Model` (own training logic)."""
    return any(getattr(type(model), n, None) is not getattr(keras.Model, n, None) for n in names)


def _assert_finite(x, what):
    x = _to_numpy(x)
    if isinstance(x, dict):
        for k, v in x.items():
            _assert_finite(v, f"{what}[{k}]")
        return
    if isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            _assert_finite(v, f"{what}[{i}]")
        return
    assert np.all(np.isfinite(np.asarray(x))), f"{what} is not finite"


class _StepCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1


def run_model_test(
    model,
    inputs,
    *,
    fit_data=None,
    tmp_path,
    atol=1e-5,
    fit=True,
    save=True,
    expected_shape=None,
    image=None,
    image_kwargs=None,
    expected_image_shape=None,
    compile_fn=None,
    compile_kwargs=None,
    loss="mse",
    loss_key="loss",
    reload_method=True,
):
    """Inference, one training step and a ``.keras`` round trip of a model.

    Returns a namespace: ``output`` (the call's output, after the fit step when ``fit``),
    ``method_output`` (stylize/upscale's, or None), ``history`` (the fit's, or None) and
    ``loaded`` (the reloaded model, or None), for the caller's own further checks.

    - inference: ``model(inputs, training=False)`` is finite with shape ``expected_shape``
      (default: the shape of the first input array); a model with a ``stylize`` or
      ``upscale`` method must be given ``image`` (HxWx3), and
      ``model.upscale(image, **image_kwargs)`` (else ``stylize``) is finite with shape
      ``expected_image_shape`` (default ``image.shape``).
    - ``fit``: compiles with ``compile_fn(model)`` when given, else ``model.compile(**compile_kwargs)``
      (the model's own default optimizer) when the model has its own training logic
      (``compute_loss`` / ``train_step``), else Adam(1e-3) with ``loss``; runs exactly one
      ``fit`` step on ``fit_data`` (a `tf.data.Dataset` - one batch is taken -, an ``(x, y)``
      tuple, or ``x`` alone: arrays / dicts of arrays, all in one batch); asserts one step ran,
      every logged value (``loss_key`` among them) is finite and a trainable weight changed.
    - ``save``: ``model.save(tmp_path / "m.keras")`` and ``keras.saving.load_model``: the same
      class, the same weights (in order, exactly) and the same outputs (call, and
      stylize/upscale unless ``reload_method=False``) within ``atol``.
    """
    import pathlib
    import types

    image_kwargs = dict(image_kwargs or {})
    res = hist = loaded = None

    def forward(m):
        return _to_numpy(m(inputs, training=False))

    out = forward(model)
    _assert_finite(out, "model output")
    want = tuple(expected_shape) if expected_shape is not None else tuple(np.shape(_first_array(inputs)))
    assert tuple(np.shape(out)) == want, f"output shape {np.shape(out)} != expected {want}"

    method = "upscale" if hasattr(model, "upscale") else "stylize" if hasattr(model, "stylize") else None
    if method is not None:
        assert image is not None, f"{type(model).__name__} has {method}(): pass image= to check it"

    def run_method(m):
        return np.asarray(getattr(m, method)(image, **image_kwargs))

    if method is not None:
        res = run_method(model)
        _assert_finite(res, f"{method}() output")
        want_img = tuple(expected_image_shape) if expected_image_shape is not None else tuple(np.shape(image))
        assert res.shape == want_img, f"{method}() shape {res.shape} != expected {want_img}"

    if fit:
        assert fit_data is not None, "fit=True needs fit_data"
        if compile_fn is not None:
            compile_fn(model)
        elif _overrides(model, "compute_loss", "train_step"):
            model.compile(**dict(compile_kwargs or {}))
        else:
            model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, **dict(compile_kwargs or {}))
        trainable = model.trainable_weights
        assert trainable, f"{type(model).__name__} has no trainable weights to fit"
        before = [np.array(keras.ops.convert_to_numpy(v)) for v in trainable]
        counter = _StepCounter()
        kw = dict(epochs=1, verbose=0, callbacks=[counter])
        if hasattr(fit_data, "take") and hasattr(fit_data, "element_spec"):  # tf.data
            hist = model.fit(fit_data.take(1), shuffle=False, **kw)
        elif isinstance(fit_data, tuple):
            x, y = fit_data
            hist = model.fit(x, y, batch_size=_num_samples(x), shuffle=False, **kw)
        else:
            hist = model.fit(fit_data, batch_size=_num_samples(fit_data), shuffle=False, **kw)
        assert counter.steps == 1, f"fit ran {counter.steps} steps, expected exactly 1"
        logs = hist.history
        assert loss_key in logs, f"{loss_key!r} not logged by fit: {sorted(logs)}"
        for k, v in logs.items():
            assert np.all(np.isfinite(np.asarray(v, dtype="float64"))), f"fit logged non-finite {k}: {v}"
        changed = [
            v.path
            for v, b in zip(trainable, before)
            if not np.array_equal(np.asarray(keras.ops.convert_to_numpy(v)), b)
        ]
        assert changed, "one fit step changed no trainable weight"
        out = forward(model)
        _assert_finite(out, "model output after fit")
        if method is not None:
            res = run_method(model)

    if save:
        path = pathlib.Path(tmp_path) / "m.keras"
        model.save(path)
        loaded = keras.saving.load_model(path)
        assert type(loaded) is type(model), f"reloaded a {type(loaded).__name__}"
        a, b = model.weights, loaded.weights
        assert len(a) == len(b), f"{len(a)} weights saved, {len(b)} reloaded"
        for va, vb in zip(a, b):
            xa, xb = keras.ops.convert_to_numpy(va), keras.ops.convert_to_numpy(vb)
            assert xa.shape == xb.shape, f"{va.path}: shape {xa.shape} reloaded as {xb.shape}"
            np.testing.assert_array_equal(xb, xa, err_msg=f"{va.path} differs after reload")
        assert_allclose(forward(loaded), out, atol=atol, msg=".keras round trip output")
        if method is not None and reload_method:
            assert_allclose(run_method(loaded), res, atol=atol, msg=f".keras round trip {method}()")
    return types.SimpleNamespace(output=out, method_output=res, history=hist, loaded=loaded)
