import textwrap
import warnings

import keras
import pytest

import keras_style as ks
from keras_style import registry
from keras_style.errors import ConfigError, RegistryError, UnknownNameError


@pytest.fixture
def temp_entries():
    added = []

    def add(name, *a, **kw):
        e = registry.register_object(name, *a, **kw)
        added.append(e.name)
        return e

    yield add
    for n in added:
        registry.unregister(n)


class Thing:
    """A thing for registry tests."""

    def __init__(self, size=3, colour="red"):
        self.size, self.colour = size, colour


def test_get_is_case_insensitive_with_aliases(temp_entries):
    temp_entries("test_thing", "layer", Thing, aliases=("ThingAlias",), test_config={})
    assert isinstance(ks.get("TEST_THING"), Thing)
    assert ks.get("thingalias", size=5).size == 5
    assert ks.get("test-thing").colour == "red"


def test_unknown_name_lists_three_closest(temp_entries):
    temp_entries("test_alpha_one", "loss", Thing, test_config={})
    temp_entries("test_alpha_two", "loss", Thing, test_config={})
    temp_entries("test_alpha_three", "loss", Thing, test_config={})
    with pytest.raises(UnknownNameError) as ei:
        ks.get("test_alpha_onf")
    msg = str(ei.value)
    assert "test_alpha_one" in msg and msg.count("'") >= 6
    assert isinstance(ei.value, ValueError)


def test_duplicate_registration_raises(temp_entries):
    temp_entries("test_dup", "metric", Thing, test_config={})
    with pytest.raises(RegistryError, match="already registered"):
        registry.register_object("TEST_DUP", "metric", Thing)
    with pytest.raises(RegistryError):
        registry.register_object("test_dup_other", "metric", Thing, aliases=("test_dup",))


def test_bad_kind_and_bad_name():
    with pytest.raises(ConfigError, match="kind"):
        registry.register_object("test_x", "widget", Thing)
    with pytest.raises(RegistryError, match="snake_case"):
        registry.register_object("bad name!", "layer", Thing)


def test_decorator_and_describe(temp_entries):
    @registry.register("test_decorated", "callback", test_config={"size": 1}, paper="https://arxiv.org/abs/0000")
    class Decorated(Thing):
        """One-line summary here.

        More text.
        """

    try:
        d = ks.describe("test_decorated")
        assert d["kind"] == "callback"
        assert d["summary"] == "One-line summary here."
        assert d["paper"].endswith("0000")
        assert d["defaults"] == {"size": 3, "colour": "red"}
        assert ks.names("test_deco*") == ["test_decorated"]
        assert ks.names("test_deco*", kind="loss") == []
    finally:
        registry.unregister("test_decorated")


def test_get_accepts_config_dict_class_and_instance(temp_entries):
    temp_entries("test_cfg", "layer", Thing, test_config={})
    t = ks.get({"class_name": "test_cfg", "config": {"size": 7}})
    assert t.size == 7
    assert ks.get(Thing, size=2).size == 2
    inst = Thing()
    assert ks.get(inst) is inst
    with pytest.raises(ConfigError):
        ks.get(inst, size=3)
    with pytest.raises(ConfigError):
        ks.get({"config": {}})
    # a Keras-serialized object goes through keras' own deserialisation
    layer = ks.get(keras.saving.serialize_keras_object(keras.layers.Dense(4)))
    assert isinstance(layer, keras.layers.Dense) and layer.units == 4


def test_names_sorted_naturally(temp_entries):
    for n in ("test_n10", "test_n2", "test_n1"):
        temp_entries(n, "layer", Thing, test_config={})
    assert ks.names("test_n*") == ["test_n1", "test_n2", "test_n10"]
    with pytest.raises(ConfigError):
        ks.names(kind="nope")


EXPECTED_KINDS = {
    "method": [
        "adain", "arbitrary_stylization", "deepdream", "finetune", "gatys", "johnson",
        "johnson_sr", "multistyle", "style_aware",
    ],
    "network": [
        "johnson_sr_network", "johnson_transformer", "multistyle_network", "rrdbnet",
        "waifu2x_upconv7",
    ],
    "preset": [
        "johnson_great_wave", "multistyle_26", "realesrgan_x4plus", "waifu2x_photo",
        "waifu2x_photo_denoise0",
    ],
}


def test_kinds_say_what_an_entry_is():
    assert registry.KINDS[:3] == ("method", "network", "preset") and "model" not in registry.KINDS
    for kind, expected in EXPECTED_KINDS.items():
        listed = ks.names(kind=kind)
        assert set(expected) <= set(listed), (kind, sorted(set(expected) - set(listed)))
        for n in expected:
            assert ks.describe(n)["kind"] == kind


def test_deprecated_kind_model_means_method_network_preset(temp_entries):
    with pytest.warns(DeprecationWarning, match="method.*network.*preset"):
        old = ks.names(kind="model")
    new = sorted(
        ks.names(kind="method") + ks.names(kind="network") + ks.names(kind="preset"),
        key=registry._natural_key,
    )
    assert old == new and "adain" in old and "johnson_transformer" in old
    # plugins that still register kind "model" keep working (stored as a method)
    with pytest.warns(DeprecationWarning, match="deprecated"):
        temp_entries("test_old_kind_model", "model", Thing, test_config={})
    assert ks.describe("test_old_kind_model")["kind"] == "method"
    with pytest.warns(DeprecationWarning):

        @registry.register("test_old_kind_deco", "model", test_config={})
        class OldPlugin(Thing):
            """An old plugin model."""

    try:
        assert ks.describe("test_old_kind_deco")["kind"] == "method"
    finally:
        registry.unregister("test_old_kind_deco")


def test_cli_list_kind_model_is_deprecated_alias(capsys):
    from keras_style.cli import main

    assert main(["list", "--kind", "preset", "--long"]) == 0
    out = capsys.readouterr().out
    row = next(ln for ln in out.splitlines() if ln.startswith("johnson_great_wave "))
    assert row.split()[1] == "preset"
    assert main(["list", "--kind", "model"]) == 0
    captured = capsys.readouterr()
    assert "johnson" in captured.out.split() and "johnson_great_wave" in captured.out.split()
    assert "deprecated" in captured.err and "method" in captured.err
    assert main(["info", "johnson_transformer"]) == 0
    assert "(network)" in capsys.readouterr().out


def _write_dist(root, dist, module, source, entry):
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[keras_style.plugins]\n{entry}\n")
    (info / "RECORD").write_text("")


def test_plugins_from_installed_distributions(tmp_path, monkeypatch):
    """A real distribution (.dist-info on sys.path) registers entries; a broken one only warns."""
    _write_dist(
        tmp_path,
        "ks_test_plugin",
        "ks_test_plugin",
        """
        from keras_style.registry import register

        @register("plugin_widget_layer", "layer", test_config={})
        class PluginWidget:
            '''A layer from a plugin.'''
        """,
        "widgets = ks_test_plugin",
    )
    _write_dist(
        tmp_path,
        "ks_broken_plugin",
        "ks_broken_plugin",
        "raise RuntimeError('boom from plugin')\n",
        "broken = ks_broken_plugin",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            errors = registry.load_plugins(force=True)
        assert "plugin_widget_layer" in ks.names(kind="layer")
        assert ks.describe("plugin_widget_layer")["summary"] == "A layer from a plugin."
        assert any("broken" in k for k in errors)
        assert any("ks_broken_plugin" in str(x.message) and "boom" in str(x.message) for x in w)
    finally:
        if "plugin_widget_layer" in registry._ENTRIES:
            registry.unregister("plugin_widget_layer")


def test_broken_plugin_never_breaks_import(tmp_path):
    """In a fresh interpreter, `import keras_style` works and warns once naming the plugin."""
    import os
    import subprocess
    import sys

    _write_dist(tmp_path, "ks_bad2", "ks_bad2", "raise ImportError('nope')\n", "bad = ks_bad2")
    env = dict(os.environ, PYTHONPATH=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="3")
    code = "import keras_style as ks; n = ks.names(); print('OK', isinstance(n, list))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "OK True" in proc.stdout
    assert proc.stderr.count("ks_bad2") >= 1
    assert "ks_bad2" in proc.stderr and "nope" in proc.stderr
