"""Video style transfer: I/O, optical flow, a stabiliser for feed-forward models, Ruder et al.

```python
import keras_style as ks
frames = ks.video.read("clip.mp4")
styled = ks.video.stylize(frames, ks.get("johnson_great_wave"), stabilize=True)
ks.video.write(styled, "styled.mp4", like="clip.mp4")
# Ruder et al. (Gatys per frame + warped initialisation + masked temporal loss)
styled = ks.video.ruder.stylize_video(ks.video.read("clip.mp4"), "painting.jpg",
                                      build={"weights": "vgg16_imagenet"})
# the multi-pass algorithm (forward and backward passes, no start-up frames)
styled = ks.video.stylize_video_multipass(list(ks.video.read("clip.mp4")), "painting.jpg", passes=15)
```
"""

from keras_style.video import flow  # noqa: F401
from keras_style.video import ruder  # noqa: F401  (Ruder et al.: ruder.stylize_video)
from keras_style.video.ruder import stylize_video_multipass  # noqa: F401  (Ruder et al. section 5.3)
from keras_style.video.io import VideoReader, read, write  # noqa: F401
from keras_style.video.stylize import stylize, warping_error  # noqa: F401
from keras_style.video.synthetic import exact_pan_masks, pan_clip  # noqa: F401

__all__ = [
    "VideoReader",
    "read",
    "write",
    "flow",
    "ruder",
    "stylize_video_multipass",
    "stylize",
    "warping_error",
    "pan_clip",
    "exact_pan_masks",
]
