"""The built wheel ships weights_registry/ and resolves manifests outside the source tree."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_in_fresh_venv_resolves_bundled_manifests(tmp_path):
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    wheel = next(dist.glob("keras_style-*.whl"))

    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "keras_style/weights_registry/vgg19_imagenet.json" in names
    for manifest in (ROOT / "weights_registry").glob("*.json"):
        assert f"keras_style/weights_registry/{manifest.name}" in names

    venv = tmp_path / "venv"
    # system site packages provide keras/tensorflow; keras_style itself comes from the wheel only
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    inst = subprocess.run(
        [str(py), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=600,
    )
    assert inst.returncode == 0, inst.stderr[-2000:]
    code = r"""
import sys, json
sys.path = [p for p in sys.path if not p.rstrip('/').endswith('/work/main') and p not in ('', '.')]
import keras_style as ks
from keras_style import weights
from pathlib import Path
pkg = Path(ks.__file__).resolve().parent
assert 'site-packages' in str(pkg) and str(pkg).startswith(sys.prefix), pkg
dirs = weights.registry_dirs()
assert dirs and dirs[0] == pkg / 'weights_registry', dirs
out = {}
for n in weights.names():
    m = weights.manifest(n)
    out[n] = m['manifest_path']
    if 'bundled' in m['source']:
        p = weights.resolve(n)
        assert str(p).startswith(str(pkg)), p
print(json.dumps(out))
"""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([str(py), "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "vgg19_imagenet" in found and "site-packages" in found["vgg19_imagenet"]
