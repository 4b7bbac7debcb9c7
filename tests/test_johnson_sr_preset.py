"""examples/train_sr.py, the script that trains a johnson_sr preset: held-out photos left
out, atomic checkpoints, --resume continuing with its step count, and a preset manifest
that `keras_style` loads and that upscales x4."""

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np

import keras_style as ks

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("train_sr", ROOT / "examples" / "train_sr.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _photos(folder, names, size=40):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for n in names:
        ks.save_image(rng.random((size, size + 8, 3)).astype("float32"), folder / n)


def test_train_resume_and_bundle(tmp_path, capsys):
    data, held = tmp_path / "content", tmp_path / "held"
    _photos(data, ["a.png", "b.png", "c.png"])
    _photos(held, ["c.png"], size=48)  # c.png is held out: validation only
    work, out = tmp_path / "work", tmp_path / "registry"
    common = ["--data", str(data), "--exclude-from", str(held), "--name", "tiny_sr", "--width", "0.125",
              "--residual-blocks", "1", "--patch-size", "32", "--batch-size", "2", "--checkpoint-every", "2",
              "--no-jit", "--work-dir", str(work), "--out-dir", str(out)]
    train = _script()
    assert train.main(common + ["--max-steps", "2", "--no-bundle"]) == 0
    assert "2 training photos; held out: c.png" in capsys.readouterr().out
    state = json.loads((work / "state.json").read_text())
    assert state["steps"] == 2 and not list(work.glob(".*tmp*")) and not out.exists()
    assert state["history"][-1]["val_bicubic_psnr"] > 0

    assert train.main(common + ["--max-steps", "4", "--resume", "--lr", "2e-4"]) == 0
    assert "resumed from" in capsys.readouterr().out
    state = json.loads((work / "state.json").read_text())
    assert state["steps"] == 4 and [s["to_step"] for s in state["stages"]] == [2, 4]
    # the resumed stage trains at its own --lr, not the learning rate saved with the optimizer
    with np.load(work / "optimizer.npz") as z:
        scalars = [float(z[k]) for k in z.files if z[k].shape == () and z[k].dtype.kind == "f"]
    assert np.isclose(scalars, 2e-4).any() and not np.isclose(scalars, 1e-3).any(), scalars

    m = json.loads((out / "tiny_sr.json").read_text())
    w = out / m["source"]["bundled"]
    assert m["preset"] is True and m["loads_into"]["name"] == "johnson_sr"
    assert hashlib.sha256(w.read_bytes()).hexdigest() == m["sha256"] and m["license"].startswith("Apache-2.0")
    prov = m["provenance"]
    assert prov["steps"] == 4 and prov["script"] == "examples/train_sr.py" and "sigma 1.0" in prov["degradation"]
    assert "8px inputs" in prov["degradation"] and all(np.isfinite(v) for v in prov["final_losses"].values())

    # the manifest's config rebuilds the network, which loads the bundled weights and upscales x4
    model = ks.get("johnson_sr", **m["loads_into"]["config"])
    model.load_preset_weights(str(w))
    img = np.random.default_rng(1).random((16, 16, 3)).astype("float32")
    big = model.upscale(img)
    assert big.shape == (64, 64, 3) and np.isfinite(big).all() and 0.0 <= big.min() <= big.max() <= 1.0


def test_nothing_left_to_train_writes_nothing(tmp_path, capsys):
    data = tmp_path / "content"
    _photos(data, ["a.png", "b.png"])
    out = tmp_path / "registry"
    rc = _script().main(["--data", str(data), "--width", "0.125", "--residual-blocks", "1", "--patch-size", "32",
                         "--max-steps", "0", "--no-jit", "--work-dir", str(tmp_path / "w"), "--out-dir", str(out)])
    assert rc == 1 and "nothing written" in capsys.readouterr().out and not out.exists()


HELD_OUT = ("astronaut.jpg", "chelsea.jpg", "coffee.jpg", "grace_hopper.jpg", "rocket.jpg")


def test_bundled_johnson_sr_x4_beats_bicubic_on_held_out_photos():
    """The shipped preset (examples/train_sr.py, docs/methods/johnson.md) on 128 px crops of
    photos it never saw, degraded as in training: higher PSNR (Y, 4 px border) than bicubic
    (0.96 dB more on average for the shipped 8,690-step preset; 0.02 to 1.79 per photo)."""
    import os
    import warnings

    import keras
    import tensorflow as tf

    from keras_style import weights as wreg
    from keras_style.untrained import UntrainedModelWarning

    m = wreg.manifest("johnson_sr_x4")
    prov = m["provenance"]
    assert m["preset"] and prov["script"] == "examples/train_sr.py" and "sigma 1.0" in prov["degradation"]
    assert all(name in prov["data"] for name in HELD_OUT)  # left out of training
    assert os.path.getsize(wreg.resolve("johnson_sr_x4")) < 5 * 2**20
    model = ks.get("johnson_sr_x4")
    gains = []
    for name in HELD_OUT:
        img = ks.load_image(str(ROOT / "examples" / "images" / name))[..., :3]
        t, left = (img.shape[0] - 128) // 2, (img.shape[1] - 128) // 2
        hr = np.ascontiguousarray(img[t : t + 128, left : left + 128], dtype="float32")
        lr = ks.data.degrade(tf.constant(hr[None]), scale=4, blur_sigma=1.0).numpy()[0]
        bicubic = np.clip(keras.ops.convert_to_numpy(
            keras.ops.image.resize(lr[None], (128, 128), interpolation="bicubic", antialias=False))[0], 0, 1)
        with warnings.catch_warnings():
            warnings.simplefilter("error", UntrainedModelWarning)
            out = model.upscale(lr, histogram_matching=False)
        assert out.shape == hr.shape
        psnr = lambda a: float(ks.metrics.psnr(hr, a, crop_border=4))  # noqa: E731
        gains.append(psnr(out) - psnr(bicubic))
    # the mean gain, and no photo worse (a flat crop such as the rocket's sky gains little)
    assert np.mean(gains) > 0.4 and min(gains) > -0.05, gains
