"""Every trainable method gives the single-device update on several devices, through Keras'
and TensorFlow's own engines (keras_style/distribution.py, docs/distribution.md):

- ``tf.distribute.MirroredStrategy`` over 2 logical CPUs;
- ``keras.distribution.DataParallel`` on JAX over 2 virtual CPU devices
  (``XLA_FLAGS=--xla_force_host_platform_device_count=2``);
- ``tf.distribute.MultiWorkerMirroredStrategy`` in 2 worker processes on localhost (TF_CONFIG).

Each check trains one step with plain SGD at a learning rate that moves the weights by
1e-3..1e-1 (so a wrongly scaled gradient would show), from the same initial weights, on the
same global batch of 4, and compares every weight (trainable, batch-norm statistics, the
style-aware success rate) with the single-device step within 1e-5.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest
from helpers import run_in_backend

# method -> SGD learning rate (tiny test configs; chosen so that the step is real, see above)
METHODS = {
    "johnson": 1e-3,  # paper default: batch norm (SyncBatchNormalization)
    "johnson_sr": 1e-2,
    "multistyle": 1e-1,
    "arbitrary_stylization": 1e-4,
    "adain": 1e-5,
    "style_aware": 1e-5,
    "finetune": 1e-1,
    "realesrgan_x4plus": 1e-2,
    "waifu2x_photo": 1e-2,
}

COMMON = """
import os, sys, json, warnings
import numpy as np, keras, keras_style as ks
from keras_style.registry import entry
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
img = lambda n, h, w: rng.random((n, h, w, 3), dtype=np.float32)
x, c2, lo, hr, lo2 = img(4, 32, 32), img(4, 32, 32), img(4, 8, 8), img(4, 32, 32), img(4, 16, 16)
DATA = {
    "johnson": (x, None), "multistyle": (x, None), "johnson_sr": (lo, hr),
    "arbitrary_stylization": ({"content": x, "style": c2}, None), "adain": ({"content": x, "style": c2}, None),
    "style_aware": ({"photo": x, "art": c2}, None), "finetune": (x, np.array([0, 0, 0, 1])),
    "realesrgan_x4plus": (lo, hr), "waifu2x_photo": (lo2, hr),
}
METHODS = json.loads(os.environ["KS_METHODS"])

def build(name, lr):
    keras.utils.set_random_seed(0)
    m = ks.get(name, **entry(name).test_config)
    xs, ys = DATA[name]
    if name in ("realesrgan_x4plus", "waifu2x_photo"):
        m(xs[:1])  # build now (inside the strategy's scope), so that the weights can be snapshot
    if name == "style_aware":
        m.compile(g_optimizer=keras.optimizers.SGD(lr), d_optimizer=keras.optimizers.SGD(lr))
    elif name == "finetune":
        from keras_style.methods.finetune.fine_tune_classifier import compile_finetune
        compile_finetune(m, optimizer=keras.optimizers.SGD(lr))
    else:
        m.compile(optimizer=keras.optimizers.SGD(lr))
    return m

class Snap(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.trainable = [np.array(v) for v in self.model.trainable_weights]

def step(m, name, dataset=None):
    snap = Snap()
    if dataset is not None:
        m.fit(dataset, epochs=1, verbose=0, callbacks=[snap])
    else:
        xs, ys = DATA[name]
        m.fit(xs, ys, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[snap])
    update = max(float(np.max(np.abs(np.array(a) - b))) for a, b in zip(m.trainable_weights, snap.trainable))
    return update, [np.array(v) for v in m.weights]

def report(name, update, single, several):
    diff = max(float(np.max(np.abs(a - b))) if a.size else 0.0 for a, b in zip(single, several))
    print("RESULT", json.dumps({"name": name, "update": update, "diff": diff, "n": len(single)}), flush=True)
"""

MIRRORED = COMMON + """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
for name, lr in METHODS.items():
    xs, ys = DATA[name]
    ds = lambda: tf.data.Dataset.from_tensor_slices(xs if ys is None else (xs, ys)).batch(4)
    update, single = step(build(name, lr), name, ds())
    with mirrored.scope():
        m = build(name, lr)
    assert mirrored.num_replicas_in_sync == 2
    _, several = step(m, name, ds())
    report(name, update, single, several)
"""

DATA_PARALLEL = COMMON + """
import jax
assert len(jax.devices()) == 2, jax.devices()
dp = keras.distribution.DataParallel(devices=jax.devices())
for name, lr in METHODS.items():
    keras.distribution.set_distribution(None)
    update, single = step(build(name, lr), name)
    keras.distribution.set_distribution(dp)
    _, several = step(build(name, lr), name)
    keras.distribution.set_distribution(None)
    report(name, update, single, several)
"""


def _results(out):
    rows = [json.loads(line[len("RESULT "):]) for line in out.splitlines() if line.startswith("RESULT ")]
    return {r["name"]: r for r in rows}


def _check(results, methods=METHODS):
    assert set(results) == set(methods), f"missing: {sorted(set(methods) - set(results))}"
    for name, r in results.items():
        assert r["n"] > 0, name
        assert r["update"] >= 1e-3, f"{name}: the step moved the weights by only {r['update']:.2g}"
        assert r["diff"] <= 1e-5, f"{name}: 2 devices differ from 1 by {r['diff']:.3g} (update {r['update']:.3g})"


def test_mirrored_strategy_gives_the_single_device_update(monkeypatch):
    monkeypatch.setenv("KS_METHODS", json.dumps(METHODS))
    _check(_results(run_in_backend("tensorflow", MIRRORED, timeout=600)))


# The JAX check covers the two kinds of training code: FeedForwardModel's compute_loss through
# Keras' JAX trainer, jit-compiled (Johnson, with batch norm: the other feed-forward models
# train through the same code) and the style-aware model's own stateless two-optimiser step.
JAX_METHODS = ("johnson", "style_aware")


def test_jax_data_parallel_gives_the_single_device_update(monkeypatch):
    monkeypatch.setenv("KS_METHODS", json.dumps({k: METHODS[k] for k in JAX_METHODS}))
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    _check(_results(run_in_backend("jax", DATA_PARALLEL, timeout=600)), JAX_METHODS)


# ----------------------------------------------------------------------------- several processes

WORKER = COMMON + """
import tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()
assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
name, lr = "johnson", METHODS["johnson"]
options = tf.data.Options()
options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
dataset = tf.data.Dataset.from_tensor_slices(DATA[name][0]).batch(4).with_options(options)
with strategy.scope():
    m = build(name, lr)
update, weights = step(m, name, dataset)
np.savez(os.environ["KS_OUT"], *weights)
print("update", update)
"""


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_multi_worker_mirrored_two_processes(tmp_path):
    """Two TensorFlow worker processes on localhost (TF_CONFIG), each with one CPU, train one
    Johnson step on the global batch (each worker reads its half): both end with the weights
    of the single-device step."""
    import numpy as np

    methods = json.dumps({"johnson": METHODS["johnson"]})
    cluster = {"worker": [f"localhost:{p}" for p in _free_ports(2)]}
    procs = []
    for i in range(2):
        env = dict(
            os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", KS_METHODS=methods,
            KS_OUT=str(tmp_path / f"worker{i}.npz"),
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
        )
        procs.append(subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(WORKER)], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        ))
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail("MultiWorkerMirroredStrategy workers did not finish in 300 s")
        assert p.returncode == 0, err[-3000:]
        outs.append(out)
    env = dict(os.environ, KS_METHODS=methods, KS_OUT=str(tmp_path / "single.npz"))
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(COMMON + """
update, weights = step(build("johnson", METHODS["johnson"]), "johnson")
np.savez(os.environ["KS_OUT"], *weights)
print("update", update)
""")], env={**env, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert float(proc.stdout.split()[-1]) >= 1e-3
    ref = np.load(tmp_path / "single.npz")
    for i in range(2):
        got = np.load(tmp_path / f"worker{i}.npz")
        assert len(got.files) == len(ref.files) > 0
        for k in ref.files:
            np.testing.assert_allclose(got[k], ref[k], atol=1e-5, err_msg=f"worker {i} {k}")
