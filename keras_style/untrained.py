"""Say so, once, when a network is used with the random weights it was built with.

A feed-forward model built with ``keras_style.get("johnson", ...)`` and never trained or
loaded turns a photo into noise (an untrained AdaIN decoder gives a near-black image), and
nothing in the output says why. Each model remembers a fingerprint of its own network's
weights when it is built; its ``stylize`` / ``upscale`` compares the current weights with it
and, when they are unchanged, warns once with `UntrainedModelWarning`. Loading a preset,
weights or a ``.keras`` file, or training with ``fit``, changes the weights, and the warning
never appears. The CLI refuses such models outright (`keras_style.cli._random_weights`).
"""

from __future__ import annotations

import warnings

import numpy as np

from keras_style.errors import UntrainedModelWarning

_ATTR = "_keras_style_initial_fingerprint"


def _fingerprint(variables):
    import keras

    out = []
    for v in variables:
        a = np.asarray(keras.ops.convert_to_numpy(v), dtype=np.float64).ravel()
        out.append((a.size, float(a[:256].sum()), float(np.abs(a).sum())))
    return tuple(out)


def _probe(network):
    w = list(network.trainable_weights) or list(network.weights)
    return w[:2] + w[-2:] if len(w) > 4 else w


def remember_initial_weights(model, network=None):
    """Record ``network``'s (default: ``model``'s) freshly initialised weights."""
    network = model if network is None else network
    try:
        fp = _fingerprint(_probe(network))
    except Exception:  # an unbuilt network: nothing to compare with later
        return
    object.__setattr__(model, _ATTR, (network, fp))


def warn_if_untrained(model, what=None):
    """Warn once (`UntrainedModelWarning`) if ``model``'s network still has its initial weights."""
    state = model.__dict__.get(_ATTR)
    if state is None:
        return
    network, fp = state
    try:
        same = _fingerprint(_probe(network)) == fp
    except Exception:
        return
    object.__setattr__(model, _ATTR, None)  # decided: check (and warn) only once
    if same:
        name = what or type(model).__name__
        warnings.warn(
            f"{name} has the random weights it was built with (never trained or loaded): its "
            "output is noise, not a style. Use a preset (`keras-style list --kind preset`, e.g. "
            'ks.get("multistyle_26")), load trained weights, or train it with fit() first.',
            UntrainedModelWarning,
            stacklevel=3,
        )


__all__ = ["remember_initial_weights", "warn_if_untrained", "UntrainedModelWarning"]
