"""The built wheel ships weights_registry/ and resolves manifests outside the source tree."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _dependency_dirs():
    """The running interpreter's site-packages directories (venv, base and user), minus the source tree."""
    import site

    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    out = []
    for d in dirs:
        p = Path(d).resolve()
        if p.is_dir() and p != ROOT and str(p) not in out:
            out.append(str(p))
    return out


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
    # A plain venv (no --system-site-packages: run from inside a venv, that would expose the bare
    # base interpreter, without keras or TensorFlow). The running interpreter's site-packages
    # provide the dependencies through a .pth file: its lines are appended to sys.path as plain
    # paths, so the .pth files *inside* them (e.g. an editable keras_style) are not processed and
    # keras_style itself comes from the wheel only.
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    venv_site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()
    deps = _dependency_dirs()
    assert deps, "no site-packages directory found for the running interpreter"
    (Path(venv_site) / "_keras_style_test_deps.pth").write_text("\n".join(deps) + "\n")
    inst = subprocess.run(
        [str(py), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=600,
    )
    assert inst.returncode == 0, inst.stderr[-2000:]
    code = r"""
import sys, json
sys.path = [p for p in sys.path if p.rstrip('/') != ROOT and p not in ('', '.')]
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
    sources = m.get('sources') or [m.get('source') or {}]
    if any('bundled' in s for s in sources):
        p = weights.resolve(n)
        assert str(p).startswith(str(pkg)), p
print(json.dumps(out))
"""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("PYTHONPATH", None)
    code = f"ROOT = {str(ROOT)!r}\n" + code
    proc = subprocess.run([str(py), "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "vgg19_imagenet" in found and "site-packages" in found["vgg19_imagenet"]
