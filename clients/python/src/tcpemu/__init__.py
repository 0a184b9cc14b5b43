"""tcpemu: a Python client for tcpemud, the tcpemu network-emulation daemon.

    import tcpemu

    with tcpemu.Client("127.0.0.1:50051") as client:
        link = client.create_link(delay="50ms", rate="10Mbit", loss=0.01)
        session = client.open_session(link, client=tcpemu.TcpConfig(nodelay=True))
        session.write(fill=1_000_000, wait="30s")

``tcpemu.aio`` has the same calls for asyncio; ``tcpemu.analysis`` and
``tcpemu.plot`` turn events into a DataFrame and a time-sequence graph;
``tcpemu.ShardedClient`` (``tcpemu.sharding``) spreads keys over several
tcpemud replicas; ``client.create_proxy`` puts real applications'
connections on an emulated path, with ``tcpemu.toxics`` as their faults.
"""

from tcpemu import toxics
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu.client import (
    DEFAULT_TARGET,
    Client,
    EventStream,
    Interface,
    Link,
    Listener,
    Network,
    Session,
)
from tcpemu.errors import (
    AlreadyExists,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    TcpemuError,
    Unauthenticated,
    Unavailable,
)
from tcpemu.events import event_from_dict, event_to_dict, format_event, read_jsonl, write_jsonl
from tcpemu.model import (
    AdvanceResult,
    Counters,
    EndpointSnapshot,
    Fault,
    Gap,
    ReadResult,
    Remote,
    SessionSnapshot,
)
from tcpemu.proxy import Proxy, ProxyEventStream
from tcpemu.security import TLS
from tcpemu.sharding import ShardedClient
from tcpemu.spec import Jitter, PathSpec, TcpConfig
from tcpemu.toxics import Toxic
from tcpemu.units import (
    format_duration,
    format_rate,
    format_size,
    parse_duration,
    parse_probability,
    parse_rate,
    parse_size,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_TARGET",
    "TLS",
    "AdvanceResult",
    "AlreadyExists",
    "Cancelled",
    "Client",
    "Counters",
    "DeadlineExceeded",
    "EndpointSnapshot",
    "EventStream",
    "FailedPrecondition",
    "Fault",
    "Gap",
    "Interface",
    "Internal",
    "InvalidArgument",
    "Jitter",
    "Link",
    "Listener",
    "Network",
    "NotFound",
    "PathSpec",
    "PermissionDenied",
    "Proxy",
    "ProxyEventStream",
    "ReadResult",
    "Remote",
    "ResourceExhausted",
    "Session",
    "SessionSnapshot",
    "ShardedClient",
    "TcpConfig",
    "TcpemuError",
    "Toxic",
    "Unauthenticated",
    "Unavailable",
    "__version__",
    "event_from_dict",
    "event_to_dict",
    "format_duration",
    "format_event",
    "format_rate",
    "format_size",
    "parse_duration",
    "parse_probability",
    "parse_rate",
    "parse_size",
    "pb",
    "read_jsonl",
    "toxics",
    "write_jsonl",
]
