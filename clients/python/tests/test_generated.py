"""The committed stubs in src/tcpemu/_gen must be what tools/genproto.py
makes from proto/ now: regenerate into a temporary directory and compare."""

from __future__ import annotations

import ast
import filecmp
import importlib.util
import pathlib
import sys

import pytest

from conftest import PACKAGE_ROOT, REPO_ROOT

GEN = PACKAGE_ROOT / "src" / "tcpemu" / "_gen"


def _genproto():
    spec = importlib.util.spec_from_file_location(
        "genproto", PACKAGE_ROOT / "tools" / "genproto.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _files(root: pathlib.Path) -> set[str]:
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_generated_code_is_current(tmp_path):
    if importlib.util.find_spec("grpc_tools") is None:
        pytest.fail("grpcio-tools is not installed: pip install './clients/python[dev]'")
    proto = REPO_ROOT / "proto" / "tcpemu" / "v1" / "tcpemu.proto"
    assert proto.is_file(), f"{proto} is missing"
    _genproto().generate(tmp_path)
    assert _files(tmp_path) == _files(GEN)
    stale = [
        name for name in sorted(_files(GEN)) if not filecmp.cmp(GEN / name, tmp_path / name, False)
    ]
    assert not stale, (
        f"src/tcpemu/_gen is stale ({', '.join(stale)}): run "
        f"'{sys.executable} tools/genproto.py' in clients/python and commit the result"
    )


def test_generated_imports_use_the_package_path():
    grpc_module = (GEN / "tcpemu" / "v1" / "tcpemu_pb2_grpc.py").read_text()
    assert "from tcpemu._gen.tcpemu.v1 import tcpemu_pb2" in grpc_module
    assert "from tcpemu.v1 import" not in grpc_module
    from tcpemu import pb
    from tcpemu._gen.tcpemu.v1 import tcpemu_pb2_grpc

    assert pb.DESCRIPTOR.name == "tcpemu/v1/tcpemu.proto"
    assert tcpemu_pb2_grpc.tcpemu_dot_v1_dot_tcpemu__pb2 is pb


SYNC = PACKAGE_ROOT / "src" / "tcpemu" / "_sync"


def _gen_sync():
    spec = importlib.util.spec_from_file_location(
        "gen_sync", PACKAGE_ROOT / "tools" / "gen_sync.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_blocking_client_is_generated_from_the_asyncio_one(tmp_path):
    if importlib.util.find_spec("unasync") is None:
        pytest.fail("unasync is not installed: pip install './clients/python[dev]'")
    _gen_sync().generate(tmp_path)
    assert _files(tmp_path) == _files(SYNC)
    stale = [
        name
        for name in sorted(_files(SYNC))
        if not filecmp.cmp(SYNC / name, tmp_path / name, False)
    ]
    assert not stale, (
        f"src/tcpemu/_sync is stale ({', '.join(stale)}): run "
        f"'{sys.executable} tools/gen_sync.py' in clients/python and commit the result"
    )


def test_blocking_client_has_no_asyncio():
    for path in sorted(SYNC.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            assert not isinstance(
                node, (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith)
            ), f"{path.name}:{node.lineno}"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                assert not any("asyncio" in n or "_async" in n for n in names), (
                    f"{path.name}:{node.lineno}"
                )
