"""What the blocking and the asyncio clients share beside the request
builders (tcpemu._requests): the default target, channel options, and the
checks of Session.wait_for."""

from __future__ import annotations

import os
from typing import Any, Optional, Tuple, Union

from tcpemu import _names
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu.model import SessionSnapshot
from tcpemu.spec import PathSpec

DEFAULT_TARGET = "127.0.0.1:50051"
# Read returns up to 4 MiB and Write takes as much: above gRPC's 4 MiB default.
CHANNEL_OPTIONS: Tuple[Tuple[str, Any], ...] = (
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
)


def default_target() -> str:
    """``$TCPEMU_TARGET``, else 127.0.0.1:50051."""
    return os.environ.get("TCPEMU_TARGET") or DEFAULT_TARGET


def link_params(**params: Any) -> PathSpec:
    return PathSpec(**{k: v for k, v in params.items() if v is not None})


def state_reached(snap: SessionSnapshot, endpoint: str, target: Optional[int]) -> bool:
    """Whether `endpoint` is in state `target` (None: the session is destroyed)."""
    if target is None:
        return snap.destroyed
    ep = snap.client if _names.endpoint(endpoint) == pb.ENDPOINT_CLIENT else snap.server
    return bool(ep.tcb.state == target)


def wait_target(state: Union[str, int]) -> Optional[int]:
    if isinstance(state, str) and state.strip().lower() == "destroyed":
        return None
    return _names.state(state)


def describe(snap: SessionSnapshot, endpoint: str) -> str:
    ep = snap.endpoint(endpoint)
    return f"{endpoint} is {ep.state}" + (" (destroyed)" if snap.destroyed else "")


def target_name(state: Union[str, int]) -> str:
    target = wait_target(state)
    return "destroyed" if target is None else _names.state_name(target)
