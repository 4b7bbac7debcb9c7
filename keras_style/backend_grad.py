"""The one place in keras_style that asks a backend for a gradient outside ``fit()``.

Optimisation-based methods (Gatys, TV denoising, DeepDream) need the value and the
gradient of a scalar objective with respect to an *image*, compiled, with frozen network
weights.  ``value_and_grad(fn)`` returns ``step(x, *args) -> (loss, aux, grad)`` for the
active Keras backend:

- tensorflow: ``tf.function`` (XLA with ``jit_compile=True``) around a ``GradientTape``
  that watches only ``x`` (``watch_accessed_variables=False``), so the gradients of frozen
  VGG kernels are never computed (docs/design.md, "Performance");
- torch: ``torch.autograd.grad`` with respect to ``x`` only (no compilation);
- jax: ``jax.jit(jax.value_and_grad(fn, has_aux=True))``.

``fn(x, *args)`` must return ``(loss, aux)`` where ``loss`` is a scalar tensor and ``aux``
a dict of scalar tensors (e.g. the loss terms). ``args`` may be nested dicts / lists of
arrays (e.g. Gatys' targets keyed by layer name).  Everything inside ``fn`` is ``keras.ops``.
Returned values are NumPy (float32 arrays / Python floats), so the optimisers that call
``step`` are plain NumPy and backend-independent.
"""

from __future__ import annotations

import keras
import numpy as np


def _to_numpy_aux(aux):
    return {k: float(keras.ops.convert_to_numpy(v)) for k, v in aux.items()}


def value_and_grad(fn, *, jit_compile="auto"):
    """Compile ``fn(x, *args) -> (loss, aux)`` into ``step(x, *args) -> (loss, aux, grad)``.

    Args:
        fn: objective written with ``keras.ops``; ``x`` is a float32 tensor.
        jit_compile: ``True``/``False``/``"auto"``. On tensorflow ``"auto"`` means a plain
            ``tf.function`` graph: XLA compiles once per input shape (12-45 s for VGG19 at
            256 px here) and was not faster per step on the shared 2-core CPU
            (benchmarks/gatys_step.py), although docs/design.md ("Performance") has ~10% on an idle one.
            Ignored on torch (eager autograd); on jax the step is always jitted.

    Returns:
        ``step(x, *args)``: ``x`` and ``args`` are NumPy arrays; returns
        ``(loss: float, aux: dict[str, float], grad: np.ndarray float32 shaped like x)``.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tensorflow(fn, jit_compile)
    if backend == "torch":
        return _torch(fn)
    if backend == "jax":
        return _jax(fn)
    # numpy / openvino backends have no gradients.
    from keras_style.errors import ConfigError

    raise ConfigError(
        f"The {backend!r} Keras backend cannot compute gradients; set KERAS_BACKEND to "
        "tensorflow, torch or jax for optimisation-based methods."
    )


def _tensorflow(fn, jit_compile):
    import tensorflow as tf

    jit = False if jit_compile == "auto" else bool(jit_compile)

    @tf.function(jit_compile=jit, reduce_retracing=True)
    def compiled(x, *args):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(x)
            loss, aux = fn(x, *args)
        grad = tape.gradient(loss, x)
        return loss, aux, grad

    def step(x, *args):
        x = tf.convert_to_tensor(np.asarray(x, dtype=np.float32))
        args = tf.nest.map_structure(tf.convert_to_tensor, list(args))
        loss, aux, grad = compiled(x, *args)
        return float(loss.numpy()), _to_numpy_aux(aux), grad.numpy()

    step.compiled = compiled
    return step


def _torch(fn):
    import torch
    from keras.src.backend.torch.core import get_device

    def step(x, *args):
        device = get_device()
        xt = torch.as_tensor(np.asarray(x, dtype=np.float32), device=device).requires_grad_(True)
        targs = keras.tree.map_structure(lambda a: torch.as_tensor(np.asarray(a), device=device), list(args))
        with torch.enable_grad():
            loss, aux = fn(xt, *targs)
            (grad,) = torch.autograd.grad(loss, [xt])
        aux = {k: float(v.detach().cpu()) for k, v in aux.items()}
        return float(loss.detach().cpu()), aux, grad.detach().cpu().numpy()

    return step


def _jax(fn):
    import jax

    compiled = jax.jit(jax.value_and_grad(fn, has_aux=True))

    def step(x, *args):
        (loss, aux), grad = compiled(np.asarray(x, dtype=np.float32), *args)
        return float(loss), _to_numpy_aux(aux), np.asarray(grad)

    return step


__all__ = ["value_and_grad"]
