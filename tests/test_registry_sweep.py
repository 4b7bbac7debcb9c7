"""Every registered name builds from its test config (later issues only add entries with one)."""

import keras
import pytest

import keras_style as ks

NAMES = ks.names()


def test_registry_is_not_empty():
    assert NAMES, "nothing registered"


@pytest.mark.parametrize("name", NAMES)
def test_entry_builds_from_test_config(name):
    entry = ks.registry.entry(name)
    assert entry.test_config is not None, f"{name} was registered without a test_config"
    obj = ks.get(name, **entry.test_config)
    assert obj is not None
    d = ks.describe(name)
    assert d["kind"] in ks.registry.KINDS
    assert d["summary"], f"{name} has no one-line summary (docstring)"
    if isinstance(obj, (keras.layers.Layer, keras.losses.Loss)) and not isinstance(obj, keras.Model):
        config = obj.get_config()
        clone = type(obj).from_config(config)
        assert clone.get_config() == config
