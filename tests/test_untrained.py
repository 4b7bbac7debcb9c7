"""Stylizing with the random weights a network was built with warns, once; trained or
loaded weights never warn."""

import warnings

import numpy as np
import pytest

import keras_style as ks
from keras_style import registry
from keras_style.errors import UntrainedModelWarning

NAMES = ["johnson", "multistyle", "arbitrary_stylization", "adain"]


def _call(m, name, img):
    if name == "arbitrary_stylization":
        return m.stylize(img, img)
    if name == "adain":
        return m.stylize(img, img)
    return m.stylize(img)


def _untrained_warnings(fn):
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        fn()
    return [w for w in got if issubclass(w.category, UntrainedModelWarning)]


@pytest.mark.parametrize("name", NAMES)
def test_random_weights_warn_once_loaded_weights_never(name, rng):
    img = rng.random((32, 32, 3), dtype=np.float32)
    m = ks.get(name, **(registry.entry(name).test_config or {}))
    first = _untrained_warnings(lambda: _call(m, name, img))
    assert len(first) == 1 and "random weights" in str(first[0].message)
    assert "preset" in str(first[0].message)
    assert _untrained_warnings(lambda: _call(m, name, img)) == []  # once
    # the same network with other (e.g. trained or loaded) weights: no warning
    m2 = ks.get(name, **(registry.entry(name).test_config or {}))
    net = {"johnson": "transform", "multistyle": "network", "arbitrary_stylization": "transformer",
           "adain": "decoder"}[name]
    net = getattr(m2, net)
    net.set_weights([w * 0.9 + 0.01 for w in net.get_weights()])
    assert _untrained_warnings(lambda: _call(m2, name, img)) == []


def test_presets_do_not_warn(rng):
    from keras_style import weights as wreg

    if "multistyle_26" not in wreg.names() or not wreg.status("multistyle_26").get("available"):
        pytest.skip("multistyle_26 is not available here (keras-style[offline])")
    m = ks.get("multistyle_26")
    assert _untrained_warnings(lambda: m.stylize(rng.random((24, 24, 3), dtype=np.float32), style=3)) == []
