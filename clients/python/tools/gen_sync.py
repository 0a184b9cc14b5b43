#!/usr/bin/env python3
"""Writes src/tcpemu/_sync, the blocking client, from src/tcpemu/_async.

The client is written once, for asyncio, in tcpemu._async; unasync
(python-trio's unasync) turns each module into its blocking twin: ``async
def`` becomes ``def``, ``await`` and ``async for``/``with`` go,
``__aenter__`` becomes ``__enter__`` and so on, tcpemu._async imports become
tcpemu._sync ones, and tcpemu._async_support (channels, waiting, background
work on asyncio) becomes tcpemu._sync_support (the same with threads).

    python tools/gen_sync.py            # rewrite src/tcpemu/_sync in place
    python tools/gen_sync.py OUT_DIR    # write the modules to OUT_DIR instead
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
PACKAGE = HERE.parent / "src" / "tcpemu"
ASYNC_DIR = PACKAGE / "_async"
SYNC_DIR = PACKAGE / "_sync"

# Names unasync changes besides its own (async iterators, context managers).
REPLACEMENTS = {"_async": "_sync", "_async_support": "_sync_support"}

HEADER = (
    "# Generated from tcpemu/_async/{name} by tools/gen_sync.py (unasync): do not\n"
    "# edit. Change the asyncio module and run 'python tools/gen_sync.py' in\n"
    "# clients/python.\n"
)
INIT = '''"""The blocking client, generated from tcpemu._async by tools/gen_sync.py;
the public module is tcpemu.client."""
'''


def generate(out_dir: pathlib.Path) -> None:
    """Writes _sync's modules (and its __init__.py) to out_dir."""
    import unasync  # dev dependency

    sources = sorted(p for p in ASYNC_DIR.glob("*.py") if p.name != "__init__.py")
    with tempfile.TemporaryDirectory() as tmp:
        # unasync maps a directory to another: work on copies, in a tree of
        # its own, so that the output never lands next to the sources.
        src = pathlib.Path(tmp) / "_async"
        dst = pathlib.Path(tmp) / "_sync"
        src.mkdir()
        for p in sources:
            shutil.copyfile(p, src / p.name)
        rule = unasync.Rule(
            fromdir=f"{src}/", todir=f"{dst}/", additional_replacements=REPLACEMENTS
        )
        unasync.unasync_files([str(src / p.name) for p in sources], [rule])
        out_dir.mkdir(parents=True, exist_ok=True)
        for p in sources:
            text = (dst / p.name).read_text()
            (out_dir / p.name).write_text(HEADER.format(name=p.name) + text)
    (out_dir / "__init__.py").write_text(INIT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", type=pathlib.Path, default=None)
    args = parser.parse_args()
    if args.out_dir is not None:
        generate(args.out_dir)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(pathlib.Path(tmp))
        shutil.rmtree(SYNC_DIR, ignore_errors=True)
        shutil.copytree(tmp, SYNC_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
