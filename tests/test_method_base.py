"""The shared method bases (keras_style/methods/base.py): the optimisation loop that Gatys,
DeepDream and TV denoising run, and the feed-forward base's compile / inference / presets."""

import keras
import numpy as np
import pytest

import keras_style as ks
from keras_style.errors import ConfigError, OptimizationError
from keras_style.methods.base import FeedForwardModel, OptimizationLoop, OptimizationModel
from tests.helpers import random_image


class _Stopper(keras.callbacks.Callback):
    """Stops through ``self.model.stop_training`` after ``n`` steps and records what it saw."""

    def __init__(self, n):
        super().__init__()
        self.n, self.seen, self.images, self.began, self.ended = n, [], [], 0, 0

    def on_train_begin(self, logs=None):
        self.began += 1

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append((epoch, sorted(logs)))
        self.images.append(np.asarray(self.model.image).copy())
        if len(self.seen) >= self.n:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.ended += 1


def test_gatys_keras_callback_gets_a_model_and_stops_the_run():
    model = ks.get("gatys", backbone_weights=None)
    c, s = random_image(32, 32, seed=1), random_image(32, 32, seed=2)
    cb = _Stopper(3)
    out = model.stylize(c, s, steps=10, optimizer="adam", verbose=0, callbacks=[cb],
                        style_layers=["relu1_1", "relu2_1"])
    assert isinstance(cb.model, OptimizationModel) and cb.model.method is model
    assert [e for e, _ in cb.seen] == [0, 1, 2]  # stopped after 3 of 10 steps
    assert cb.seen[0][1] == ["content", "loss", "style", "tv"]
    assert cb.began == cb.ended == 1
    # model.image is the current image of each step (the last one is the result, before clipping)
    assert cb.images[0].shape == (1, 32, 32, 3)
    assert not np.allclose(cb.images[0], cb.images[2])
    np.testing.assert_allclose(np.clip(cb.images[-1][0], 0, 1), out, atol=1e-6)
    # the same run stopped by steps gives the same image
    again = model.stylize(c, s, steps=3, optimizer="adam", verbose=0, style_layers=["relu1_1", "relu2_1"])
    np.testing.assert_allclose(out, again, atol=1e-6)


def test_gatys_early_stopping_and_terminate_on_nan_work():
    model = ks.get("gatys", backbone_weights=None)
    c, s = random_image(32, 32, seed=3), random_image(32, 32, seed=4)
    # a huge learning rate makes the loss rise: EarlyStopping (patience 1) stops the run
    early = keras.callbacks.EarlyStopping(monitor="loss", patience=1)
    seen = []
    model.stylize(c, s, steps=30, optimizer="adam", learning_rate=5.0, verbose=0,
                  callbacks=[early, lambda step, img, logs: seen.append(step)],
                  style_layers=["relu1_1"], content_layers=["relu1_1"])
    assert early.stopped_epoch > 0 and len(seen) < 30


def test_scales_give_callbacks_the_image_of_each_scale():
    model = ks.get("gatys", backbone_weights=None)
    cb = _Stopper(100)
    model.stylize(random_image(32, 40, seed=5), random_image(32, 32, seed=6), scales=(16, 32), steps=[2, 2],
                  optimizer="adam", verbose=0, callbacks=[cb], style_layers=["relu1_1"])
    assert [im.shape for im in cb.images] == [(1, 16, 20, 3)] * 2 + [(1, 32, 40, 3)] * 2
    assert [e for e, _ in cb.seen] == [0, 1, 2, 3]


def test_deepdream_and_denoise_take_callbacks_and_stop():
    dream = ks.get("deepdream", backbone_weights=None)
    cb = _Stopper(2)
    dream.dream(random_image(48, 48, seed=7), layers={"relu2_2": 1.0}, octaves=2, steps=5, verbose=0,
                callbacks=[cb])
    assert [e for e, _ in cb.seen] == [0, 1] and cb.ended == 1
    steps = []
    ks.denoise_tv(random_image(24, 24, seed=8), weight=0.1, steps=5,
                  callbacks=[lambda step, img, logs: steps.append((step, sorted(logs))) or step >= 3])
    assert steps == [(1, ["fidelity", "loss", "tv"]), (2, ["fidelity", "loss", "tv"]), (3, ["fidelity", "loss", "tv"])]


def test_deepdream_nan_is_an_optimization_error(monkeypatch):
    from keras_style.methods.deepdream import deepdream as dd

    real = dd.value_and_grad

    def poisoned(fn, **kw):
        step = real(fn, **kw)
        calls = {"n": 0}

        def wrapped(x, *args):
            calls["n"] += 1
            loss, aux, g = step(x, *args)
            return (float("nan") if calls["n"] >= 3 else loss), aux, g

        return wrapped

    monkeypatch.setattr(dd, "value_and_grad", poisoned)
    with pytest.raises(OptimizationError, match="step 3 .DeepDream") as info:
        ks.get("deepdream", backbone_weights=None).dream(random_image(32, 32), layers=["relu2_2"], octaves=1, steps=5,
                                                verbose=0)
    assert info.value.last_good.shape == (32, 32, 3) and np.isfinite(info.value.last_good).all()


def test_loop_refuses_bad_callbacks_and_snapshot_without_folder():
    with pytest.raises(ConfigError, match="callbacks must be"):
        OptimizationLoop(callbacks=[3])
    with pytest.raises(ConfigError, match="snapshot_dir"):
        OptimizationLoop(snapshot_every=2)


def test_feed_forward_compile_auto_is_the_papers_adam():
    """``compile()`` with no optimizer gives each paper's optimizer, not Keras' RMSprop."""
    cases = {
        "johnson": 1e-3,  # Johnson et al. 2016: Adam 1e-3
        "johnson_sr": 1e-3,
        "multistyle": 1e-3,  # Dumoulin et al. / Magenta: Adam 1e-3
        "arbitrary_stylization": 1e-5,  # Ghiasi et al. / Magenta: Adam 1e-5
        "waifu2x_upconv7": 1e-4,  # converted SR networks: a fine-tuning rate (SuperResolutionModel)
    }
    from keras_style.registry import describe

    for name, lr in cases.items():
        model = ks.get(name, **(describe(name).get("test_config") or {}))
        assert isinstance(model, FeedForwardModel), name
        model.compile()
        opt = model.optimizer
        opt = getattr(opt, "inner_optimizer", opt)
        assert isinstance(opt, keras.optimizers.Adam), (name, type(opt))
        assert float(keras.ops.convert_to_numpy(opt.learning_rate)) == pytest.approx(lr), name
        model.compile(optimizer="sgd")
        assert isinstance(getattr(model.optimizer, "inner_optimizer", model.optimizer), keras.optimizers.SGD)


def test_feed_forward_from_preset_checks_the_class():
    from keras_style.methods.johnson.johnson_style_transfer import JohnsonStyleTransfer
    from keras_style.methods.multistyle.multi_style_transfer import MultiStyleTransfer

    m = JohnsonStyleTransfer.from_preset("johnson_great_wave")
    assert isinstance(m, JohnsonStyleTransfer)
    with pytest.raises(ConfigError, match="not a MultiStyleTransfer"):
        MultiStyleTransfer.from_preset("johnson_great_wave")


COMPILE_POLICY = """
import json
import keras, numpy as np, keras_style as ks
from keras_style.registry import entry
tiny = lambda name: ks.get(name, **entry(name).test_config)
adain, johnson = tiny("adain"), tiny("johnson")
out = {"adain_auto": adain.inference_jit_compile(), "johnson_auto": johnson.inference_jit_compile()}
johnson.stylize(np.random.default_rng(0).random((20, 24, 3), dtype=np.float32))
out["cached"] = sorted(str(k[1]) for k in johnson._compiled_fns)
johnson.jit_compile_inference = True
out["johnson_true"] = johnson.inference_jit_compile()
johnson.compile()
out["train_jit"] = bool(johnson.jit_compile)
print("RESULT", json.dumps(out))
"""


@pytest.mark.parametrize("backend", ["tensorflow", "torch", "jax"])
def test_inference_compile_policy(backend):
    """``"auto"``: XLA / jax.jit only where the method asks (AdaIN), never torch.compile
    (docs/backends.md); True is honoured on every backend; training jit only on jax."""
    from tests.helpers import run_in_backend

    line = [r for r in run_in_backend(backend, COMPILE_POLICY).splitlines() if r.startswith("RESULT ")][-1]
    got = __import__("json").loads(line[len("RESULT "):])
    assert got == {
        "adain_auto": backend != "torch", "johnson_auto": False, "cached": ["False"],
        "johnson_true": True, "train_jit": backend == "jax",
    }
    m = ks.get("johnson", **ks.registry.entry("johnson").test_config)
    m.jit_compile_inference = "yes"
    with pytest.raises(ConfigError, match="jit_compile_inference"):
        m.inference_jit_compile()
