"""Small helpers shared by the layers in ``keras_style.layers`` (not public API)."""

from __future__ import annotations

from keras import ops

from keras_style.errors import ConfigError

# one implementation of data_format validation, shared with the losses
from keras_style.losses.functional import standardize_data_format as resolve_data_format  # noqa: E402,F401


def channel_axis(data_format):
    return -1 if data_format == "channels_last" else 1


def spatial_axes(data_format):
    return (1, 2) if data_format == "channels_last" else (2, 3)


def check_odd_kernel(kernel_size, who):
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
        raise ConfigError(f"{who}: kernel_size must be a positive int, got {kernel_size!r}.")
    if kernel_size % 2 == 0:
        raise ConfigError(
            f"{who}: kernel_size must be odd so that padding of kernel_size // 2 on every "
            f"side keeps the size (PyTorch/Torch7 convention), got {kernel_size}."
        )


def check_positive_int(value, what, who):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{who}: {what} must be a positive int, got {value!r}.")
    return value


def pad_spatial(x, pads, data_format, mode):
    """Pad the two spatial dims by ``pads=((top, bottom), (left, right))`` (mode 'reflect'|'constant')."""
    if pads == ((0, 0), (0, 0)):
        return x
    if data_format == "channels_last":
        full = ((0, 0), pads[0], pads[1], (0, 0))
    else:
        full = ((0, 0), (0, 0), pads[0], pads[1])
    return ops.pad(x, full, mode=mode)


