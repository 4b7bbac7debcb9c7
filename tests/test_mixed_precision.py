"""Mixed-precision training applies its first step and lowers the loss (docs/mixed_precision.md).

Each trainable feed-forward model is built from its registry test config under
``mixed_float16`` and ``mixed_bfloat16``, then trained for 5 steps on one fixed 32 px
batch: the trained weights must change on step 1 (Keras' default loss scale of 2**15
skipped the first steps of these large perceptual losses) and the loss must fall.
"""

import keras
import numpy as np
import pytest

import keras_style as ks
from keras_style.losses.mixed_precision import BoundedLossScaleOptimizer
from keras_style.registry import describe

POLICIES = ("mixed_float16", "mixed_bfloat16")
SIZE = 32


def _batch(rng, n=2, size=SIZE):
    return rng.random((n, size, size, 3)).astype("float32")


def _johnson(rng):
    m = ks.get("johnson", **describe("johnson")["test_config"])
    return m, m.transform, _batch(rng), 1e-2


def _johnson_sr(rng):
    m = ks.get("johnson_sr", **describe("johnson_sr")["test_config"])
    hr = _batch(rng, size=SIZE)
    lr = hr.reshape(2, SIZE // 4, 4, SIZE // 4, 4, 3).mean(axis=(2, 4))
    return m, m.transform, (lr, hr), 2e-3


def _adain(rng):
    m = ks.get("adain", **describe("adain")["test_config"])
    return m, m.decoder, (_batch(rng), _batch(rng)), 1e-3


def _multistyle(rng):
    m = ks.get("multistyle", **describe("multistyle")["test_config"])
    w = np.eye(m.num_styles, dtype="float32")[[0, 1]]
    return m, m.network, (_batch(rng), w), 1e-2


def _arbitrary(rng):
    m = ks.get("arbitrary_stylization", **describe("arbitrary_stylization")["test_config"])
    return m, m, (_batch(rng), _batch(rng)), 1e-3


BUILDERS = {
    "johnson": _johnson,
    "johnson_sr": _johnson_sr,
    "adain": _adain,
    "multistyle": _multistyle,
    "arbitrary_stylization": _arbitrary,
}


def _train(builder, policy, steps=5):
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    model, trained, data, lr = builder(rng)
    assert model.compute_dtype == policy.split("_")[1]
    # eager: 5 steps at 32 px cost less than tracing the train step
    model.compile(optimizer=keras.optimizers.Adam(lr), run_eagerly=True)
    x, y = (data[0], data[1]) if builder is _johnson_sr else (data, None)
    before = [np.array(v.numpy()) for v in trained.trainable_variables]
    losses, changed = [], None
    for step in range(steps):
        logs = model.train_on_batch(x, y, return_dict=True)
        losses.append(float(logs["loss"]))
        if step == 0:
            changed = max(
                float(np.abs(b - np.asarray(v.numpy())).max())
                for b, v in zip(before, trained.trainable_variables)
            )
    return model, losses, changed


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_first_step_applies_and_loss_falls(name, policy):
    model, losses, changed = _train(BUILDERS[name], policy)
    assert np.all(np.isfinite(losses)), losses
    assert int(model.optimizer.iterations) == 5, "steps were skipped (non-finite float16 gradients)"
    assert changed > 0.0, "step 1 left the weights unchanged"
    assert losses[-1] < losses[0], losses
    if policy == "mixed_float16":
        assert isinstance(model.optimizer, BoundedLossScaleOptimizer)


def test_keras_default_loss_scale_skips_first_step():
    """The failure the bounded scale fixes: Keras' own LossScaleOptimizer (2**15) skips step 1."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    keras.utils.set_random_seed(0)
    model, trained, x, _ = _johnson(np.random.default_rng(0))
    model.compile(optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-2)), run_eagerly=True)
    before = [np.array(v.numpy()) for v in trained.trainable_variables]
    model.train_on_batch(x)
    assert int(model.optimizer.iterations) == 0
    assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, trained.trainable_variables))


def test_bounded_scale_caps_the_scaled_loss_and_serializes():
    opt = BoundedLossScaleOptimizer(keras.optimizers.SGD(0.1), max_scaled_loss=1024.0)
    v = keras.Variable(np.ones(3, "float32"))
    opt.build([v])
    scaled = float(opt.scale_loss(keras.ops.convert_to_tensor(75307.7)))
    scale = float(opt.dynamic_scale.numpy())
    assert scale == 2.0**-7 and scaled <= 1024.0  # 2**floor(log2(1024 / 75307.7))
    assert float(opt.scale_loss(keras.ops.convert_to_tensor(0.001))) == pytest.approx(0.001 * scale)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert isinstance(again, BoundedLossScaleOptimizer)
    assert again.max_scaled_loss == 1024.0


def test_float32_policy_is_untouched():
    model, _, _, _ = _johnson(np.random.default_rng(0))
    opt = keras.optimizers.Adam(1e-3)
    model.compile(optimizer=opt)
    assert model.optimizer is opt
    assert model.loss_network.compute_dtype == "float32"


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("branch", ["generator", "discriminator"])
def test_style_aware_first_step_applies_and_loss_falls(branch, policy):
    """The style-aware GAN's own two-optimiser step under mixed precision: the branch that
    trains (G when discr_success >= win_rate, else D) changes its weights at step 1 and its
    loss falls over 5 steps, all finite."""
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    cfg = dict(describe("style_aware")["test_config"], win_rate=0.0 if branch == "generator" else 0.5)
    model = ks.get("style_aware", **cfg)
    assert model.compute_dtype == policy.split("_")[1]
    model.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(1e-3), run_eagerly=True)
    if branch == "discriminator":
        model.discr_success.assign(0.0)  # D's turn until its success rate reaches 0.5
    variables = model.generator_trainable_variables if branch == "generator" else model.discriminator.trainable_variables
    optimizer = model.g_optimizer if branch == "generator" else model.d_optimizer
    before = [np.array(v.numpy()) for v in variables]
    data = {"photo": rng.random((2, 64, 64, 3)).astype("float32"), "art": rng.random((2, 64, 64, 3)).astype("float32")}
    losses = []
    for step in range(5):
        logs = model.train_on_batch(data, return_dict=True)
        losses.append(float(logs[f"{branch}_loss"]))
        if step == 0:
            assert max(float(np.abs(b - np.asarray(v.numpy())).max()) for b, v in zip(before, variables)) > 0.0
    assert np.all(np.isfinite(losses)), losses
    assert int(optimizer.iterations) == 5, "the other branch ran, or steps were skipped"
    assert losses[-1] < losses[0], losses
