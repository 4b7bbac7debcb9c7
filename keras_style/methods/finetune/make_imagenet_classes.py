"""Regenerate ``imagenet_classes.tsv`` (the 1000 ImageNet-1k classes with WordNet lemmas), offline.

Sources (both local, nothing is downloaded):

1. The class order (index -> WordNet id): ``tensorflow_datasets/datasets/imagenet2012/labels.txt``
   from the installed ``tensorflow-datasets`` package (1000 lines, ``n01440764`` ...), the
   order of ImageNet-1k class indices used by Keras/TF/PyTorch classifiers.
2. The lemma lists: Princeton WordNet 3.0 ``data.noun`` as shipped by Debian's
   ``wordnet-base`` package (``apt-get install wordnet-base`` -> ``/usr/share/wordnet/data.noun``).
   An ImageNet WordNet id ``nXXXXXXXX`` is the noun synset at byte offset ``XXXXXXXX``.

Usage (the command line is keras_style/cli/make_imagenet_classes.py)::

    python -m keras_style.cli.make_imagenet_classes [--wordnet /usr/share/wordnet/data.noun]
"""

from __future__ import annotations

import datetime
import importlib.util
import os
from pathlib import Path

OUT = Path(__file__).with_name("imagenet_classes.tsv")


def tfds_labels_path() -> Path:
    spec = importlib.util.find_spec("tensorflow_datasets")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("tensorflow-datasets is not installed (pip install tensorflow-datasets).")
    root = Path(list(spec.submodule_search_locations)[0])
    return root / "datasets" / "imagenet2012" / "labels.txt"


def read_synsets(data_noun: Path, offsets: set[str]) -> dict[str, list[str]]:
    """{offset: [lemma, ...]} for the requested noun synsets (lemmas with spaces)."""
    out = {}
    with open(data_noun, encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):  # licence header
                continue
            fields = line.split(" ")
            if fields[0] not in offsets:
                continue
            w_cnt = int(fields[3], 16)
            words = [fields[4 + 2 * i] for i in range(w_cnt)]
            out[fields[0]] = [w.replace("_", " ") for w in words]
    return out


def write_imagenet_classes(wordnet="/usr/share/wordnet/data.noun", labels=None, out=OUT):
    """Write the ``imagenet_classes.tsv`` table to ``out`` (atomically); returns ``out``."""
    out = str(out)
    labels = Path(labels) if labels else tfds_labels_path()
    wnids = [line.strip() for line in labels.read_text().splitlines() if line.strip()]
    if len(wnids) != 1000:
        raise SystemExit(f"{labels} has {len(wnids)} ids, expected 1000.")
    synsets = read_synsets(Path(wordnet), {w[1:] for w in wnids})
    missing = [w for w in wnids if w[1:] not in synsets]
    if missing:
        raise SystemExit(f"{len(missing)} ids not found in {wordnet}: {missing[:5]}")
    import tensorflow_datasets

    header = [
        "# ImageNet-1k classes: index <TAB> WordNet id <TAB> WordNet 3.0 lemmas (comma-separated).",
        f"# Generated offline on {datetime.date.today().isoformat()} by "
        "keras_style/methods/finetune/make_imagenet_classes.py from:",
        f"#  - class order: tensorflow-datasets {tensorflow_datasets.__version__} "
        "datasets/imagenet2012/labels.txt",
        "#  - lemmas: Princeton WordNet 3.0 data.noun (Debian package wordnet-base 1:3.0-37),",
        "#    synset at byte offset = the WordNet id's digits; underscores replaced by spaces.",
        "# WordNet licence: https://wordnet.princeton.edu/license-and-commercial-use (permissive).",
    ]
    lines = [f"{i}\t{w}\t{', '.join(synsets[w[1:]])}" for i, w in enumerate(wnids)]
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(header + lines) + "\n")
    os.replace(tmp, out)
    print(f"wrote {out}: {len(lines)} classes")
    return out
