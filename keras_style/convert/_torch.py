"""Reading PyTorch checkpoints: the one place keras_style imports torch (converters only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_style.errors import ConversionError


def read_state_dict(path, what: str = "checkpoint") -> dict:
    """``{key: float32 NumPy}`` from a ``.pth`` file, read with ``torch.load(weights_only=True)``.

    No pickled code runs. A ``{"state_dict": ...}`` wrapper is unwrapped; non-tensor
    entries are an error. ``what`` names the file in error messages.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConversionError(f"{what} file {path} does not exist.")
    try:
        import torch
    except ImportError as e:  # pragma: no cover - torch is a dev dependency
        raise ConversionError(
            'Reading PyTorch checkpoints needs torch: pip install "keras-style[convert]".'
        ) from e
    try:
        sd = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:
        raise ConversionError(
            f"Could not read {path} as a PyTorch state dict with torch.load(weights_only=True) "
            f"({type(e).__name__}: {' '.join(str(e).split())[:200]})."
        ) from e
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict) or not all(hasattr(v, "detach") for v in sd.values()):
        raise ConversionError(
            f"{path} is not a state dict of tensors ({what}; got {type(sd).__name__})."
        )
    return {str(k): v.detach().cpu().float().numpy().astype(np.float32) for k, v in sd.items()}
