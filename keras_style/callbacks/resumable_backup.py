"""`ResumableBackup`: resume an interrupted ``fit`` from the last finished epoch, even after a
kill in the middle of writing a checkpoint.

Keras' own `keras.callbacks.BackupAndRestore` writes its weights file and its epoch file in
place: a process killed while it writes them leaves a file that no later run can read (and
``double_checkpoint=True`` still writes the epoch file in place). Here every checkpoint is a
folder ``epoch-000012/`` (the weights file with the optimizers' variables, the epoch) written
under a temporary name and renamed into place in one step, so a checkpoint either exists
whole or not at all; the newest ``keep`` are kept. On ``fit`` it loads the newest
checkpoint that reads back, warns about any that does not, and makes ``fit`` continue at
the epoch after it, with the optimizer state (Adam's moments and step count) restored.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from pathlib import Path

import keras

from keras_style.errors import ConfigError
from keras_style.registry import register

_NAME = re.compile(r"^epoch-(\d{6,})$")


@register(
    "resumable_backup",
    "callback",
    aliases=("backup_and_restore",),
    test_config={"backup_dir": "/tmp/keras_style_resumable_backup_test"},
    notes="Atomic per-epoch checkpoints (weights + optimizer state); resumes after a kill at "
    "any moment, skipping a checkpoint that does not read back.",
)
class ResumableBackup(keras.callbacks.Callback):
    """Back up training every epoch; a rerun of the same ``fit`` resumes where it stopped.

    Args:
        backup_dir: folder for the checkpoints (created; one per training run).
        keep: how many of the newest checkpoints to keep (>= 1; 2 means the previous one
            is there if the newest cannot be read, e.g. a disk that filled up).
        delete_on_end: remove the folder when ``fit`` finishes normally (as Keras'
            `BackupAndRestore`), so the next run starts afresh.
        verbose: 1 prints where training resumed.

    Example:
    ```python
    cb = keras_style.callbacks.ResumableBackup("run.backup")
    model.fit(data, epochs=40, steps_per_epoch=100, callbacks=[cb])   # killed at epoch 10
    model.fit(data, epochs=40, steps_per_epoch=100, callbacks=[cb])   # continues at epoch 11
    ```
    """

    def __init__(self, backup_dir, keep=2, delete_on_end=True, verbose=1):
        super().__init__()
        if not backup_dir:
            raise ConfigError("ResumableBackup needs a backup_dir.")
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ConfigError(f"ResumableBackup: keep must be an int >= 1, got {keep!r}.")
        self.backup_dir = Path(backup_dir)
        self.keep = keep
        self.delete_on_end = bool(delete_on_end)
        self.verbose = verbose
        self.resumed_from = None  # the epoch training resumed after, or None

    # ------------------------------------------------------------------ files

    def checkpoints(self):
        """``[(epoch, folder), ...]`` of the finished checkpoints, newest first."""
        if not self.backup_dir.is_dir():
            return []
        found = []
        for d in self.backup_dir.iterdir():
            m = _NAME.match(d.name)
            if m and d.is_dir():
                found.append((int(m.group(1)), d))
        return sorted(found, reverse=True)

    def _remove_temporaries(self):
        if self.backup_dir.is_dir():
            for d in self.backup_dir.iterdir():
                if d.name.startswith(".tmp-"):  # a save that was interrupted
                    shutil.rmtree(d, ignore_errors=True)

    def _write(self, epoch):
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        final = self.backup_dir / f"epoch-{epoch:06d}"
        tmp = self.backup_dir / f".tmp-{os.getpid()}-epoch-{epoch:06d}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            # Keras' weights file holds the optimizers' variables too (Adam's moments and step)
            self.model.save_weights(str(tmp / "model.weights.h5"))
            (tmp / "state.json").write_text(json.dumps({"epoch": epoch}))
            if final.exists():  # the same epoch again (a rerun): replace it
                shutil.rmtree(final)
            os.replace(tmp, final)  # the checkpoint appears whole, or not at all
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        for _, old in self.checkpoints()[self.keep :]:
            shutil.rmtree(old, ignore_errors=True)

    def _read(self, folder):
        state = json.loads((folder / "state.json").read_text())
        epoch = int(state["epoch"])
        opt = getattr(self.model, "optimizer", None)
        if isinstance(opt, keras.optimizers.Optimizer) and not opt.built:
            opt.build(self.model.trainable_variables)  # so that its saved variables load
        self.model.load_weights(str(folder / "model.weights.h5"))
        return epoch

    # ------------------------------------------------------------------ callback hooks

    def on_train_begin(self, logs=None):
        self._remove_temporaries()
        found = self.checkpoints()
        problems = []
        for _, folder in found:
            try:
                got = self._read(folder)
            except Exception as e:  # a damaged checkpoint: say so, use the one before
                problems.append(f"{folder.name}: {' '.join(str(e).split())[:160] or type(e).__name__}")
                warnings.warn(
                    f"Backup {folder} could not be read ({problems[-1]}); trying an older one.",
                    stacklevel=2,
                )
                continue
            self.model._initial_epoch = got
            self.resumed_from = got
            if self.verbose:
                print(f"Resuming from the backup after epoch {got} ({folder}).", flush=True)
            return
        if found:
            raise ConfigError(
                f"No backup in {self.backup_dir} could be read ({'; '.join(problems)}). Delete "
                "the folder to start the training over."
            )

    def on_epoch_end(self, epoch, logs=None):
        self._write(epoch + 1)

    def on_train_end(self, logs=None):
        if self.delete_on_end and not getattr(self.model, "stop_training", False):
            shutil.rmtree(self.backup_dir, ignore_errors=True)


__all__ = ["ResumableBackup"]
