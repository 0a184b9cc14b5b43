#!/usr/bin/env python3
"""Checks that the includes of engine/ and server/ run one way.

Every C++ file under engine/<layer>/ and server/ belongs to a layer, and may
include headers of its own layer and of lower layers only:

    base < wire < tcp, link < trace < sim < io, scenario < cli, server

Layers of the same rank (tcp and link; cli and server) do not include each
other. io sits above sim because the TAP device is an interface of a sim
Network (engine/io/tap_device.h includes engine/sim/interface.h). The engine
also never includes gRPC, protobuf or Prometheus headers. docs/architecture.md
describes the layers.

Usage: scripts/check_layers.py [ROOT]   (ROOT: the repository, by default the
parent of this script's directory). Prints one line per violation, naming
file:line, and exits 1 if there is any.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

# Rank of each layer: a file may include its own layer and any of lower rank.
LAYERS: dict[str, int] = {
    "base": 0,
    "wire": 1,
    "tcp": 2,
    "link": 2,
    "trace": 3,
    "sim": 4,
    "io": 5,
    "scenario": 5,
    "cli": 6,
    "server": 6,
}

# Headers the engine must not include: the RPC and metrics edge is server/.
ENGINE_FORBIDDEN_PREFIXES = (
    "grpc/",
    "grpcpp/",
    "google/protobuf/",
    "prometheus/",
    "tcpemu/v1/",
)

SOURCE_SUFFIXES = (".h", ".cc")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


@dataclass(frozen=True)
class Violation:
    path: str  # relative to the root, with forward slashes
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def layer_of(path: str) -> str | None:
    """The layer of a repository-relative path, or None if it has none.

    Raises ValueError for a directory under engine/ that has no layer yet.
    """
    parts = path.split("/")
    if parts[0] == "server":
        return "server"
    if parts[0] == "engine" and len(parts) > 2:
        if parts[1] not in LAYERS:
            raise ValueError(
                f"engine/{parts[1]}/ has no layer: add it to LAYERS in "
                "scripts/check_layers.py and to docs/architecture.md"
            )
        return parts[1]
    return None


def allowed(layer: str) -> list[str]:
    """The layers a file of `layer` may include, lowest first."""
    rank = LAYERS[layer]
    return [
        name
        for name, r in sorted(LAYERS.items(), key=lambda kv: kv[1])
        if r < rank or name == layer
    ]


def check_file(root: Path, file: Path) -> list[Violation]:
    rel = file.relative_to(root).as_posix()
    try:
        layer = layer_of(rel)
    except ValueError as e:
        return [Violation(rel, 1, str(e))]
    if layer is None:
        return []
    violations: list[Violation] = []
    text = file.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        m = INCLUDE.match(line)
        if not m:
            continue
        quote, header = m.groups()
        if layer != "server" and header.startswith(ENGINE_FORBIDDEN_PREFIXES):
            violations.append(
                Violation(
                    rel,
                    number,
                    f"{layer} includes {header}: the engine never includes "
                    "gRPC, protobuf or Prometheus headers",
                )
            )
            continue
        if quote != '"':
            continue
        try:
            target = layer_of(header)
        except ValueError as e:
            violations.append(Violation(rel, number, str(e)))
            continue
        if target is None or target in allowed(layer):
            continue
        violations.append(
            Violation(
                rel,
                number,
                f"{layer} includes {header} (layer {target}); {layer} may "
                f"include only {', '.join(allowed(layer))}",
            )
        )
    return violations


def check(root: Path) -> list[Violation]:
    """Every violation in engine/ and server/ under `root`, in path order."""
    files = sorted(
        f
        for top in ("engine", "server")
        if (root / top).is_dir()
        for f in (root / top).rglob("*")
        if f.is_file() and f.suffix in SOURCE_SUFFIXES
    )
    violations: list[Violation] = []
    for file in files:
        violations.extend(check_file(root, file))
    return violations


def main(argv: list[str]) -> int:
    if len(argv) > 2:
        print(f"usage: {argv[0]} [ROOT]", file=sys.stderr)
        return 2
    root = Path(argv[1]) if len(argv) == 2 else Path(__file__).parent.parent
    if not (root / "engine").is_dir():
        print(f"{root}: no engine/ directory", file=sys.stderr)
        return 2
    violations = check(root.resolve())
    for v in violations:
        print(v)
    if violations:
        print(
            f"{len(violations)} include(s) against the layering "
            "(base < wire < tcp, link < trace < sim < io, scenario < cli, server)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
