"""RunScenario: a scenario file run by the daemon on a VIRTUAL network of its
own (docs/experiments.md), with progress as virtual time advances."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

import grpc

from tcpemu._async.client import Client
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu.errors import from_rpc_error

# on_progress(virtual seconds reached, scenario duration in seconds)
ProgressFn = Callable[[float, float], None]


def _seconds(d: Any) -> float:
    return float(d.seconds) + float(d.nanos) / 1e9


async def run_scenario(
    client: Client,
    scenario_yaml: str,
    *,
    overrides: Sequence[str] = (),
    seed: Optional[int] = None,
    files: Optional[Mapping[str, str]] = None,
    on_progress: Optional[ProgressFn] = None,
    timeout: Optional[float] = None,
) -> str:
    """Runs `scenario_yaml` and returns its summary.json text (the same bytes
    tcpemu-sim --scenario writes for the same file, seed and overrides).

    `files` maps the names the scenario uses for trace files to their text.
    `timeout` (seconds, default none) bounds the whole run."""
    req = pb.RunScenarioRequest(scenario_yaml=scenario_yaml, set=list(overrides))
    if seed is not None:
        req.seed = seed
    for name, text in (files or {}).items():
        req.files[name] = text
    summary = ""
    try:
        async for msg in client.stub.RunScenario(req, timeout=timeout):
            if msg.summary_json:
                summary = msg.summary_json
            elif on_progress is not None:
                on_progress(_seconds(msg.virtual_time), _seconds(msg.duration))
    except grpc.RpcError as e:
        raise from_rpc_error(e) from None
    if not summary:
        raise RuntimeError("RunScenario ended without a summary")
    return summary
