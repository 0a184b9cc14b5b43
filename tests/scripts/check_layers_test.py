"""Tests of scripts/check_layers.py on small fixture trees and on this tree."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def _load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_layers", ROOT / "scripts" / "check_layers.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_layers"] = module
    spec.loader.exec_module(module)
    return module


check_layers = _load_checker()


def write(root: Path, path: str, *includes: str) -> None:
    file = root / path
    file.parent.mkdir(parents=True, exist_ok=True)
    lines = ["// fixture", "#pragma once", ""]
    lines += [f"#include {inc}" for inc in includes]
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")


def messages(root: Path) -> list[str]:
    return [str(v) for v in check_layers.check(root)]


def test_downward_and_same_layer_includes_pass(tmp_path: Path) -> None:
    write(tmp_path, "engine/base/time.h", "<cstdint>", '"absl/time/time.h"')
    write(tmp_path, "engine/wire/seq.h", '"engine/base/time.h"')
    write(tmp_path, "engine/tcp/connection.h", '"engine/wire/seq.h"')
    write(tmp_path, "engine/tcp/connection.cc", '"engine/tcp/connection.h"')
    write(tmp_path, "engine/link/path.h", '"engine/base/time.h"')
    write(tmp_path, "engine/trace/pcap.h", '"engine/wire/seq.h"')
    write(
        tmp_path,
        "engine/sim/network.h",
        '"engine/tcp/connection.h"',
        '"engine/link/path.h"',
        '"engine/trace/pcap.h"',
    )
    write(tmp_path, "engine/io/tap_device.h", '"engine/sim/network.h"')
    write(tmp_path, "engine/cli/sim_options.h", '"engine/sim/network.h"')
    write(
        tmp_path,
        "server/shard.h",
        '"engine/io/tap_device.h"',
        '"tcpemu/v1/tcpemu.pb.h"',
        "<grpcpp/grpcpp.h>",
    )
    assert messages(tmp_path) == []


def test_upward_include_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "engine/sim/time.h")
    write(tmp_path, "engine/wire/arp.h", "<cstdint>", '"engine/sim/time.h"')
    assert messages(tmp_path) == [
        "engine/wire/arp.h:5: wire includes engine/sim/time.h (layer sim); "
        "wire may include only base, wire"
    ]


@pytest.mark.parametrize(
    ("path", "include"),
    [
        ("engine/base/event.h", '"engine/wire/seq.h"'),
        ("engine/tcp/connection.h", '"engine/trace/event.h"'),
        ("engine/link/path.h", '"engine/sim/rng.h"'),
        ("engine/trace/jsonl.h", '"engine/sim/network.h"'),
        ("engine/sim/network.h", '"engine/io/tap_device.h"'),
        ("engine/io/tap_device.h", '"engine/cli/units.h"'),
        ("engine/cli/units.h", '"server/shard.h"'),
    ],
)
def test_every_upward_step_fails(tmp_path: Path, path: str, include: str) -> None:
    write(tmp_path, path, include)
    found = messages(tmp_path)
    assert len(found) == 1
    assert found[0].startswith(f"{path}:4: ")


@pytest.mark.parametrize(
    ("path", "include"),
    [
        ("engine/tcp/connection.cc", '"engine/link/path.h"'),
        ("engine/link/fault.cc", '"engine/tcp/connection.h"'),
        ("engine/cli/units.cc", '"server/shard.h"'),
        ("server/shard.cc", '"engine/cli/units.h"'),
    ],
)
def test_same_rank_layers_do_not_include_each_other(
    tmp_path: Path, path: str, include: str
) -> None:
    write(tmp_path, path, include)
    assert len(messages(tmp_path)) == 1


@pytest.mark.parametrize(
    "include",
    [
        "<grpcpp/grpcpp.h>",
        '"google/protobuf/message.h"',
        '"prometheus/counter.h"',
        '"tcpemu/v1/tcpemu.pb.h"',
    ],
)
def test_engine_never_includes_rpc_or_metrics_headers(tmp_path: Path, include: str) -> None:
    write(tmp_path, "engine/sim/network.cc", include)
    found = messages(tmp_path)
    assert len(found) == 1
    assert "never includes gRPC, protobuf or Prometheus" in found[0]


def test_directory_without_a_layer_fails(tmp_path: Path) -> None:
    write(tmp_path, "engine/extra/thing.h")
    write(tmp_path, "engine/sim/network.h", '"engine/extra/thing.h"')
    found = messages(tmp_path)
    assert len(found) == 2
    assert all("engine/extra/ has no layer" in m for m in found)


def test_main_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "engine/base/time.h")
    assert check_layers.main(["check_layers.py", str(tmp_path)]) == 0
    write(tmp_path, "engine/base/rng.h", '"engine/sim/time.h"')
    assert check_layers.main(["check_layers.py", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("engine/base/rng.h:4: base includes engine/sim/time.h")
    assert check_layers.main(["check_layers.py", str(tmp_path / "none")]) == 2


def test_this_tree_follows_the_layering() -> None:
    assert messages(ROOT) == []
