"""Every method on the torch and jax backends, in one fresh interpreter per backend
(tests/helpers.run_in_backend): the feed-forward models' compiled inference and one fit step
(keras_style/methods/base.py FeedForwardModel), the image-optimisation methods through
backend_grad.value_and_grad (OptimizationLoop), on the tiny test configs of the real
architectures. TensorFlow runs the rest of the suite."""

import pytest
from helpers import run_in_backend

CODE = """
import os, warnings
import numpy as np, keras, keras_style as ks
from keras_style.registry import entry
warnings.simplefilter("ignore")
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
img = lambda h, w, n=None: rng.random((h, w, 3) if n is None else (n, h, w, 3), dtype=np.float32)

def tiny(name, **kw):
    return ks.get(name, **{**entry(name).test_config, **kw})

def changed(model, fit):
    before = [np.array(v) for v in model.trainable_weights]
    hist = fit()
    after = [np.array(v) for v in model.trainable_weights]
    loss = hist.history.get("loss", hist.history.get("generator_loss"))[-1]
    return bool(np.isfinite(loss)) and any(not np.allclose(a, b) for a, b in zip(before, after))

c, s = img(32, 40), img(32, 32)
x = img(32, 32, 2)
out = {}
skip = set(os.environ.get("KS_SKIP", "").split(","))
m = tiny("johnson"); m.compile(run_eagerly=False)
out["johnson"] = (m.stylize(c).shape, m.stylize(c, tile=16, overlap=16).shape, changed(m, lambda: m.fit(x, epochs=1, batch_size=2, verbose=0)))
m = tiny("multistyle"); m.compile()
out["multistyle"] = (m.stylize(c, style=1).shape, changed(m, lambda: m.fit(x, epochs=1, batch_size=2, verbose=0)))
m = tiny("arbitrary_stylization"); m.compile()
out["arbitrary"] = (m.stylize(c, s).shape, changed(m, lambda: m.fit({"content": x, "style": img(32, 32, 2)}, epochs=1, batch_size=2, verbose=0)))
if "adain" not in skip:
    m = tiny("adain"); m.jit_compile_inference = False; m.compile(jit_compile=False)
    out["adain"] = (m.stylize(c, s).shape, changed(m, lambda: m.fit({"content": x, "style": img(32, 32, 2)}, epochs=1, batch_size=2, verbose=0)))
lo = img(8, 8, 2); hr = np.repeat(np.repeat(lo, 4, axis=1), 4, axis=2)
m = tiny("johnson_sr"); m.compile()
out["johnson_sr"] = (m.upscale(lo[0]).shape, changed(m, lambda: m.fit(lo, hr, epochs=1, batch_size=2, verbose=0)))
g = ks.get("gatys", backbone_weights=None)
stops = []
out["gatys"] = (g.stylize(c, s, steps=3, verbose=0, style_layers=["relu1_1", "relu2_1"], optimizer="adam",
                          callbacks=[lambda step, image, logs: stops.append(step)]).shape, stops)
if "gatys_lbfgs" not in skip:
    out["gatys_lbfgs"] = (g.stylize(c, s, steps=2, verbose=0, style_layers=["relu1_1"]).shape,)
out["deepdream"] = (ks.get("deepdream", backbone_weights=None).dream(c, layers=["relu2_2"], octaves=2, steps=2, verbose=0).shape,)
out["denoise"] = (ks.denoise_tv(c, steps=3).shape,)
print(keras.backend.backend(), sorted(out.items()))
"""

EXPECTED = {
    "adain": ((32, 40, 3), True),
    "arbitrary": ((32, 40, 3), True),
    "deepdream": ((32, 40, 3),),
    "denoise": ((32, 40, 3),),
    "gatys": ((32, 40, 3), [1, 2, 3]),
    "gatys_lbfgs": ((32, 40, 3),),
    "johnson": ((32, 40, 3), (32, 40, 3), True),
    "johnson_sr": ((32, 32, 3), True),
    "multistyle": ((32, 40, 3), True),
}


# torch: AdaIN and Gatys' L-BFGS already run there in test_adain.py / test_gatys.py
SKIP = {"torch": {"adain", "gatys_lbfgs"}, "jax": set()}


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_every_method_runs_and_trains_on(backend, monkeypatch):
    monkeypatch.setenv("KS_SKIP", ",".join(sorted(SKIP[backend])))
    out = run_in_backend(backend, CODE, timeout=600).strip().splitlines()[-1]
    want = {k: v for k, v in EXPECTED.items() if k not in SKIP[backend]}
    assert out == f"{backend} {sorted(want.items())}", out
