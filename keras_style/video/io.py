"""Video and frame-folder I/O (the ``video`` extra: PyAV, which ships its own FFmpeg).

Reading is lazy: ``read(path)`` returns a `VideoReader` that decodes one frame at a time
(memory does not grow with the video's length) and knows fps, size, frame count and the
audio stream.  ``write(frames, path, like=...)`` encodes mp4 (H.264), webm (VP9), gif or a
folder of PNGs; it writes a temporary file next to the target and renames it at the end,
so an interrupted or failed run never leaves a partial output.  Audio is copied from
``like`` (stream copy when the container allows it, otherwise re-encoded).
"""

from __future__ import annotations

import os
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from keras_style.errors import VideoError
from keras_style.images import IMAGE_EXTENSIONS as FRAME_EXTS  # frames: any image (images.py)
from keras_style.images import list_images

VIDEO_EXTS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".gif", ".avi")
_CODECS = {  # container suffix -> (video codec, audio codec or None)
    ".mp4": ("libx264", "aac"),
    ".m4v": ("libx264", "aac"),
    ".mov": ("libx264", "aac"),
    ".mkv": ("libx264", "aac"),
    ".webm": ("libvpx-vp9", "libopus"),
    ".gif": ("gif", None),
}


def _av():
    try:
        import av
    except ImportError as e:  # pragma: no cover - depends on the install
        raise VideoError(
            'Video support needs PyAV: pip install "keras-style[video]".'
        ) from e
    return av


def _to_uint8(frame) -> np.ndarray:
    a = np.asarray(frame)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 3 or a.shape[-1] not in (3, 4):
        raise VideoError(f"A frame must be HxWx3, got shape {a.shape}.")
    a = a[..., :3]
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if not np.isfinite(a).all():
        raise VideoError("A frame contains NaN or Inf values.")
    return (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


class VideoReader:
    """A lazy iterator over the frames of a video file or a folder of images.

    Frames come out as float32 HxWx3 arrays in [0, 1].  Attributes: ``fps``,
    ``size`` (width, height), ``num_frames`` (may be an estimate for some containers),
    ``has_audio``, ``audio`` (codec, sample rate, channels or None), ``path``,
    ``is_folder``.
    """

    def __init__(self, path, fps: float | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise VideoError(f"{self.path} does not exist.")
        self.is_folder = self.path.is_dir()
        if self.is_folder:
            self._files = list_images(self.path)
            if not self._files:
                raise VideoError(
                    f"Folder {self.path} has no frames ({', '.join(FRAME_EXTS)})."
                )
            from PIL import Image

            with Image.open(self._files[0]) as im:
                self.size = im.size
            self.fps = float(fps or 25.0)
            self.num_frames = len(self._files)
            self.has_audio = False
            self.audio = None
            return
        if self.path.stat().st_size == 0:
            raise VideoError(f"{self.path} is empty (0 bytes), not a video.")
        av = _av()
        try:
            with av.open(str(self.path)) as c:
                if not c.streams.video:
                    raise VideoError(f"{self.path} has no video stream.")
                vs = c.streams.video[0]
                rate = vs.average_rate or vs.guessed_rate or vs.base_rate
                self.fps = float(fps or (rate if rate else 25.0))
                self.size = (vs.codec_context.width, vs.codec_context.height)
                n = vs.frames
                if not n and vs.duration and vs.time_base:
                    n = int(round(float(vs.duration * vs.time_base) * self.fps))
                if not n and c.duration:
                    n = int(round(c.duration / 1_000_000 * self.fps))  # container duration, in µs
                self.num_frames = int(n) if n else None
                self.has_audio = bool(c.streams.audio)
                if self.has_audio:
                    a = c.streams.audio[0]
                    self.audio = {
                        "codec": a.codec_context.name,
                        "sample_rate": a.codec_context.sample_rate,
                        "channels": a.codec_context.channels,
                    }
                else:
                    self.audio = None
        except VideoError:
            raise
        except Exception as e:
            raise VideoError(
                f"{self.path} could not be opened as a video ({type(e).__name__}: "
                f"{' '.join(str(e).split())[:200]})."
            ) from e
        if self.size[0] <= 0 or self.size[1] <= 0:
            raise VideoError(f"{self.path} has an invalid frame size {self.size}.")

    def __len__(self):
        if self.num_frames is None:
            raise TypeError("this video's frame count is unknown")
        return self.num_frames

    def __iter__(self):
        if self.is_folder:
            from keras_style.images import load_image

            for f in self._files:
                img = load_image(f)
                if (img.shape[1], img.shape[0]) != tuple(self.size):
                    raise VideoError(
                        f"Frame {f.name} is {img.shape[1]}x{img.shape[0]} but the first frame "
                        f"is {self.size[0]}x{self.size[1]}; every frame of a folder must have "
                        "the same size."
                    )
                yield img
            return
        av = _av()
        count = 0
        try:
            with av.open(str(self.path)) as c:
                vs = c.streams.video[0]
                vs.thread_type = "AUTO"
                for frame in c.decode(vs):
                    count += 1
                    yield frame.to_ndarray(format="rgb24").astype(np.float32) / 255.0
        except VideoError:
            raise
        except Exception as e:
            raise VideoError(
                f"Decoding {self.path} failed after {count} frames ({type(e).__name__}: "
                f"{' '.join(str(e).split())[:200]})."
            ) from e
        if count == 0:
            raise VideoError(f"{self.path} contains no decodable video frames.")

    def __repr__(self):
        return (
            f"VideoReader({str(self.path)!r}, fps={self.fps:g}, size={self.size}, "
            f"frames={self.num_frames}, audio={self.has_audio})"
        )


def read(path, fps: float | None = None) -> VideoReader:
    """Open a video file or a folder of frames lazily (see `VideoReader`)."""
    return VideoReader(path, fps=fps)


def _progress(total, verbose):
    if not verbose:
        return None
    import keras

    return keras.utils.Progbar(total, unit_name="frame", stateful_metrics=["fps"])


def write(
    frames,
    path,
    *,
    like=None,
    fps: float | None = None,
    audio: bool = True,
    overwrite: bool = False,
    quality: int = 18,
    verbose: int = 1,
    total: int | None = None,
) -> Path:
    """Encode ``frames`` (an iterable of HxWx3 float [0,1] or uint8 arrays) to ``path``.

    ``path`` ending in .mp4/.mov/.mkv/.m4v (H.264), .webm (VP9), .gif, or a folder
    (no suffix or an existing directory: PNG frames).  ``like``: a video (path or
    `VideoReader`) whose fps and audio are reused.  Odd frame sizes are encoded as
    4:4:4 H.264 (4:2:0 needs even sizes); ``quality`` is the x264 CRF.  Nothing is
    left at ``path`` if anything fails or the run is interrupted.
    """
    path = Path(path)
    if not path.parent.exists():
        raise VideoError(f"Output folder {path.parent} does not exist; create it first.")
    if isinstance(like, (str, os.PathLike)):
        like = read(like)
    if fps is None:
        fps = like.fps if like is not None else 25.0
    if total is None and like is not None:
        total = like.num_frames
    suffix = path.suffix.lower()
    is_folder = suffix == "" or path.is_dir()
    if path.exists() and not overwrite:
        raise VideoError(f"{path} exists; pass overwrite=True (CLI: --overwrite) to replace it.")
    if not is_folder and suffix not in _CODECS:
        raise VideoError(
            f"Unsupported video extension {suffix!r}; use one of {', '.join(_CODECS)} or a folder."
        )
    bar = _progress(total, verbose)
    t0 = time.perf_counter()
    if is_folder:
        return _write_folder(frames, path, overwrite, bar, t0)
    tmp_fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(tmp_fd)
    try:
        n = _encode(frames, tmp_name, suffix, fps, like if audio else None, quality, bar, t0)
        if n == 0:
            raise VideoError("No frames to write: the input produced no frames.")
        os.chmod(tmp_name, _default_mode())
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.remove(tmp_name)
        raise
    return path


def _default_mode(directory=False):
    """The permissions a normally created file/folder gets (mkstemp/mkdtemp use 0600/0700)."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def _tick(bar, n, t0):
    if bar is not None:
        bar.update(n, values=[("fps", n / max(time.perf_counter() - t0, 1e-9))])


def _write_folder(frames, path, overwrite, bar, t0):
    import shutil

    from keras_style.images import save_image

    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        n = 0
        for n, frame in enumerate(frames, 1):
            save_image(_to_uint8(frame), tmp / f"frame_{n:06d}.png")
            _tick(bar, n, t0)
        if n == 0:
            raise VideoError("No frames to write: the input produced no frames.")
        if path.exists():
            shutil.rmtree(path)
        os.chmod(tmp, _default_mode(directory=True))
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _encode(frames, filename, suffix, fps, like, quality, bar, t0) -> int:
    av = _av()
    vcodec, acodec = _CODECS[suffix]
    rate = Fraction(fps).limit_denominator(1001)
    out = av.open(filename, "w")
    try:
        vs = None
        n = 0
        size = None
        for frame in frames:
            a = _to_uint8(frame)
            if vs is None:
                size = (a.shape[1], a.shape[0])
                vs = out.add_stream(vcodec, rate=rate)
                vs.width, vs.height = size
                if vcodec == "gif":
                    vs.pix_fmt = "rgb8"
                else:
                    odd = size[0] % 2 or size[1] % 2
                    vs.pix_fmt = "yuv444p" if odd else "yuv420p"
                    if vcodec == "libx264":
                        vs.options = {"crf": str(quality), "preset": "medium"}
                    elif vcodec == "libvpx-vp9":
                        vs.options = {"crf": str(max(quality + 12, 4)), "b": "0"}
                # every stream must exist before the first packet is muxed
                audio = None
                if like is not None and acodec is not None and getattr(like, "has_audio", False):
                    audio = _AudioCopy(av, like.path, out, acodec)
            elif (a.shape[1], a.shape[0]) != size:
                raise VideoError(
                    f"Frame {n + 1} is {a.shape[1]}x{a.shape[0]} but the video is "
                    f"{size[0]}x{size[1]}; all frames must have one size."
                )
            vf = av.VideoFrame.from_ndarray(a, format="rgb24")
            for packet in vs.encode(vf):
                out.mux(packet)
            n += 1
            _tick(bar, n, t0)
        if vs is None:
            return 0
        for packet in vs.encode():
            out.mux(packet)
        if audio is not None:
            audio.run()
        return n
    finally:
        out.close()


class _AudioCopy:
    """Re-encode the source's audio into ``out`` (robust across containers)."""

    def __init__(self, av, source, out, acodec):
        self.av, self.source, self.out = av, source, out
        with av.open(str(source)) as src:
            ain = src.streams.audio[0]
            rate = ain.codec_context.sample_rate or 44100
            layout = ain.codec_context.layout.name if ain.codec_context.layout else "stereo"
        self.stream = out.add_stream(acodec, rate=48000 if acodec == "libopus" else rate)
        self.stream.layout = layout
        self.layout = layout

    def run(self):
        av = self.av
        aout = self.stream
        resampler = av.AudioResampler(
            format=aout.codec_context.format.name if aout.codec_context.format else "fltp",
            layout=self.layout,
            rate=aout.codec_context.sample_rate,
        )
        with av.open(str(self.source)) as src:
            for frame in src.decode(src.streams.audio[0]):
                frame.pts = None
                for rf in resampler.resample(frame):
                    for packet in aout.encode(rf):
                        self.out.mux(packet)
        for rf in resampler.resample(None):
            for packet in aout.encode(rf):
                self.out.mux(packet)
        for packet in aout.encode():
            self.out.mux(packet)


__all__ = ["VideoReader", "read", "write", "FRAME_EXTS", "VIDEO_EXTS"]
