"""12 MP and 24 MP photos through `keras-style stylize` (`upscale` for the SR models), as a user runs it: exit status,
how the CLI ran it (one piece, streamed in row bands, or tiles: its stderr note), peak memory (RSS of the child process) and wall time.

    python benchmarks/phone_photos.py                                 # 12 MP, the offline presets
    python benchmarks/phone_photos.py --megapixels 12 24 --models multistyle_26
    python benchmarks/phone_photos.py --models adain.keras --needs-style adain.keras   # a trained model

The photo is a bundled example photo resized to 4032x3024 (12 MP, a phone camera) or
6000x4000 (24 MP) and saved as JPEG. Each run is a fresh process (`sys.executable -m
keras_style.cli stylize ...`) so that its peak RSS (`os.wait4`) is its own. Models that need
a style image (``--needs-style``: arbitrary stylization, and any trained AdaIN ``.keras`` given)
get the bundled Great Wave. Prints one table row per run and writes nothing
but the temporary folder it removes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = {12: (4032, 3024), 24: (6000, 4000)}
NEEDS_STYLE = {"arbitrary_stylization"}
EXTRA = {"multistyle_26": ["--style-index", "19"]}
UPSCALE = {"waifu2x_photo", "realesrgan_x4plus", "johnson_sr_x4"}  # `keras-style upscale`


def _photo(folder, mp):
    from PIL import Image

    w, h = SIZES[mp]
    path = Path(folder) / f"phone_{mp}mp.jpg"
    Image.open(ROOT / "examples/images/astronaut.jpg").convert("RGB").resize((w, h), Image.LANCZOS).save(path, quality=92)
    return path


def _run(cmd):
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.time() - t0, usage.ru_maxrss * 1024, out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--megapixels", type=int, nargs="+", default=[12], choices=sorted(SIZES))
    p.add_argument("--models", nargs="+", default=["johnson_great_wave", "multistyle_26", "arbitrary_stylization"],
                   help="preset names or .keras files")
    p.add_argument("--needs-style", nargs="*", default=sorted(NEEDS_STYLE),
                   help="the models among --models that take a style image")
    args = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="ks_phone_")
    try:
        print("| model | photo | exit | how (chosen automatically) | peak RSS | wall |")
        print("|---|---|---|---|---|---|")
        for mp in args.megapixels:
            photo = _photo(tmp, mp)
            for model in args.models:
                name = Path(model).stem if model.endswith(".keras") else model
                out = Path(tmp) / f"{name}_{mp}.png"
                command = "upscale" if model in UPSCALE else "stylize"
                cmd = [sys.executable, "-m", "keras_style.cli", command, str(photo), "--model", model,
                       "-o", str(out), *EXTRA.get(model, [])]
                if model in args.needs_style:
                    cmd += ["--style", str(ROOT / "examples/images/hokusai_great_wave.jpg")]
                rc, wall, peak, log = _run(cmd)
                tiled = "streamed in row bands" if "row bands" in log else "tiles" if "px tiles" in log else "one piece"
                ok = rc == 0 and out.is_file()
                w, h = SIZES[mp]
                print(f"| {name} | {w}x{h} ({mp} MP) | {rc}{'' if ok else ' (no output)'} | {tiled} | "
                      f"{peak / 2**30:.2f} GiB | {wall:.0f} s |", flush=True)
                if not ok:
                    print("    " + "\n    ".join(log.strip().splitlines()[-5:]), flush=True)
                out.unlink(missing_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
