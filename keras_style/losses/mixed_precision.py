"""Mixed-precision training of the perceptual-loss models (see ``docs/mixed_precision.md``).

Two facts make Keras' defaults fail for these models under ``mixed_float16``:

- their losses are large: the Lua weights act on Caffe-preprocessed (0-255) VGG features,
  so a fresh Johnson network starts at a loss of 1e4-1e6 and its parameter gradients
  (biggest at the output layer's bias, a sum over every pixel) are about 6x the loss.
  Those are computed in float16 and overflow (> 65504) even with a loss scale of 1, so
  `keras.optimizers.LossScaleOptimizer` (initial scale 2**15, halved per overflowing step)
  skips 17 steps and more before the first update;
- the gradients reaching the deep VGG taps are 1e-6 of those at the input: in float16
  (smallest subnormal 6e-8) they vanish once the loss is scaled down.

So the loss network runs in float32 (`LOSS_NETWORK_DTYPE`: features, Grams and losses in
float32; only the trained network runs in float16), and `BoundedLossScaleOptimizer` caps
the scale so that the *scaled* loss stays below ``max_scaled_loss`` (a power of two, so the
unscaled update is exactly the float32 one). Under ``float32`` / ``mixed_bfloat16`` (bfloat16
has float32's range) nothing is wrapped.
"""

from __future__ import annotations

import math

import keras
from keras import ops

#: dtype of the frozen loss networks (VGG) of trainable models: always float32.
LOSS_NETWORK_DTYPE = "float32"


@keras.saving.register_keras_serializable(package="keras_style")
class BoundedLossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """`keras.optimizers.LossScaleOptimizer` whose scale never makes |loss x scale| exceed
    ``max_scaled_loss`` (rounded down to a power of two).

    Each step the dynamic scale becomes ``min(scale, 2**floor(log2(max_scaled_loss / |loss|)))``
    before the loss is scaled, so a model whose loss is 1e5 starts with a scale of about
    2**-7 instead of 2**15 and applies its first step. The usual dynamic rules still hold
    (halve and skip on non-finite gradients, double after ``dynamic_growth_steps`` good ones).
    The cap is stateful (TensorFlow and torch backends).
    """

    def __init__(self, inner_optimizer, max_scaled_loss=2.0**10, **kwargs):
        super().__init__(inner_optimizer, **kwargs)
        self.max_scaled_loss = float(max_scaled_loss)

    def _cap(self, value):
        """2**floor(log2(max_scaled_loss / |value|)) for a Python float (None if not finite)."""
        value = abs(float(value))
        if not math.isfinite(value):
            return None
        return 2.0 ** math.floor(math.log2(self.max_scaled_loss / max(value, 1e-30)))

    def scale_loss(self, loss):
        if not self.built:
            # First eager step (run_eagerly, torch): the scale variable does not exist yet and
            # is created from `initial_scale` when the gradients are applied, so cap that.
            try:
                cap = self._cap(ops.convert_to_numpy(loss))
            except Exception:  # a symbolic loss: Keras builds the optimizer before tracing
                return super().scale_loss(loss)
            if cap is not None:
                self.initial_scale = min(float(self.initial_scale), cap)
            return ops.multiply(loss, ops.cast(self.initial_scale, loss.dtype))
        value = ops.abs(ops.cast(ops.stop_gradient(loss), "float32"))
        cap = ops.power(
            2.0, ops.floor(ops.log2(self.max_scaled_loss / ops.maximum(value, 1e-30)))
        )
        ok = ops.logical_and(ops.isfinite(cap), cap > 0.0)
        scale = ops.where(ok, ops.minimum(self.dynamic_scale, cap), self.dynamic_scale)
        self.dynamic_scale.assign(scale)
        return ops.multiply(loss, ops.cast(scale, loss.dtype))

    def get_config(self):
        config = super().get_config()
        config["max_scaled_loss"] = self.max_scaled_loss
        return config


def wrap_optimizer(model, optimizer):
    """``optimizer`` wrapped in `BoundedLossScaleOptimizer` when ``model`` computes in
    float16 (``mixed_float16``) and it is not already loss-scaled; otherwise unchanged.
    Call it in ``compile`` before ``keras.Model.compile`` (which then does not wrap again)."""
    if optimizer is None or model.dtype_policy.name != "mixed_float16":
        return optimizer
    optimizer = keras.optimizers.get(optimizer)
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return BoundedLossScaleOptimizer(optimizer, name="loss_scale_optimizer")


def wrap_compile_args(model, args, kwargs):
    """``(args, kwargs)`` of a ``compile`` call with the optimizer (first positional or
    ``optimizer=``; Keras' default ``"rmsprop"`` when absent) passed through `wrap_optimizer`."""
    kwargs = dict(kwargs)
    if args:
        args = (wrap_optimizer(model, args[0]), *args[1:])
    else:
        kwargs["optimizer"] = wrap_optimizer(model, kwargs.get("optimizer", "rmsprop"))
    return tuple(args), kwargs


__all__ = ["BoundedLossScaleOptimizer", "LOSS_NETWORK_DTYPE", "wrap_compile_args", "wrap_optimizer"]
