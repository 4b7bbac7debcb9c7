"""Per-variable learning-rate multipliers for any Keras 3 optimizer.

d2l's "Fine-Tuning" recipe trains the new output layer with a learning rate ten times the
backbone's (PyTorch parameter groups: ``{'params': head, 'lr': lr * 10}``).  Keras 3 has no
parameter groups, but every optimizer funnels its update through
``_backend_update_step(grads, variables, learning_rate)`` (the generic loop, TensorFlow's
distributed update and torch's parallel update all take the learning rate as an argument),
so a subclass that calls it once per group of variables, with ``learning_rate * multiplier``,
gives each group its own learning rate.  This scales the *update*, not the gradient, so it is
exact for SGD (with or without momentum) and for Adam-like optimizers alike (scaling an
Adam gradient would change nothing).  Decoupled weight decay keeps the base learning rate.

```python
opt = with_learning_rate_multipliers(keras.optimizers.SGD(1e-3), {"classifier/kernel": 10.0})
```
"""

from __future__ import annotations

import math
import numbers

import keras

from keras_style.errors import ConfigError

_CLASSES: dict = {}


def check_multiplier(value, what="head_learning_rate_multiplier"):
    """A positive finite number -> float; anything else -> ConfigError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{what} must be a positive number (e.g. 10), got {value!r}.")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{what} must be a positive finite number (e.g. 10), got {value!r}.")
    return value


def _variable_path(variable):
    return getattr(variable, "path", None) or getattr(variable, "name", "")


def multiplier_class(base_cls):
    """The registered subclass of optimizer class ``base_cls`` that takes
    ``learning_rate_multipliers={variable path: multiplier}``."""
    if getattr(base_cls, "_ks_learning_rate_multipliers", False):
        return base_cls
    if base_cls in _CLASSES:
        return _CLASSES[base_cls]
    if not (isinstance(base_cls, type) and issubclass(base_cls, keras.optimizers.Optimizer)):
        raise ConfigError(f"Expected a keras.optimizers.Optimizer class, got {base_cls!r}.")

    def __init__(self, *args, learning_rate_multipliers=None, **kwargs):
        base_cls.__init__(self, *args, **kwargs)
        self.learning_rate_multipliers = {
            str(path): check_multiplier(m, f"learning rate multiplier of {path!r}")
            for path, m in dict(learning_rate_multipliers or {}).items()
        }

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        groups: dict = {}
        for grad, var in zip(grads, trainable_variables):
            m = self.learning_rate_multipliers.get(_variable_path(var), 1.0)
            gs, vs = groups.setdefault(m, ([], []))
            gs.append(grad)
            vs.append(var)
        for m, (gs, vs) in groups.items():
            lr = learning_rate if m == 1.0 else learning_rate * m
            base_cls._backend_update_step(self, gs, vs, lr)

    def get_config(self):
        config = base_cls.get_config(self)
        config["learning_rate_multipliers"] = dict(self.learning_rate_multipliers)
        return config

    name = f"{base_cls.__name__}WithLRMultipliers"
    cls = type(
        name,
        (base_cls,),
        {
            "__init__": __init__,
            "_backend_update_step": _backend_update_step,
            "get_config": get_config,
            "_ks_learning_rate_multipliers": True,
            "__module__": __name__,
            "__doc__": f"`keras.optimizers.{base_cls.__name__}` with per-variable learning-rate multipliers.",
        },
    )
    keras.saving.register_keras_serializable(package="keras_style", name=name)(cls)
    _CLASSES[base_cls] = cls
    return cls


def with_learning_rate_multipliers(optimizer, multipliers):
    """A copy of ``optimizer`` (an instance, or a name such as ``"sgd"``) whose variables
    whose path is in ``multipliers`` learn at ``learning_rate * multipliers[path]``.

    The copy is built from ``optimizer.get_config()`` (an unbuilt optimizer: call it before
    training).  Multipliers must be positive numbers (ConfigError otherwise).
    """
    optimizer = keras.optimizers.get(optimizer)
    multipliers = {
        str(p): check_multiplier(m, f"learning rate multiplier of {p!r}") for p, m in multipliers.items()
    }
    if optimizer.built:
        raise ConfigError("with_learning_rate_multipliers needs an optimizer that has not been used yet.")
    base = type(optimizer)
    public = getattr(keras.optimizers, base.__name__, None)
    if isinstance(public, type) and isinstance(optimizer, public):
        base = public  # e.g. torch's parallel Adam -> keras.optimizers.Adam (one registered name)
    cls = multiplier_class(base)
    config = optimizer.get_config()
    config["learning_rate_multipliers"] = {**config.get("learning_rate_multipliers", {}), **multipliers}
    return cls.from_config(config)


# The built-in optimizers are registered at import, so that a saved, compiled model reloads
# its optimizer in a fresh process.
for _name in ("SGD", "Adam", "AdamW", "Adamax", "Nadam", "RMSprop", "Adagrad", "Adadelta",
              "Adafactor", "Ftrl", "Lion", "Lamb", "Muon"):
    if hasattr(keras.optimizers, _name):
        multiplier_class(getattr(keras.optimizers, _name))

__all__ = ["check_multiplier", "multiplier_class", "with_learning_rate_multipliers"]
