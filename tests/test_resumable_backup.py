"""ResumableBackup: a killed fit resumes from the last whole checkpoint, with the optimizer state."""

import os
import warnings

import keras
import numpy as np
import pytest

import keras_style as ks
from keras_style.callbacks import ResumableBackup
from keras_style.errors import ConfigError


def _model():
    keras.utils.set_random_seed(3)
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    m.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    return m


def _data():
    rng = np.random.default_rng(0)
    x = rng.random((16, 4), dtype=np.float32)
    return x, x.sum(axis=1, keepdims=True)


class _Kill(keras.callbacks.Callback):
    """Stands in for a SIGKILL: raises at the start of epoch ``at`` (after the backups)."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


def _fit(m, cb, extra=()):
    x, y = _data()
    m.fit(x, y, batch_size=4, epochs=6, shuffle=False, callbacks=[cb, *extra], verbose=0)


def test_resume_equals_uninterrupted(tmp_path):
    ref = _model()
    _fit(ref, ResumableBackup(tmp_path / "ref", verbose=0))
    assert not (tmp_path / "ref").exists()  # removed after a finished fit
    m = _model()
    cb = ResumableBackup(tmp_path / "b", verbose=0)
    with pytest.raises(KeyboardInterrupt):
        _fit(m, cb, [_Kill(4)])
    assert [e for e, _ in cb.checkpoints()] == [4, 3]  # keep=2
    m2 = _model()  # a new process builds the model again
    cb2 = ResumableBackup(tmp_path / "b", verbose=0)
    _fit(m2, cb2)
    assert cb2.resumed_from == 4
    assert int(m2.optimizer.iterations) == int(ref.optimizer.iterations) == 24
    for a, b in zip(ref.weights + ref.optimizer.variables, m2.weights + m2.optimizer.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_damaged_newest_checkpoint_falls_back_and_temporaries_go(tmp_path):
    m = _model()
    cb = ResumableBackup(tmp_path / "b", verbose=0)
    with pytest.raises(KeyboardInterrupt):
        _fit(m, cb, [_Kill(3)])
    newest = tmp_path / "b" / "epoch-000003" / "model.weights.h5"
    newest.write_bytes(newest.read_bytes()[:100])  # killed mid-write on a filesystem without atomic rename
    (tmp_path / "b" / ".tmp-999-epoch-000004").mkdir()  # a save interrupted before its rename
    cb2 = ResumableBackup(tmp_path / "b", verbose=0, delete_on_end=False)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        _fit(_model(), cb2)
    assert cb2.resumed_from == 2
    assert any("epoch-000003" in str(w.message) and "older" in str(w.message) for w in got)
    assert not (tmp_path / "b" / ".tmp-999-epoch-000004").exists()
    # nothing readable at all: a clear error naming the folder, not a raw OSError
    for _, d in cb2.checkpoints():
        (d / "model.weights.h5").write_bytes(b"")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ConfigError, match="Delete the folder"):
            _fit(_model(), ResumableBackup(tmp_path / "b", verbose=0))


def test_bad_arguments():
    with pytest.raises(ConfigError, match="keep"):
        ResumableBackup("x", keep=0)
    with pytest.raises(ConfigError, match="backup_dir"):
        ResumableBackup("")
    assert isinstance(ks.get("resumable_backup", backup_dir=os.devnull + "_x"), ResumableBackup)
