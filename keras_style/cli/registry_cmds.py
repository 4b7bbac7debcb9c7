"""`keras-style list` and `keras-style info`."""

from __future__ import annotations

import json


def add_parsers(sub):
    from keras_style.registry import DEPRECATED_KINDS, KINDS

    p = sub.add_parser("list", help="list registered names")
    p.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern, e.g. 'vgg*'")
    p.add_argument(
        "--kind",
        choices=KINDS + tuple(DEPRECATED_KINDS),
        help="only this kind (method: trainable method classes, network: bare architectures, "
        "preset: pretrained-weights entries; 'model' = all three, deprecated)",
    )
    p.add_argument("--long", action="store_true", help="show kind and summary")
    p.set_defaults(func=_list)

    p = sub.add_parser("info", help="describe a registered name")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_info)


def _list(args):
    import sys
    import warnings

    import keras_style as ks

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        found = ks.names(args.pattern, kind=args.kind)
    for w in caught:  # `--kind model`: say which kinds to use instead
        if issubclass(w.category, DeprecationWarning):
            print(f"keras-style list: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for n in found:
        if args.long:
            d = ks.describe(n)
            print(f"{n:32s} {d['kind']:13s} {d['summary']}")
        else:
            print(n)
    return 0


def _info(args):
    import keras_style as ks

    d = ks.describe(args.name)
    if args.json:
        print(json.dumps(d, indent=2, default=repr))
        return 0
    print(f"{d['name']}  ({d['kind']})")
    if d["summary"]:
        print(f"  {d['summary']}")
    if d["paper"]:
        print(f"  paper: {d['paper']}")
    if d["aliases"]:
        print(f"  aliases: {', '.join(d['aliases'])}")
    if d["notes"]:
        print(f"  notes: {d['notes']}")
    if d["defaults"]:
        print("  defaults:")
        for k, v in d["defaults"].items():
            print(f"    {k} = {v!r}")
    return 0
