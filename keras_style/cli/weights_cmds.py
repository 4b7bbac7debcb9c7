"""`keras-style weights list | info NAME | verify NAME`."""

from __future__ import annotations

import json


def add_parsers(sub):
    p = sub.add_parser("weights", help="the pretrained-weights registry")
    wsub = p.add_subparsers(dest="weights_command", metavar="ACTION")
    wsub.required = True
    q = wsub.add_parser("list", help="list weights and where they would come from")
    q.set_defaults(func=_list)
    q = wsub.add_parser("info", help="show a weights manifest")
    q.add_argument("name")
    q.set_defaults(func=_info)
    q = wsub.add_parser("verify", help="find the file locally (no download) and check its hash")
    q.add_argument("name", help="a weights name or a path to a weights file")
    q.set_defaults(func=_verify)


def _list(args):
    from keras_style import weights

    for n in weights.names():
        m = weights.manifest(n)
        st = weights.status(n)
        mark = "available" if st["available"] else st["how"]
        print(f"{n:28s} -> {m['loads_into']['name']:12s} [{mark}]  {m['description']}")
    return 0


def _info(args):
    from keras_style import weights

    m = weights.manifest(args.name)
    m["status"] = weights.status(args.name)
    print(json.dumps(m, indent=2))
    return 0


def _looks_like_path(s: str) -> bool:
    import os

    return os.sep in s or s.endswith((".h5", ".keras", ".weights.h5")) or os.path.exists(s)


def _verify(args):
    from keras_style import weights

    if _looks_like_path(args.name):
        # the file itself, every tensor read (a name's file is also checked against its hash)
        from keras_style.cli._collect import check_weights_file

        count, size = check_weights_file(args.name)
        print(f"ok: {args.name} ({count} tensors, {size:,} bytes, all readable)")
        return 0
    path = weights.verify(args.name)
    print(f"ok: {path}")
    return 0
