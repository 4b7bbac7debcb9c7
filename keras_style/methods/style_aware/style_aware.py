"""`StyleAware`: the style-aware content loss GAN of Sanakoyeu et al. (ECCV 2018).

An encoder E and decoder G are trained against a multi-scale discriminator D on a folder of
photos and a folder of one artist's paintings, so the model learns the artist's style rather than
one painting's. Each training step updates *either* E+G *or* D, following the official
success-rate rule (docs/methods/style_aware.md): with ``discr_success`` a moving average of D's accuracy,
G is trained when ``discr_success >= win_rate`` (0.8), else D.

Everything here is backend-agnostic; the per-backend two-optimiser ``train_step`` lives in
`keras_style.methods.style_aware.train_step`.

Examples:

```python
import keras_style as ks
model = ks.get("style_aware")
model.compile()                        # two Adam(2e-4, 0.9, 0.999, 1e-8) optimisers
model.fit(ks.data.photo_art_pairs("photos/", "van_gogh/", image_size=768), steps_per_epoch=1000, epochs=300)
hd = model.stylize("photo.jpg", size=1280)
```

References:
    https://arxiv.org/abs/1807.10201
"""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np
from keras import ops

from keras_style.errors import ConfigError
from keras_style.images import resize_bilinear_pil
from keras_style.methods.style_aware import networks
from keras_style.methods.style_aware.losses import (
    StyleAwareContentLoss,
    StyleAwareDiscriminatorLoss,
    StyleAwareGeneratorAdversarialLoss,
    TransformedImageLoss,
)
from keras_style.registry import register
from keras_style.untrained import remember_initial_weights, warn_if_untrained

# Peak extra host memory of one full-image inference pass, bytes per input pixel for ngf=32
# (scaled linearly with ngf). Measured with benchmarks/style_aware_memory.py (TF 2.21 CPU,
# float32): 1.29 GiB at 1936x1296 (2.5 MP), 2.58 GiB at 2048x2048, i.e. ~800 B/px at the margin;
# 850 B/px with no intercept over-estimates those by ~30% (conservative).
BYTES_PER_PIXEL_NGF32 = 850.0
FIXED_OVERHEAD_BYTES = 64 * 2**20

METRIC_NAMES = (
    "generator_loss",  # dlw*g_adversarial + tlw*transformed_image + flw*style_aware_content
    "discriminator_loss",  # dlw * D loss
    "g_adversarial",
    "d_adversarial",
    "transformed_image",
    "style_aware_content",
    "gener_acc",
    "discr_acc",
    "generator_step",  # 1 when this step updated E+G, 0 when it updated D (its mean: fraction of G steps)
)


@register(
    "style_aware",
    "method",
    aliases=("sanakoyeu", "adaptive_style_transfer", "style_aware_gan"),
    test_config={"ngf": 2, "ndf": 2, "num_residual_blocks": 1},
    paper="https://arxiv.org/abs/1807.10201",
)
@keras.saving.register_keras_serializable(package="keras_style")
class StyleAware(keras.Model):
    """Style-aware content loss GAN (encoder, decoder, multi-scale discriminator).

    Args:
        ngf: int. Generator width (encoder/decoder base channels; latent has ``8*ngf``).
            Defaults to `32` (main.py ``--ngf``).
        ndf: int. Discriminator width (first block has ``2*ndf`` channels). Defaults to `64`
            (main.py ``--ndf``).
        num_residual_blocks: int. Decoder residual blocks. Defaults to `9` (module.py).
        discr_loss_weight: float. ``dlw``. Defaults to `1.0` (main.py).
        transformer_loss_weight: float. ``tlw``. Defaults to `100.0` (main.py).
        feature_loss_weight: float. ``flw``. Defaults to `100.0` (main.py).
        feature_loss_norm: str. ``"l1"`` (official code) or ``"l2"`` (paper). Defaults to `"l1"`.
        transformer: str. T of the transformed-image loss: ``"avg_pool"`` (code) or ``"conv"``
            (paper's one-layer conv, frozen). Defaults to `"avg_pool"`.
        transformer_kernel_size: int. Defaults to `10` (module.py ``transformer_block``).
        photos_as_fake: bool. Show real photos to D as fakes (official code). Defaults to `True`.
        win_rate: float. G is trained when ``discr_success >= win_rate``; also the initial
            ``discr_success``. Defaults to `0.8` (main.py ``--dsr``).
        success_momentum: float. ``discr_success <- m*discr_success + (1-m)*acc``. Defaults to
            `0.95` (model.py ``alpha = 0.05``).
        accuracy_threshold: float. A logit counts as "painting" when ``> threshold``. Defaults to
            `0.5`: model.py compares the *logits* with 0.5 (not probabilities with 0.5).
        seed: int or None. Seed of the weight initialisers.
    """

    def __init__(
        self,
        ngf=32,
        ndf=64,
        num_residual_blocks=9,
        discr_loss_weight=1.0,
        transformer_loss_weight=100.0,
        feature_loss_weight=100.0,
        feature_loss_norm="l1",
        transformer="avg_pool",
        transformer_kernel_size=10,
        photos_as_fake=True,
        win_rate=0.8,
        success_momentum=0.95,
        accuracy_threshold=0.5,
        seed=None,
        name="style_aware",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        for arg, v in (("ngf", ngf), ("ndf", ndf)):
            if int(v) < 1:
                raise ConfigError(f"{arg} must be a positive integer, got {v}.")
        if int(num_residual_blocks) < 0:
            raise ConfigError(f"num_residual_blocks must be >= 0, got {num_residual_blocks}.")
        if not 0.0 <= float(win_rate) <= 1.0:
            raise ConfigError(f"win_rate must be in [0, 1], got {win_rate}.")
        if not 0.0 <= float(success_momentum) < 1.0:
            raise ConfigError(f"success_momentum must be in [0, 1), got {success_momentum}.")
        self.ngf = int(ngf)
        self.ndf = int(ndf)
        self.num_residual_blocks = int(num_residual_blocks)
        self.discr_loss_weight = float(discr_loss_weight)
        self.transformer_loss_weight = float(transformer_loss_weight)
        self.feature_loss_weight = float(feature_loss_weight)
        self.feature_loss_norm = feature_loss_norm
        self.transformer = transformer
        self.transformer_kernel_size = int(transformer_kernel_size)
        self.photos_as_fake = bool(photos_as_fake)
        self.win_rate = float(win_rate)
        self.success_momentum = float(success_momentum)
        self.accuracy_threshold = float(accuracy_threshold)
        self.seed = seed

        self.content_loss_fn = StyleAwareContentLoss(norm=feature_loss_norm)
        self.image_loss_fn = TransformedImageLoss(transformer=transformer, kernel_size=transformer_kernel_size)
        self.g_adversarial_fn = StyleAwareGeneratorAdversarialLoss()
        self.d_adversarial_fn = StyleAwareDiscriminatorLoss(photos_as_fake=photos_as_fake)

        self.encoder = networks.build_encoder(self.ngf, seed=seed)
        self.decoder = networks.build_decoder(self.ngf, self.num_residual_blocks, seed=None if seed is None else seed + 1)
        self.discriminator = networks.build_discriminator(self.ndf, seed=None if seed is None else seed + 2)
        for i, net in enumerate((self.encoder, self.decoder, self.discriminator)):
            networks.official_init(net, seed=None if seed is None else seed + 10 + i)
        remember_initial_weights(self, self.decoder)  # keras_style/untrained.py

        # The success-rate state is a model variable, so save_weights / BackupAndRestore keep it.
        self.discr_success = keras.Variable(
            self.win_rate, trainable=False, dtype="float32", name="discr_success",
            aggregation="mean",  # tf.distribute: the replicas' accuracies are averaged (docs/distribution.md)
        )  # initial value = --dsr (model.py: discr_success = win_rate)
        self._trackers = {n: keras.metrics.Mean(name=n) for n in METRIC_NAMES}
        self.g_optimizer = None
        self.d_optimizer = None
        self.build((None, None, None, 3))

    # ------------------------------------------------------------------ Keras plumbing
    def build(self, input_shape=None):
        self.built = True

    def call(self, inputs, training=False):
        """Stylize NHWC images in [0, 1] -> [0, 1] (size = 16 x the latent size; equal for multiples of 16)."""
        x = ops.cast(inputs, "float32") * 2.0 - 1.0
        y = self.decoder(self.encoder(x, training=training), training=training)
        return (y + 1.0) * 0.5

    def get_config(self):
        return {
            "ngf": self.ngf,
            "ndf": self.ndf,
            "num_residual_blocks": self.num_residual_blocks,
            "discr_loss_weight": self.discr_loss_weight,
            "transformer_loss_weight": self.transformer_loss_weight,
            "feature_loss_weight": self.feature_loss_weight,
            "feature_loss_norm": self.feature_loss_norm,
            "transformer": self.transformer,
            "transformer_kernel_size": self.transformer_kernel_size,
            "photos_as_fake": self.photos_as_fake,
            "win_rate": self.win_rate,
            "success_momentum": self.success_momentum,
            "accuracy_threshold": self.accuracy_threshold,
            "seed": self.seed,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @property
    def metrics(self):
        return list(self._trackers.values())

    @property
    def generator_trainable_variables(self):
        """Variables the generator step updates: encoder + decoder (model.py ``g_optim_step``)."""
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    def compile(self, g_optimizer=None, d_optimizer=None, jit_compile="auto", **kwargs):
        """Two Adam optimisers with the official settings unless given.

        Args:
            g_optimizer: optimizer for E+G. Defaults to Adam(lr 2e-4, 0.9, 0.999, eps 1e-8) (main.py
                ``--lr``; tf.train.AdamOptimizer defaults).
            d_optimizer: optimizer for D. Same default.
            jit_compile: bool or ``"auto"``: True on JAX (which otherwise runs op by op), False
                elsewhere (XLA compile of the two-branch TF step is slow on CPU). Defaults to `"auto"`.
        """
        if kwargs.get("loss") is not None or kwargs.get("optimizer") is not None:
            raise ConfigError("style_aware.compile() takes g_optimizer/d_optimizer; its losses are built in.")
        kwargs.pop("loss", None)
        kwargs.pop("optimizer", None)
        self.g_optimizer = keras.optimizers.get(g_optimizer) if g_optimizer is not None else _official_adam("g_adam")
        self.d_optimizer = keras.optimizers.get(d_optimizer) if d_optimizer is not None else _official_adam("d_adam")
        if jit_compile == "auto":  # JAX runs op by op without jit; TF's XLA compile is slow on CPU
            jit_compile = keras.backend.backend() == "jax"
        super().compile(optimizer=None, jit_compile=jit_compile, **kwargs)
        # Build the optimisers now so their variables exist before any graph (and before restores).
        self.g_optimizer.build(self.generator_trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        if keras.backend.backend() == "jax":  # Keras' JAX trainer threads model.optimizer's variables
            from keras_style.methods.style_aware.train_step import OptimizerPair

            self.optimizer = OptimizerPair(self.g_optimizer, self.d_optimizer)

    def get_compile_config(self):
        if self.g_optimizer is None:
            return None
        return {
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            "jit_compile": bool(self.jit_compile),
        }

    def compile_from_config(self, config):
        # A loaded .keras is compiled again (optimiser states are then restored from the file).
        if "g_optimizer" not in config:  # saved before get_compile_config existed: official defaults
            self.compile()
            return
        self.compile(
            g_optimizer=keras.optimizers.deserialize(config["g_optimizer"]),
            d_optimizer=keras.optimizers.deserialize(config["d_optimizer"]),
            jit_compile=config.get("jit_compile", False),
        )

    # ------------------------------------------------------------------ training
    @staticmethod
    def unpack(data):
        """(photo, art) from a dict {"photo", "art"} or a tuple (photo, art[, ...])."""
        if isinstance(data, dict):
            return data["photo"], data["art"]
        if isinstance(data, (list, tuple)) and len(data) >= 2:
            first, second = data[0], data[1]
            if isinstance(first, dict):
                return first["photo"], first["art"]
            return first, second
        raise ConfigError(
            "style_aware trains on (photo, art) pairs: a dataset of dicts {'photo': ..., 'art': ...} "
            "or of tuples (photo, art), images NHWC in [0, 1] (see keras_style.data.photo_art_pairs)."
        )

    def forward_terms(self, photo, art, training=True):
        """Every loss term and accuracy of one step, as scalar float32 tensors (model.py graph)."""
        photo = ops.cast(photo, "float32") * 2.0 - 1.0  # normalize_arr_of_imgs: x/127.5 - 1
        art = ops.cast(art, "float32") * 2.0 - 1.0
        z = self.encoder(photo, training=training)
        out = self.decoder(z, training=training)
        z_out = self.encoder(out, training=training)
        d_art = self.discriminator(art, training=training)
        d_out = self.discriminator(out, training=training)
        d_photo = self.discriminator(photo, training=training) if self.photos_as_fake else None
        keys = sorted(d_art)
        d_art = [d_art[k] for k in keys]
        d_out = [d_out[k] for k in keys]
        fake = {"output": d_out, "photo": [d_photo[k] for k in keys]} if d_photo is not None else d_out

        feature = self.content_loss_fn(z, z_out)
        image = self.image_loss_fn(photo, out)
        g_adv = self.g_adversarial_fn(None, d_out)
        d_adv = self.d_adversarial_fn(d_art, fake)
        thr = self.accuracy_threshold

        def frac(x, above):
            x = ops.cast(x, "float32")
            return ops.mean(ops.cast(x > thr if above else x < thr, "float32"))

        gener_acc = sum(frac(p, True) for p in d_out) / len(keys)
        acc_terms = [frac(p, True) for p in d_art] + [frac(p, False) for p in d_out]
        if d_photo is not None:
            acc_terms += [frac(d_photo[k], False) for k in keys]
        discr_acc = sum(acc_terms) / len(acc_terms)
        return {
            "generator_loss": self.discr_loss_weight * g_adv
            + self.transformer_loss_weight * image
            + self.feature_loss_weight * feature,
            "discriminator_loss": self.discr_loss_weight * d_adv,
            "g_adversarial": g_adv,
            "d_adversarial": d_adv,
            "transformed_image": image,
            "style_aware_content": feature,
            "gener_acc": gener_acc,
            "discr_acc": discr_acc,
        }

    def next_success(self, terms, generator_step):
        """The success-rate update of model.py ``train()`` for the branch that ran."""
        m = self.success_momentum
        acc = (1.0 - terms["gener_acc"]) if generator_step else terms["discr_acc"]
        return m * ops.convert_to_tensor(self.discr_success) + (1.0 - m) * acc

    def update_trackers(self, terms):
        for name, value in terms.items():
            self._trackers[name].update_state(value)
        logs = {name: t.result() for name, t in self._trackers.items()}
        logs["discr_success"] = ops.convert_to_tensor(self.discr_success)
        return logs

    def train_step(self, *args):
        """``(data)``; on JAX ``(state, data)`` (Keras' stateless step), see train_step.py."""
        if self.g_optimizer is None:
            raise ConfigError("Call model.compile() before fit().")
        from keras_style.methods.style_aware.train_step import train_step

        return train_step(self, *args)

    def make_train_function(self, force=False):
        strategy = getattr(self, "distribute_strategy", None)  # tensorflow: the strategy it was built in
        if strategy is not None and strategy.num_replicas_in_sync > 1 and (self.train_function is None or force):
            from keras_style.methods.style_aware.train_step import make_distributed_train_function

            with strategy.scope():
                self.train_function = make_distributed_train_function(self)
            return self.train_function
        return super().make_train_function(force)

    def test_step(self, *args):
        if keras.backend.backend() == "jax":
            from keras_style.methods.style_aware.train_step import jax_test_step

            return jax_test_step(self, *args)
        (data,) = args
        photo, art = self.unpack(data)
        terms = self.forward_terms(photo, art, training=False)
        terms["generator_step"] = ops.cast(ops.convert_to_tensor(self.discr_success) >= self.win_rate, "float32")
        return self.update_trackers(terms)

    # ------------------------------------------------------------------ inference
    def preview(self, images):
        """Stylize a batch (NHWC in [0, 1]) -> NumPy in [0, 1] of the same size."""
        x = np.asarray(ops.convert_to_numpy(images), dtype="float32")
        if x.ndim == 3:
            x = x[None]
        return np.stack([self._run_full(im) for im in x])

    def estimate_memory(self, height, width):
        """Estimated peak bytes of one full-image pass at ``height`` x ``width``."""
        return FIXED_OVERHEAD_BYTES + BYTES_PER_PIXEL_NGF32 * (self.ngf / 32.0) * height * width

    def output_size(self, height, width):
        """The network's output size for an input of ``height`` x ``width``: 16 x the latent
        size (reflection pad 15, a 3x3 valid conv, four 3x3 stride-2 valid convs), which
        differs from the input by a few pixels unless the sides are multiples of 16."""
        return 16 * _latent_size(height), 16 * _latent_size(width)

    def min_input_size(self):
        """Smallest side: the encoder reflection-pads the image by 15 px (pad < size) and the
        residual blocks reflection-pad the latent by 1 px (latent >= 2 px)."""
        need = 2 if self.num_residual_blocks else 1
        n = 16
        while _latent_size(n) < need:
            n += 1
        return n

    def _check_size(self, h, w):
        from keras_style.errors import ImageError

        need = self.min_input_size()
        if min(h, w) < need:
            raise ImageError(
                f"The image is {h}x{w} pixels; the style-aware network needs at least {need} px on "
                "each side (its 15 px reflection padding and stride 16); resize it (size=...)."
            )

    def _run_full(self, img):
        # One pass of the network on the image as it is, like the official model.py
        # `inference`, which then resizes the output (16 x latent size) back to the input's
        # size (`resize_to_original`, scipy.misc.imresize: bilinear). No padding.
        h, w = img.shape[:2]
        self._check_size(h, w)
        out = ops.convert_to_numpy(self.predict_on_batch(img[None]))[0]
        if out.shape[:2] != (h, w):
            out = resize_bilinear_pil(out, (h, w))
        return np.clip(out, 0.0, 1.0)

    def stylize(
        self, image, size=None, tile=None, overlap=64, whole_image_stats=True, stat_passes=None, memory_limit=None, verbose=0
    ):
        """Stylize one image; returns NumPy HxWx3 float32 in [0, 1].

        Args:
            image: path, PIL image, NumPy array or tensor (keras_style.images.load_image).
            size: int or None. Resize so the *smallest* side is ``size`` (official inference,
                README recommends 1280). Defaults to `None` (keep the input size).
            tile: int or None. Tile size in pixels (rounded up to a multiple of 16) for images too
                large for one pass; tiles share the whole image's instance-norm statistics
                (keras_style.tiling). Defaults to `None`: one full pass, or tiles chosen by
                `suggest_tile` (with a `keras_style.memory.AutoTileWarning`) when the pass would
                not fit in ``memory_limit``. ``0``: one full pass, whatever the estimate.
            overlap: int. Tile overlap in pixels. Defaults to `64` (4 latent pixels: the encoder
                has stride 16).
            whole_image_stats: bool. Tiles use the whole image's instance-norm statistics
                (keras_style.tiling); False: each tile its own. Defaults to `True`.
            stat_passes: int or None. ``None``: exact whole-image statistics (the tiling
                helper runs one pass per instance norm, 28 in the generator: slower, and on a
                160 px test image mean |tiled - one pass| 0.0014 vs 0.0047 for per-tile
                statistics). An int: that many approximate full passes (faster, less exact).
                Defaults to `None`.
            memory_limit: bytes or None. Budget for one full pass. Defaults to 80% of the
                available RAM.
            verbose: int. Progress bar for tiled inference.
        """
        warn_if_untrained(self)
        from keras_style.images import load_image

        if size is not None and int(size) < 16:
            raise ConfigError(f"size must be at least 16 pixels, got {size}.")
        img = load_image(image, size=None if size is None else int(size))
        h, w = img.shape[:2]
        self._check_size(h, w)
        if tile is None:
            need = self.estimate_memory(h, w)
            limit = memory_limit if memory_limit is not None else 0.8 * _available_memory()
            if need <= limit:
                return self._run_full(img)
            tile = self.suggest_tile(limit)
            from keras_style.memory import AutoTileWarning, describe_plan, format_bytes

            warnings.warn(
                f"a {w}x{h} image needs about {format_bytes(need)} in one pass "
                f"({format_bytes(limit)} allowed); running it "
                f"{describe_plan(self, self._tiled_network(), h, w, tile)}. Pass tile=N to choose "
                "the tile size, tile=0 for one pass, or a smaller size.",
                AutoTileWarning,
                stacklevel=2,
            )
        elif not isinstance(tile, bool) and tile == 0:
            return self._run_full(img)
        from keras_style.tiling import tiled_apply

        tile = int(math.ceil(int(tile) / 16.0) * 16)
        out = tiled_apply(
            self._tiled_network(), img[None], tile=tile, overlap=int(overlap), whole_image_stats=bool(whole_image_stats),
            stat_passes=None if stat_passes is None else int(stat_passes), align=16, verbose=verbose,
            out_size=self.output_size(h, w),
        )
        # the tiles cover what the network covers on the whole image (16 x latent rows; the
        # last crop ends at the image's edge): keep that, then resize like `_run_full`
        oh, ow = self.output_size(h, w)
        out = np.asarray(ops.convert_to_numpy(out), dtype="float32")[0, :oh, :ow]
        if out.shape[:2] != (h, w):
            out = resize_bilinear_pil(out, (h, w))
        return np.clip(out, 0.0, 1.0)

    def _tiled_network(self):
        """What `keras_style.tiling.tiled_apply` runs (`keras_style.memory.tiled_network`)."""
        return _Generator(self)

    def suggest_tile(self, limit=None):
        """Largest multiple-of-16 square tile (<= 2048) whose pass fits in ``limit`` bytes."""
        limit = limit if limit is not None else 0.8 * _available_memory()
        per_px = BYTES_PER_PIXEL_NGF32 * (self.ngf / 32.0)
        side = math.sqrt(max(limit - FIXED_OVERHEAD_BYTES, 0) / per_px / 2.0)  # /2: room for the tiling buffers
        return int(max(64, min(2048, side // 16 * 16)))


def _official_adam(name):
    # tf.train.AdamOptimizer(lr) with TF defaults (model.py): beta1 0.9, beta2 0.999, eps 1e-8; lr 2e-4 (--lr)
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.9, beta_2=0.999, epsilon=1e-8, name=name)


class _Generator:
    """Encoder then decoder (what `StyleAware.call` runs) for `keras_style.tiling.tiled_apply`.
    It exposes only the generator's layers, not the discriminator's, so that the generator
    can be streamed in row bands (`keras_style.tiling.streamed_apply`)."""

    stride = 16  # four stride-2 convolutions

    def __init__(self, model):
        self.model = model

    def _flatten_layers(self, include_self=False, recursive=True):
        for net in (self.model.encoder, self.model.decoder):
            yield from net._flatten_layers(include_self=True, recursive=recursive) if recursive else [net]

    @property
    def weights(self):
        return [*self.model.encoder.weights, *self.model.decoder.weights]

    def __call__(self, x, training=False):
        return self.model.call(x, training=False)


def _available_memory():
    try:
        import psutil

        return float(psutil.virtual_memory().available)
    except Exception:  # pragma: no cover - psutil missing
        import os

        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def _latent_size(n):
    """Latent rows for ``n`` input rows (the official encoder, model.py of the style-aware code)."""
    n = n + 30 - 2  # reflect pad 15, 3x3 valid conv
    for _ in range(4):  # 3x3 stride-2 valid convs
        n = (n - 3) // 2 + 1
    return max(n, 0)


