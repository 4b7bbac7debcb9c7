"""Renamed arguments keep working for one release, with a `DeprecationWarning`.

One name per concept across the methods (docs/design.md, "Names"):

| concept | name | old names |
|---|---|---|
| weights of the loss network or backbone | ``backbone_weights`` | ``weights`` (Gatys, DeepDream, Johnson, Johnson SR, finetune) |
| the model's own weights or preset | ``weights`` | |
| mixing several styles | ``style_weights`` | ``style_blend`` (Gatys) |
| keeping the photo's colours | ``preserve_color`` | ``preserve_colors`` (the function) |

```python
from keras_style.deprecation import UNSET, renamed
def __init__(self, backbone_weights="vgg19_imagenet", weights=UNSET):
    backbone_weights = renamed("Gatys", "weights", weights, "backbone_weights", backbone_weights)
```
"""

from __future__ import annotations

import warnings

from keras_style.errors import ConfigError

#: the release that removes the old names
REMOVED_IN = "0.3"


class _Unset:
    def __repr__(self):
        return "UNSET"

    def __bool__(self):
        return False


#: default of a deprecated argument: tells "not given" from ``None``
UNSET = _Unset()


def renamed(owner, old, old_value, new, new_value, *, new_default=UNSET, stacklevel=3):
    """The value to use for ``new`` when ``old`` may have been given instead.

    ``old_value is UNSET``: ``new_value``. Otherwise a `DeprecationWarning` naming the new
    argument, and ``old_value`` — unless ``new`` was given too (``new_value`` differs from
    ``new_default``), which is a `ConfigError`.
    """
    if old_value is UNSET:
        return new_value
    if new_default is not UNSET and new_value != new_default:
        raise ConfigError(f"{owner}: give {new}= only ({old}= is its old name), not both.")
    warnings.warn(
        f"{owner}({old}=...) is deprecated and will be removed in keras-style {REMOVED_IN}; "
        f"use {new}=... (same meaning).",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return old_value


__all__ = ["REMOVED_IN", "UNSET", "renamed"]
