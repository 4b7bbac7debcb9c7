"""``python -m keras_style.cli.make_imagenet_classes``: regenerate
``keras_style/methods/finetune/imagenet_classes.tsv`` offline (a maintainer tool, not a
``keras-style`` command; the work is `keras_style.methods.finetune.make_imagenet_classes`)."""

from __future__ import annotations

import argparse


def main(argv=None):
    from keras_style.methods.finetune import make_imagenet_classes as lib

    ap = argparse.ArgumentParser(description=lib.__doc__.split("\n\n")[0])
    ap.add_argument("--wordnet", default="/usr/share/wordnet/data.noun")
    ap.add_argument("--labels", default=None, help="override the tfds labels.txt path")
    ap.add_argument("--out", default=str(lib.OUT))
    args = ap.parse_args(argv)
    lib.write_imagenet_classes(wordnet=args.wordnet, labels=args.labels, out=args.out)
    return 0


if __name__ == "__main__":
    main()
