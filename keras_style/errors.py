"""Exception types raised by keras_style.

Every error subclasses :class:`KerasStyleError` *and* the natural built-in
(``ValueError``, ``FileNotFoundError``...), so ``except ValueError`` keeps working
while ``except keras_style.KerasStyleError`` catches everything we raise.
The CLI prints ``str(error)`` on one line and exits 1 for these.
"""


class KerasStyleError(Exception):
    """Base class of every error raised on purpose by keras_style."""


class ConfigError(KerasStyleError, ValueError):
    """An argument or configuration value is invalid (says which and what is allowed)."""


class UnknownNameError(KerasStyleError, ValueError):
    """A registry name was not found (the message lists the closest names)."""


class RegistryError(KerasStyleError, ValueError):
    """Inconsistent registration, e.g. a name registered twice."""


class ImageError(KerasStyleError, ValueError):
    """An image could not be read, converted or written."""


class WeightsUnavailableError(KerasStyleError, FileNotFoundError):
    """A weights file is neither local nor downloadable; the message says where to put it."""


class WeightsIntegrityError(KerasStyleError, ValueError):
    """A weights file does not match its manifest's sha256 (it is never used)."""


class ConversionError(KerasStyleError, ValueError):
    """A checkpoint could not be converted (missing/unexpected keys, wrong shapes)."""


class DataError(KerasStyleError, ValueError):
    """A data folder is empty, unreadable or unsuitable for the requested pipeline."""


class OptimizationError(KerasStyleError, RuntimeError):
    """An optimisation diverged (NaN/Inf); the message names the step."""


class VideoError(KerasStyleError, ValueError):
    """A video could not be read or written."""


class UntrainedModelWarning(UserWarning):
    """A model is used with the random weights it was built with (never trained or loaded)."""


__all__ = [
    "UntrainedModelWarning",
    "KerasStyleError",
    "ConfigError",
    "UnknownNameError",
    "RegistryError",
    "ImageError",
    "WeightsUnavailableError",
    "WeightsIntegrityError",
    "ConversionError",
    "DataError",
    "OptimizationError",
    "VideoError",
]
