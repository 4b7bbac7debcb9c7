"""The two bases every method stands on (docs/design.md, "Method bases").

- `FeedForwardModel`: a ``keras.Model`` whose network maps an image to an image (Johnson et
  al.'s style and super-resolution networks, the 26-style network, Ghiasi et al.'s
  arbitrary network, AdaIN). It gives ``compile(optimizer="auto")`` with the paper's
  optimizer, one compiled inference path that works on every Keras backend (`compiled_call`,
  tiled through `keras_style.tiling` when asked), `preview` and `from_preset`.
- `OptimizationLoop`: the loop of the methods that optimise an image (Gatys, DeepDream, TV
  denoising, Ruder et al.'s frames): a progress bar, NaN/Inf handling that keeps the last
  good image, snapshots, plain callables and Keras callbacks. Keras callbacks get a real
  ``keras.Model`` (`OptimizationModel`) as ``self.model``: its ``image`` variable holds the
  current image and ``stop_training = True`` stops the run, as in ``fit``.

```python
from keras_style.methods.base import OptimizationLoop
loop = OptimizationLoop(names=["loss"], callbacks=[keras.callbacks.EarlyStopping("loss")], verbose=1)
loop.begin(x0.shape)
x, stopped = loop.run(optimizer, steps=100)        # optimizer: .step() -> (loss, aux), .x
loop.end()
```
"""

from __future__ import annotations

import os

import keras
import numpy as np
from keras import ops

from keras_style.errors import ConfigError, ImageError, OptimizationError
from keras_style.optimizers.lbfgs import NonFiniteError

# --------------------------------------------------------------------------------------
# feed-forward models


class _Compiled(keras.Model):
    """``predict_on_batch`` around a function of a model's layers: Keras compiles it per
    backend (a ``tf.function`` on tensorflow, ``jax.jit`` on jax, ``no_grad`` eager on torch)."""

    def __init__(self, fn, name="compiled_inference"):
        super().__init__(name=name)
        self._fn_ = fn

    def call(self, x):
        return self._fn_(x)


def _reducible(out):
    """A step's logs as Keras can reduce them across workers (`logs_for_reduction`); on JAX a
    step returns ``(logs, state)`` and is left alone."""
    if keras.backend.backend() != "tensorflow":
        return out
    from keras_style.distribution import logs_for_reduction

    return logs_for_reduction(out)


class FeedForwardModel(keras.Model):
    """Base of the feed-forward image-to-image methods.

    Subclasses set:

    - ``paper_optimizer()``: the optimizer ``compile(optimizer="auto")`` gives (each
      method's paper or official code, cited there);
    - ``_prepare_compile()``: work to do before compiling (build the loss network outside
      any traced function);
    - ``transform``: the network `preview` and `_run` apply (or override them).

    Inference goes through `compiled_call(key, fn, x)`: one compiled function per key,
    reused across calls. ``jit_compile_inference`` is ``"auto"`` (the method's
    ``_auto_jit_inference`` on tensorflow and jax; eager on torch, where ``torch.compile``
    costs 20-50 s per input size on 2 CPU cores, docs/backends.md), or True / False on every backend.
    """

    #: floor of the input side `_run` accepts (the network's own minimum also counts)
    _min_size = 4
    #: ``"auto"``, True or False: see the class docstring
    jit_compile_inference = "auto"
    #: what ``"auto"`` means on tensorflow (XLA) and jax (``jax.jit``)
    _auto_jit_inference = False

    # ---------------------------------------------------------------- training

    def paper_optimizer(self):
        """The optimizer of the method's paper; Adam(1e-3) unless a subclass says otherwise
        (Johnson et al. 2016, §4: Adam, learning rate 1e-3)."""
        return keras.optimizers.Adam(1e-3)

    def _prepare_compile(self):
        """Called by `compile` before Keras compiles (e.g. build the loss network)."""

    def compile(self, optimizer="auto", *args, **kwargs):
        """``optimizer="auto"`` (or ``None``, or ``"adam"``) gives `paper_optimizer`; any
        other optimizer or Keras name is used as is. ``jit_compile="auto"`` (the default)
        is True on jax (which otherwise runs the step op by op) and False on tensorflow and
        torch (XLA / ``torch.compile`` compile the loss network per input shape, slowly on
        CPU; docs/backends.md). Mixed precision gets a loss scale (docs/mixed_precision.md)."""
        from keras_style.losses.mixed_precision import wrap_optimizer

        if optimizer is None or (isinstance(optimizer, str) and optimizer.lower() in ("auto", "adam")):
            optimizer = self.paper_optimizer()
        elif isinstance(optimizer, str):
            optimizer = keras.optimizers.get(optimizer)
        self._prepare_compile()
        if kwargs.get("jit_compile", "auto") == "auto":
            kwargs["jit_compile"] = keras.backend.backend() == "jax"
        return super().compile(wrap_optimizer(self, optimizer), *args, **kwargs)

    def train_step(self, *args):
        return _reducible(super().train_step(*args))

    def test_step(self, *args):
        return _reducible(super().test_step(*args))

    def compile_from_config(self, config):
        """A loaded model is not re-compiled: compiling builds the loss network (which may
        need its weights file); call ``compile()`` yourself to train a loaded model."""
        return None

    def call(self, inputs, training=None):
        """The network (``self.transform``) on a batch; models with other inputs override it."""
        return self.transform(inputs, training=training)

    # ---------------------------------------------------------------- inference

    def compiled_call(self, key, fn, x):
        """``fn(x)`` through a compiled function cached under ``key`` (NumPy out). ``x``: an
        array or a tuple/dict of arrays; a new input shape retraces on tensorflow/jax."""
        cache = self.__dict__.setdefault("_compiled_fns", {})
        jit = self.inference_jit_compile()
        runner = cache.get((key, jit))
        if runner is None:
            label = "_".join(str(k) for k in key) if isinstance(key, tuple) else str(key)
            runner = _Compiled(fn, name=f"{self.name}_{label}")
            runner.compile(jit_compile=jit)
            cache[(key, jit)] = runner
        out = runner.predict_on_batch(x)
        return keras.tree.map_structure(lambda t: np.asarray(t), out)

    def inference_jit_compile(self):
        """The ``jit_compile`` inference runs with on this backend (see the class docstring).

        ``"auto"`` never compiles with ``torch.compile``: one 256 px Johnson call costs
        20-50 s to compile and then saves at most 0.1 s per call, so it pays only after hundreds
        of same-size calls (``benchmarks/torch_compile.py``, docs/backends.md). Set
        ``model.jit_compile_inference = True`` for such runs (a long video, a big folder)."""
        v = self.jit_compile_inference
        if v == "auto":
            return False if keras.backend.backend() == "torch" else bool(self._auto_jit_inference)
        if v not in (True, False):
            raise ConfigError(f"jit_compile_inference must be 'auto', True or False, got {v!r}.")
        return bool(v)

    def reset_inference_cache(self):
        """Forget the compiled inference functions (after the network changed structure)."""
        self.__dict__["_compiled_fns"] = {}

    def _pad_input(self, x):
        """The input the network sees: ``x`` unchanged (override where the original pads)."""
        return x

    def _min_input_size(self):
        return max(int(self._min_size), int(getattr(self.transform, "min_input_size", 1) or 1))

    @property
    def _out_scale(self):
        return 1

    def _infer(self, x):
        """The network on an NHWC batch (NumPy), compiled."""
        transform = self.transform
        return self.compiled_call("transform", lambda t: transform(t, training=False), np.asarray(x, "float32"))

    def _plan_tile(self, image, tile, overlap, align=None):
        """``tile`` for a stylize call on ``image`` (HxWxC): as given, one piece for 0, and for
        None the automatic choice (`keras_style.memory.choose_tile`: pieces, with an
        `AutoTileWarning`, only when one piece would not fit)."""
        from keras_style import memory

        net = memory.tiled_network(self)
        align = int(getattr(net, "stride", 1) or 1) if align is None else int(align)
        h, w = int(image.shape[0]), int(image.shape[1])
        return memory.choose_tile(self, h, w, tile, overlap=overlap, align=align, net=net)

    def _run(self, x, tile=None, overlap=64, verbose=0):
        """The network on an NHWC NumPy batch, whole or in tiles (`keras_style.tiling`), cropped
        to ``_out_scale`` x the input size.

        The image is fed as it is (no padding to a multiple of the stride: the original codes,
        ``fast_neural_style.lua`` and pytorch/examples ``neural_style.py stylize``, do not pad
        either) and the output, which the strides round up, is cropped. Instance-norm
        statistics are therefore those of the original network on that image. A model whose
        original code pads overrides `_pad_input`."""
        from keras_style.tiling import tiled_apply

        h, w = x.shape[1], x.shape[2]
        need = self._min_input_size()
        if min(h, w) < need:
            raise ImageError(
                f"The image is {h}x{w} pixels; the network needs at least {need} px on each "
                "side (its stride, and more than the 4 px its first 9x9 conv reflection-pads); "
                "resize it first (size=...)."
            )
        stride = getattr(self.transform, "stride", 1)
        xp = self._pad_input(x)
        if tile:
            y = tiled_apply(self.transform, xp, tile=int(tile), overlap=int(overlap), align=stride, verbose=verbose)
        else:
            y = self._infer(xp)
        return np.asarray(y[:, : h * self._out_scale, : w * self._out_scale, :], "float32")

    def preview(self, images):
        """Outputs of the network on an NHWC batch in [0, 1] (clipped), for
        `keras_style.callbacks.StylizedPreview`."""
        x = np.asarray(ops.convert_to_numpy(images), "float32")
        if x.ndim == 3:
            x = x[None]
        return np.clip(self._run(x), 0.0, 1.0)

    @classmethod
    def from_preset(cls, name, **kwargs):
        """A bundled or converted preset (`keras_style.presets`) that is an instance of this
        class, e.g. ``JohnsonStyleTransfer.from_preset("johnson_great_wave")``."""
        from keras_style import presets

        model = presets.load(name, **kwargs)
        if not isinstance(model, cls):
            raise ConfigError(
                f"Preset {name!r} is a {type(model).__name__}, not a {cls.__name__}; "
                f"load it with keras_style.get({name!r})."
            )
        return model


# --------------------------------------------------------------------------------------
# optimisation methods


class OptimizationMethod:
    """Base of the methods that optimise an image through a frozen backbone (Gatys, DeepDream):
    the backbone and its weights (``backbone_weights``; ``weights`` is the deprecated name,
    keras_style/deprecation.py), the pooling, XLA for the step, and the config round trip.
    Subclasses validate the choice in ``__init__`` and then call `_set_backbone`; their loops
    run through `OptimizationLoop`."""

    def _set_backbone(self, backbone, backbone_weights, pooling, jit_compile):
        self.backbone = backbone
        self.backbone_weights = backbone_weights
        self.pooling = pooling
        self.jit_compile = jit_compile
        self._extractors = {}

    @property
    def weights(self):
        """Old name of `backbone_weights` (keras_style/deprecation.py)."""
        return self.backbone_weights

    def get_config(self):
        return {
            "backbone": self.backbone,
            "backbone_weights": self.backbone_weights,
            "pooling": self.pooling,
            "jit_compile": self.jit_compile,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "weights" in config:  # configs written before the rename
            config.setdefault("backbone_weights", config.pop("weights"))
        return cls(**config)

    def __repr__(self):
        return (f"{type(self).__name__}(backbone={self.backbone!r}, backbone_weights={self.backbone_weights!r}, "
                f"pooling={self.pooling!r})")


class OptimizationModel(keras.Model):
    """What a Keras callback of an optimisation method sees as ``self.model``.

    ``image``: a non-trainable variable (1, H, W, 3) holding the current image (updated
    after every step); ``method``: the Gatys / DeepDream / ... instance; ``step``: the
    global step; set ``stop_training = True`` to stop after the current step (what
    ``keras.callbacks.EarlyStopping`` and ``TerminateOnNaN`` do).
    """

    def __init__(self, method=None, shape=(1, 1, 1, 3), name="optimized_image"):
        super().__init__(name=name)
        self.method = method
        self.step = 0
        self.stop_training = False
        self.image = self.add_weight(shape=tuple(int(s) for s in shape), initializer="zeros",
                                     trainable=False, name="image")

    def call(self, inputs=None):
        return self.image


class OptimizationLoop:
    """One optimisation run of an image, possibly in stages (scales, octaves).

    Args:
        names: the loss terms shown in the progress bar and passed in ``logs`` (``"loss"``
            first; an optimizer's ``aux`` dict supplies the others).
        callbacks: plain callables ``fn(step, image, logs)`` (return ``True`` to stop) and/or
            ``keras.callbacks.Callback`` objects. Keras callbacks get `OptimizationModel` as
            ``model``; each step is one epoch of one batch (``on_epoch_begin``,
            ``on_train_batch_begin``, ``on_train_batch_end``, ``on_epoch_end`` with the
            step's ``logs``), framed by ``on_train_begin`` / ``on_train_end``.
        verbose: 0 silent, 1 a progress bar per stage.
        snapshot_every, snapshot_dir: save ``step_XXXXX.png`` every N global steps.
        method: the instance shown to callbacks as ``model.method``.
        what: the name of the optimisation in error messages (``"adam"``, ``"DeepDream"``).
        hint: what the NaN error suggests.
    """

    def __init__(self, *, names=("loss",), callbacks=None, verbose=0, snapshot_every=0, snapshot_dir=None,
                 method=None, what="the optimisation", hint="Lower the learning rate or the loss weights."):
        callbacks = list(callbacks or [])
        for cb in callbacks:
            if not (isinstance(cb, keras.callbacks.Callback) or callable(cb)):
                raise ConfigError(
                    f"callbacks must be keras.callbacks.Callback objects or callables fn(step, image, logs), "
                    f"got {type(cb).__name__}."
                )
        if snapshot_every and snapshot_dir is None:
            raise ConfigError("snapshot_every needs snapshot_dir (the folder for the step_XXXXX.png files).")
        self.names = list(names)
        self.plain = [cb for cb in callbacks if not isinstance(cb, keras.callbacks.Callback)]
        self.keras_callbacks = [cb for cb in callbacks if isinstance(cb, keras.callbacks.Callback)]
        self.verbose = verbose
        self.snapshot_every = int(snapshot_every or 0)
        self.snapshot_dir = snapshot_dir
        self.method = method
        self.what = what
        self.hint = hint
        self.step = 0
        self.model = None
        self.last_snapshot = None
        self._cblist = None

    def begin(self, shape):
        """Call once before the first stage; ``shape`` is the first stage's (1, H, W, 3)."""
        if self.keras_callbacks:
            self.model = OptimizationModel(self.method, shape)
            self._cblist = keras.callbacks.CallbackList(self.keras_callbacks, model=self.model)
            self._cblist.on_train_begin()

    def end(self, logs=None):
        """Call once after the last stage (also after an early stop)."""
        if self._cblist is not None:
            self._cblist.on_train_end(logs)

    def _model_image(self, x):
        if self.model is None:
            return
        if tuple(self.model.image.shape) != tuple(x.shape):  # a new stage (scale, octave)
            model = OptimizationModel(self.method, x.shape)
            model.stop_training, model.step = self.model.stop_training, self.model.step
            self.model = model
            self._cblist.set_model(model)
        self.model.image.assign(x)

    def _error(self, message, last_good):
        path = None
        if self.snapshot_dir is not None:
            from keras_style.images import save_image

            path = os.path.join(self.snapshot_dir, "last_good.png")
            save_image(np.clip(last_good, 0, 1), path, overwrite=True)
        where = (f"; the last good image was saved to {path}" if path
                 else (f"; the last snapshot is {self.last_snapshot}" if self.last_snapshot else ""))
        err = OptimizationError(f"{message}{where}. {self.hint}")
        err.step = self.step
        err.last_good = np.clip(last_good, 0, 1)
        err.snapshot = path or self.last_snapshot
        return err

    def run(self, optimizer, steps, *, label=None, stop_when=None):
        """Run ``steps`` steps of ``optimizer`` (``.step() -> (loss, aux)``, ``.x`` the (1, H, W, 3)
        image, optional ``.n_evals``). ``stop_when(loss)`` ends this stage early (DeepDream's
        ``max_loss``) without stopping the run. Returns ``(image HxWx3, stopped)``: ``stopped``
        when a callback asked to stop the whole run."""
        from keras_style.images import save_image

        show_evals = hasattr(optimizer, "n_evals")
        bar = None
        if self.verbose:
            if label:
                print(label)
            bar = keras.utils.Progbar(int(steps), stateful_metrics=self.names + (["evals"] if show_evals else []))
        last_good = np.array(optimizer.x[0], copy=True)
        for k in range(1, int(steps) + 1):
            self.step += 1
            step = self.step
            if self._cblist is not None:
                self._cblist.on_epoch_begin(step - 1)
                self._cblist.on_train_batch_begin(0)
            try:
                f, aux = optimizer.step()
                x_now = optimizer.x[0]
                if not (np.isfinite(f) and np.all(np.isfinite(x_now))):
                    raise NonFiniteError(step)
            except NonFiniteError:
                raise self._error(f"The loss or the image became NaN/Inf at step {step} ({self.what})",
                                  last_good) from None
            last_good = np.array(x_now, copy=True)
            logs = {"loss": float(f), **{n: float(v) for n, v in aux.items()}}
            if bar is not None:
                values = [(n, logs[n]) for n in self.names if n in logs]
                if show_evals:
                    values.append(("evals", optimizer.n_evals))
                bar.update(k, values=values)
            if self.snapshot_every and step % self.snapshot_every == 0:
                self.last_snapshot = os.path.join(self.snapshot_dir, f"step_{step:05d}.png")
                save_image(np.clip(x_now, 0, 1), self.last_snapshot, overwrite=True)
            stop = False
            if self._cblist is not None:
                self._model_image(x_now[None])
                self.model.step = step
                self._cblist.on_train_batch_end(0, dict(logs))
                self._cblist.on_epoch_end(step - 1, dict(logs))
                stop = bool(self.model.stop_training)
            for cb in self.plain:
                if cb(step, np.clip(x_now, 0, 1), dict(logs)) is True:
                    stop = True
            if stop:
                return np.array(optimizer.x[0], copy=True), True
            if stop_when is not None and stop_when(f):
                if bar is not None:
                    bar.update(int(steps), values=values)
                break
        return np.array(optimizer.x[0], copy=True), False


__all__ = ["FeedForwardModel", "OptimizationLoop", "OptimizationMethod", "OptimizationModel"]
