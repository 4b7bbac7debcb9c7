"""No model file from a training run that did not train: the ``train`` and ``finetune`` commands
run with a check on every ``keras.Model.save`` that refuses (ConfigError, exit 1, nothing
written) a model whose optimizers took 0 steps, or whose weights hold NaN or Inf."""

from __future__ import annotations

import contextlib
import functools

from keras_style.errors import ConfigError


def _optimizers(model):
    import keras

    found = []
    for name in ("optimizer", "g_optimizer", "d_optimizer", "generator_optimizer",
                 "discriminator_optimizer"):
        try:
            opt = getattr(model, name, None)
        except Exception:
            continue
        if isinstance(opt, keras.optimizers.Optimizer) and all(opt is not o for o in found):
            found.append(opt)
    return found


def unsaveable(model) -> str | None:
    """Why ``model`` must not be written as a trained model, or None."""
    import numpy as np

    opts = _optimizers(model)
    if opts and all(int(np.asarray(o.iterations)) == 0 for o in opts):
        return (
            "0 training steps ran (the data gave no batches: are the images readable? "
            "`keras-style image-info FILE` checks one)"
        )
    for w in model.trainable_weights:
        if not np.all(np.isfinite(np.asarray(w))):
            return (
                f"the weights are not finite (NaN/Inf in {w.path}): training diverged; "
                "try a lower --learning-rate (it must be a positive number)"
            )
    return None


@contextlib.contextmanager
def guarded_saves():
    import keras

    original = keras.Model.save

    @functools.wraps(original)
    def save(self, filepath, *args, **kwargs):
        problem = unsaveable(self)
        if problem:
            raise ConfigError(f"No model written: {problem}.")
        return original(self, filepath, *args, **kwargs)

    keras.Model.save = save
    try:
        yield
    finally:
        keras.Model.save = original


def guard(run):
    """``run(args)`` with every model save checked."""

    @functools.wraps(run)
    def checked(args):
        with guarded_saves():
            return run(args)

    checked.save_guard = True
    return checked


def guard_parsers(parser):
    """Wrap the ``func`` of ``parser`` and of every sub-command below it."""
    import argparse

    func = parser.get_default("func")
    if func is not None and not getattr(func, "save_guard", False):
        parser.set_defaults(func=guard(func))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                guard_parsers(child)
