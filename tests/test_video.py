import os
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av", reason='needs the "video" extra')
pytest.importorskip("cv2", reason='needs the "video" extra')

import keras_style as ks  # noqa: E402
from keras_style import video  # noqa: E402
from keras_style.errors import ConfigError, VideoError  # noqa: E402
from keras_style.video.flow import consistency_mask, flow_and_mask, optical_flow, warp  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "examples" / "images" / "chelsea.jpg"


def make_clip(path, n=8, size=(48, 64), fps=12, audio=True):
    """A moving white bar, optionally with a 440 Hz tone."""
    h, w = size
    out = av.open(str(path), "w")
    vs = out.add_stream("libx264", rate=fps)
    vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
    if audio:
        a_s = out.add_stream("aac", rate=22050)
        a_s.layout = "mono"
    for i in range(n):
        a = np.zeros((h, w, 3), np.uint8)
        a[:, (i * 4) % w : (i * 4) % w + 6] = 255
        for p in vs.encode(av.VideoFrame.from_ndarray(a, format="rgb24")):
            out.mux(p)
    for p in vs.encode():
        out.mux(p)
    if audio:
        t = np.arange(int(22050 * n / fps)) / 22050
        sig = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        for k in range(0, sig.shape[1], 1024):
            fr = av.AudioFrame.from_ndarray(np.ascontiguousarray(sig[:, k : k + 1024]), format="flt", layout="mono")
            fr.sample_rate = 22050
            for p in a_s.encode(fr):
                out.mux(p)
        for p in a_s.encode():
            out.mux(p)
    out.close()
    return path


def leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("ext", [".mp4", ".webm", ".gif", ""])
def test_round_trip_keeps_fps_frames_and_audio(tmp_path, ext):
    src = make_clip(tmp_path / "src.mp4")
    reader = video.read(src)
    assert reader.fps == 12 and reader.size == (64, 48) and reader.has_audio
    frames = list(reader)
    assert len(frames) == 8 and frames[0].dtype == np.float32 and frames[0].max() <= 1.0
    out = video.write(iter(frames), tmp_path / f"out{ext}", like=reader, verbose=0)
    back = video.read(out, fps=12)
    got = list(back)
    assert len(got) == 8
    assert back.size == (64, 48)
    assert abs(back.fps - 12) < 1e-6
    if ext in (".mp4", ".webm"):
        assert back.has_audio, "audio was not copied"
    # content survives lossy encoding reasonably
    tol = 0.25 if ext == ".gif" else 0.1
    assert np.abs(got[3] - frames[3]).mean() < tol
    assert leftovers(tmp_path) == []


def test_audio_less_and_odd_sizes(tmp_path):
    src = make_clip(tmp_path / "src.mp4", audio=False)
    frames = [f[:47, :63] for f in video.read(src)]
    out = video.write(frames, tmp_path / "odd.mp4", fps=10, verbose=0)
    r = video.read(out)
    assert r.size == (63, 47) and not r.has_audio and len(list(r)) == 8


def test_reader_is_lazy_and_streams(tmp_path):
    src = make_clip(tmp_path / "src.mp4", n=60, audio=False)
    it = iter(video.read(src))
    first = next(it)
    assert first.shape == (48, 64, 3)
    import tracemalloc

    tracemalloc.start()
    written = video.write((f for f in it), tmp_path / "copy.mp4", fps=12, verbose=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert written.exists()
    # 59 frames of 48x64x3 float32 would be ~2.2 MB; streaming keeps far fewer in memory
    assert peak < 1.5e6, peak


def test_not_a_video_and_empty_file(tmp_path):
    txt = tmp_path / "notes.mp4"
    txt.write_text("this is not a video")
    with pytest.raises(VideoError, match="could not be opened as a video"):
        video.read(txt)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        video.read(empty)
    with pytest.raises(VideoError, match="does not exist"):
        video.read(tmp_path / "missing.mp4")


def test_video_without_video_stream(tmp_path):
    out = av.open(str(tmp_path / "audio_only.m4a"), "w")
    s = out.add_stream("aac", rate=22050)
    s.layout = "mono"
    fr = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="flt", layout="mono")
    fr.sample_rate = 22050
    for p in s.encode(fr):
        out.mux(p)
    for p in s.encode():
        out.mux(p)
    out.close()
    with pytest.raises(VideoError, match="no video stream"):
        video.read(tmp_path / "audio_only.m4a")


def test_folder_of_frames_and_changing_sizes(tmp_path):
    d = tmp_path / "frames"
    d.mkdir()
    for i in range(3):
        ks.save_image(np.full((20, 30, 3), i / 3, np.float32), d / f"f{i}.png")
    r = video.read(d, fps=5)
    assert r.num_frames == 3 and r.fps == 5 and r.size == (30, 20)
    assert len(list(r)) == 3
    ks.save_image(np.zeros((21, 30, 3), np.float32), d / "f9.png")
    with pytest.raises(VideoError, match="same size"):
        list(video.read(d))
    with pytest.raises(VideoError, match="no frames"):
        video.read(tmp_path.joinpath("nothing").mkdir() or tmp_path / "nothing")


def test_missing_output_folder_and_no_partial_file(tmp_path):
    frames = [np.zeros((16, 16, 3), np.float32)] * 3
    with pytest.raises(VideoError, match="does not exist"):
        video.write(frames, tmp_path / "nope" / "out.mp4", fps=5, verbose=0)

    def interrupted():
        yield frames[0]
        yield frames[1]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        video.write(interrupted(), tmp_path / "out.mp4", fps=5, verbose=0)
    assert not (tmp_path / "out.mp4").exists()
    assert leftovers(tmp_path) == []
    with pytest.raises(VideoError, match="Unsupported video extension"):
        video.write(frames, tmp_path / "out.xyz", fps=5, verbose=0)
    with pytest.raises(VideoError, match="No frames"):
        video.write(iter([]), tmp_path / "none.mp4", fps=5, verbose=0)
    assert not (tmp_path / "none.mp4").exists() and leftovers(tmp_path) == []
    (tmp_path / "exists.mp4").write_bytes(b"keep me")
    with pytest.raises(VideoError, match="overwrite"):
        video.write(frames, tmp_path / "exists.mp4", fps=5, verbose=0)
    assert (tmp_path / "exists.mp4").read_bytes() == b"keep me"


def test_flow_recovers_a_known_pan_and_masks_disocclusions():
    frames, flows = video.pan_clip(PHOTO, 2, size=(96, 128), shift=(3, 2))
    f, m = flow_and_mask(frames[1], frames[0])
    inner = f[12:-12, 12:-12].reshape(-1, 2)
    np.testing.assert_allclose(np.median(inner, 0), [3, 2], atol=0.25)
    # pixels whose source lies outside the previous frame (right/bottom border) are uncertain
    assert m[:, -2:].mean() < 0.3 and m[-2:, :].mean() < 0.3
    assert m[20:-20, 20:-20].mean() > 0.9
    warped = warp(frames[0], f)
    err = (np.abs(warped - frames[1]).mean(-1) * m).sum() / m.sum()
    assert err < 0.02
    with pytest.raises(ConfigError):
        optical_flow(frames[0], frames[1], method="magic")


def test_consistency_mask_flags_inconsistent_flow():
    h, w = 32, 32
    fwd = np.zeros((h, w, 2), np.float32)
    fwd[..., 0] = 2.0
    good_back = -fwd
    bad_back = fwd.copy()  # not the inverse: every pixel fails the check
    assert consistency_mask(fwd, good_back)[:, : w - 4].mean() > 0.95
    assert consistency_mask(fwd, bad_back).mean() < 0.05


class Flicker:
    """A 'model' whose output changes from call to call (frame-independent noise): flicker."""

    def __init__(self, seed=0, amount=0.08):
        self.rng = np.random.default_rng(seed)
        self.amount = amount

    def stylize(self, image):
        noise = self.rng.normal(0, self.amount, size=(1, 1, 3)) + self.rng.normal(0, self.amount / 2, size=image.shape)
        return np.clip(image * 0.8 + 0.1 + noise, 0, 1).astype(np.float32)


def test_stabiliser_cuts_flicker_with_true_and_estimated_flow():
    frames, flows = video.pan_clip(PHOTO, 8, size=(64, 96), shift=(2, 1))
    masks = video.exact_pan_masks(flows)
    plain = list(video.stylize(frames, Flicker(), verbose=0))
    stab = list(video.stylize(frames, Flicker(), stabilize=True, strength=0.7, verbose=0))
    e_plain = video.warping_error(plain, flows=flows, masks=masks)
    e_stab = video.warping_error(stab, flows=flows, masks=masks)
    assert e_stab < 0.5 * e_plain, (e_plain, e_stab)
    # the estimated-flow metric agrees
    assert video.warping_error(stab, frames) < 0.5 * video.warping_error(plain, frames)
    with pytest.raises(ConfigError):
        list(video.stylize(frames, Flicker(), stabilize=True, strength=1.5, verbose=0))


@pytest.mark.parametrize("normalization", ["batch", "instance"])
def test_stabiliser_halves_the_warping_error_of_a_random_johnson_net(normalization):
    """Issue 8: a random-weights Johnson net (narrow) on a panned photo with known motion.

    Bounds chosen: the warping error at least halves (measured: x0.24-0.29 over seeds 0-5);
    the stabilised frames differ from the frame-by-frame ones on average by less than
    strength x the frame-by-frame warping error (a blend can only move a frame towards the
    warped previous output; measured 0.55-0.63 of it); with the paper's batch norm (a
    low-contrast random output, std ~0.01) by at most 0.05 per frame (measured <= 0.006).
    The instance-norm net is the hard case: high-contrast random output (std ~0.26) whose
    frame-by-frame warping error is ~0.27; its frames then move by up to ~0.17.
    """
    import keras

    keras.utils.set_random_seed(0)
    model = ks.get(
        "johnson", style_image=np.full((24, 24, 3), 0.5, "float32"), style_size=24,
        backbone_weights=None, width=0.25, num_residual_blocks=2, normalization=normalization,
    )
    frames, flows = video.pan_clip(PHOTO, 8, size=(48, 64), shift=(3, 2), start=(100, 60))
    masks = video.exact_pan_masks(flows)
    plain = list(video.stylize(frames, model, verbose=0))
    stab = list(video.stylize(frames, model, stabilize=True, strength=0.7, verbose=0))
    e_plain = video.warping_error(plain, flows=flows, masks=masks)
    e_stab = video.warping_error(stab, flows=flows, masks=masks)
    assert e_stab < 0.5 * e_plain, (e_plain, e_stab)
    assert video.warping_error(stab, frames) < 0.5 * video.warping_error(plain, frames)
    diffs = [float(np.abs(s - p).mean()) for s, p in zip(stab, plain)]
    assert diffs[0] == 0.0 and np.mean(diffs) < 0.7 * e_plain, (diffs, e_plain)
    if normalization == "batch":
        assert max(diffs) < 0.05, diffs


def test_written_files_get_normal_permissions(tmp_path):
    frames = [np.zeros((16, 16, 3), np.float32)] * 2
    umask = os.umask(0o022)
    try:
        out = video.write(frames, tmp_path / "a.gif", fps=5, verbose=0)
        folder = video.write(frames, tmp_path / "frames", fps=5, verbose=0)
    finally:
        os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    assert folder.stat().st_mode & 0o777 == 0o755
