import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ClockKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLOCK_KIND_UNSPECIFIED: _ClassVar[ClockKind]
    CLOCK_KIND_REALTIME: _ClassVar[ClockKind]
    CLOCK_KIND_VIRTUAL: _ClassVar[ClockKind]

class CongestionControl(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONGESTION_CONTROL_UNSPECIFIED: _ClassVar[CongestionControl]
    CONGESTION_CONTROL_NEWRENO: _ClassVar[CongestionControl]
    CONGESTION_CONTROL_CUBIC: _ClassVar[CongestionControl]
    CONGESTION_CONTROL_BBR: _ClassVar[CongestionControl]

class StackFlavor(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STACK_FLAVOR_UNSPECIFIED: _ClassVar[StackFlavor]
    STACK_FLAVOR_LINUX: _ClassVar[StackFlavor]
    STACK_FLAVOR_FREEBSD: _ClassVar[StackFlavor]

class Endpoint(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENDPOINT_UNSPECIFIED: _ClassVar[Endpoint]
    ENDPOINT_CLIENT: _ClassVar[Endpoint]
    ENDPOINT_SERVER: _ClassVar[Endpoint]

class TcpState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TCP_STATE_UNSPECIFIED: _ClassVar[TcpState]
    TCP_STATE_CLOSED: _ClassVar[TcpState]
    TCP_STATE_LISTEN: _ClassVar[TcpState]
    TCP_STATE_SYN_SENT: _ClassVar[TcpState]
    TCP_STATE_SYN_RECEIVED: _ClassVar[TcpState]
    TCP_STATE_ESTABLISHED: _ClassVar[TcpState]
    TCP_STATE_FIN_WAIT_1: _ClassVar[TcpState]
    TCP_STATE_FIN_WAIT_2: _ClassVar[TcpState]
    TCP_STATE_CLOSE_WAIT: _ClassVar[TcpState]
    TCP_STATE_CLOSING: _ClassVar[TcpState]
    TCP_STATE_LAST_ACK: _ClassVar[TcpState]
    TCP_STATE_TIME_WAIT: _ClassVar[TcpState]

class ErrorCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_CODE_UNSPECIFIED: _ClassVar[ErrorCode]
    ERROR_CODE_TIMED_OUT: _ClassVar[ErrorCode]
    ERROR_CODE_RESET: _ClassVar[ErrorCode]
    ERROR_CODE_REFUSED: _ClassVar[ErrorCode]
    ERROR_CODE_ABORTED: _ClassVar[ErrorCode]

class CcPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CC_PHASE_UNSPECIFIED: _ClassVar[CcPhase]
    CC_PHASE_SLOW_START: _ClassVar[CcPhase]
    CC_PHASE_CONGESTION_AVOIDANCE: _ClassVar[CcPhase]
    CC_PHASE_RECOVERY: _ClassVar[CcPhase]
    CC_PHASE_STARTUP: _ClassVar[CcPhase]
    CC_PHASE_DRAIN: _ClassVar[CcPhase]
    CC_PHASE_PROBE_BW: _ClassVar[CcPhase]
    CC_PHASE_PROBE_RTT: _ClassVar[CcPhase]

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIRECTION_UNSPECIFIED: _ClassVar[Direction]
    DIRECTION_FORWARD: _ClassVar[Direction]
    DIRECTION_REVERSE: _ClassVar[Direction]
    DIRECTION_BOTH: _ClassVar[Direction]

class TcpFlag(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TCP_FLAG_UNSPECIFIED: _ClassVar[TcpFlag]
    TCP_FLAG_FIN: _ClassVar[TcpFlag]
    TCP_FLAG_SYN: _ClassVar[TcpFlag]
    TCP_FLAG_RST: _ClassVar[TcpFlag]
    TCP_FLAG_PSH: _ClassVar[TcpFlag]
    TCP_FLAG_ACK: _ClassVar[TcpFlag]
    TCP_FLAG_URG: _ClassVar[TcpFlag]

class FaultAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAULT_ACTION_UNSPECIFIED: _ClassVar[FaultAction]
    FAULT_ACTION_DROP: _ClassVar[FaultAction]
    FAULT_ACTION_DELAY: _ClassVar[FaultAction]
    FAULT_ACTION_DUPLICATE: _ClassVar[FaultAction]
    FAULT_ACTION_CORRUPT: _ClassVar[FaultAction]
    FAULT_ACTION_REORDER: _ClassVar[FaultAction]

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    EVENT_KIND_SEGMENT_SENT: _ClassVar[EventKind]
    EVENT_KIND_SEGMENT_RECEIVED: _ClassVar[EventKind]
    EVENT_KIND_SEGMENT_DROPPED: _ClassVar[EventKind]
    EVENT_KIND_SEGMENT_MANGLED: _ClassVar[EventKind]
    EVENT_KIND_STATE_CHANGED: _ClassVar[EventKind]
    EVENT_KIND_TIMER_ARMED: _ClassVar[EventKind]
    EVENT_KIND_TIMER_FIRED: _ClassVar[EventKind]
    EVENT_KIND_APP_WRITE: _ClassVar[EventKind]
    EVENT_KIND_APP_READ: _ClassVar[EventKind]
    EVENT_KIND_RTT_SAMPLE: _ClassVar[EventKind]
    EVENT_KIND_CWND_CHANGED: _ClassVar[EventKind]
    EVENT_KIND_CONNECTION_ERROR: _ClassVar[EventKind]
    EVENT_KIND_SESSION_DESTROYED: _ClassVar[EventKind]
    EVENT_KIND_SESSION_ACCEPTED: _ClassVar[EventKind]
    EVENT_KIND_CLOCK_BEHIND: _ClassVar[EventKind]
    EVENT_KIND_CLOCK_CAUGHT_UP: _ClassVar[EventKind]
    EVENT_KIND_LINK_CHANGED: _ClassVar[EventKind]
    EVENT_KIND_QUEUE_SAMPLE: _ClassVar[EventKind]

class ToxicStream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TOXIC_STREAM_UNSPECIFIED: _ClassVar[ToxicStream]
    TOXIC_STREAM_DOWNSTREAM: _ClassVar[ToxicStream]
    TOXIC_STREAM_UPSTREAM: _ClassVar[ToxicStream]
CLOCK_KIND_UNSPECIFIED: ClockKind
CLOCK_KIND_REALTIME: ClockKind
CLOCK_KIND_VIRTUAL: ClockKind
CONGESTION_CONTROL_UNSPECIFIED: CongestionControl
CONGESTION_CONTROL_NEWRENO: CongestionControl
CONGESTION_CONTROL_CUBIC: CongestionControl
CONGESTION_CONTROL_BBR: CongestionControl
STACK_FLAVOR_UNSPECIFIED: StackFlavor
STACK_FLAVOR_LINUX: StackFlavor
STACK_FLAVOR_FREEBSD: StackFlavor
ENDPOINT_UNSPECIFIED: Endpoint
ENDPOINT_CLIENT: Endpoint
ENDPOINT_SERVER: Endpoint
TCP_STATE_UNSPECIFIED: TcpState
TCP_STATE_CLOSED: TcpState
TCP_STATE_LISTEN: TcpState
TCP_STATE_SYN_SENT: TcpState
TCP_STATE_SYN_RECEIVED: TcpState
TCP_STATE_ESTABLISHED: TcpState
TCP_STATE_FIN_WAIT_1: TcpState
TCP_STATE_FIN_WAIT_2: TcpState
TCP_STATE_CLOSE_WAIT: TcpState
TCP_STATE_CLOSING: TcpState
TCP_STATE_LAST_ACK: TcpState
TCP_STATE_TIME_WAIT: TcpState
ERROR_CODE_UNSPECIFIED: ErrorCode
ERROR_CODE_TIMED_OUT: ErrorCode
ERROR_CODE_RESET: ErrorCode
ERROR_CODE_REFUSED: ErrorCode
ERROR_CODE_ABORTED: ErrorCode
CC_PHASE_UNSPECIFIED: CcPhase
CC_PHASE_SLOW_START: CcPhase
CC_PHASE_CONGESTION_AVOIDANCE: CcPhase
CC_PHASE_RECOVERY: CcPhase
CC_PHASE_STARTUP: CcPhase
CC_PHASE_DRAIN: CcPhase
CC_PHASE_PROBE_BW: CcPhase
CC_PHASE_PROBE_RTT: CcPhase
DIRECTION_UNSPECIFIED: Direction
DIRECTION_FORWARD: Direction
DIRECTION_REVERSE: Direction
DIRECTION_BOTH: Direction
TCP_FLAG_UNSPECIFIED: TcpFlag
TCP_FLAG_FIN: TcpFlag
TCP_FLAG_SYN: TcpFlag
TCP_FLAG_RST: TcpFlag
TCP_FLAG_PSH: TcpFlag
TCP_FLAG_ACK: TcpFlag
TCP_FLAG_URG: TcpFlag
FAULT_ACTION_UNSPECIFIED: FaultAction
FAULT_ACTION_DROP: FaultAction
FAULT_ACTION_DELAY: FaultAction
FAULT_ACTION_DUPLICATE: FaultAction
FAULT_ACTION_CORRUPT: FaultAction
FAULT_ACTION_REORDER: FaultAction
EVENT_KIND_UNSPECIFIED: EventKind
EVENT_KIND_SEGMENT_SENT: EventKind
EVENT_KIND_SEGMENT_RECEIVED: EventKind
EVENT_KIND_SEGMENT_DROPPED: EventKind
EVENT_KIND_SEGMENT_MANGLED: EventKind
EVENT_KIND_STATE_CHANGED: EventKind
EVENT_KIND_TIMER_ARMED: EventKind
EVENT_KIND_TIMER_FIRED: EventKind
EVENT_KIND_APP_WRITE: EventKind
EVENT_KIND_APP_READ: EventKind
EVENT_KIND_RTT_SAMPLE: EventKind
EVENT_KIND_CWND_CHANGED: EventKind
EVENT_KIND_CONNECTION_ERROR: EventKind
EVENT_KIND_SESSION_DESTROYED: EventKind
EVENT_KIND_SESSION_ACCEPTED: EventKind
EVENT_KIND_CLOCK_BEHIND: EventKind
EVENT_KIND_CLOCK_CAUGHT_UP: EventKind
EVENT_KIND_LINK_CHANGED: EventKind
EVENT_KIND_QUEUE_SAMPLE: EventKind
TOXIC_STREAM_UNSPECIFIED: ToxicStream
TOXIC_STREAM_DOWNSTREAM: ToxicStream
TOXIC_STREAM_UPSTREAM: ToxicStream

class Network(_message.Message):
    __slots__ = ("id", "clock", "seed", "now", "link_count", "session_count", "shard")
    ID_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    LINK_COUNT_FIELD_NUMBER: _ClassVar[int]
    SESSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    SHARD_FIELD_NUMBER: _ClassVar[int]
    id: int
    clock: ClockKind
    seed: int
    now: _duration_pb2.Duration
    link_count: int
    session_count: int
    shard: int
    def __init__(self, id: _Optional[int] = ..., clock: _Optional[_Union[ClockKind, str]] = ..., seed: _Optional[int] = ..., now: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., link_count: _Optional[int] = ..., session_count: _Optional[int] = ..., shard: _Optional[int] = ...) -> None: ...

class CreateNetworkRequest(_message.Message):
    __slots__ = ("clock", "seed")
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    clock: ClockKind
    seed: int
    def __init__(self, clock: _Optional[_Union[ClockKind, str]] = ..., seed: _Optional[int] = ...) -> None: ...

class GetNetworkRequest(_message.Message):
    __slots__ = ("network_id",)
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    network_id: int
    def __init__(self, network_id: _Optional[int] = ...) -> None: ...

class ListNetworksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListNetworksResponse(_message.Message):
    __slots__ = ("networks",)
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    networks: _containers.RepeatedCompositeFieldContainer[Network]
    def __init__(self, networks: _Optional[_Iterable[_Union[Network, _Mapping]]] = ...) -> None: ...

class DeleteNetworkRequest(_message.Message):
    __slots__ = ("network_id",)
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    network_id: int
    def __init__(self, network_id: _Optional[int] = ...) -> None: ...

class AdvanceTimeRequest(_message.Message):
    __slots__ = ("network_id", "duration", "until_idle", "limit")
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    UNTIL_IDLE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    network_id: int
    duration: _duration_pb2.Duration
    until_idle: bool
    limit: _duration_pb2.Duration
    def __init__(self, network_id: _Optional[int] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., until_idle: bool = ..., limit: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class AdvanceTimeResponse(_message.Message):
    __slots__ = ("now", "idle")
    NOW_FIELD_NUMBER: _ClassVar[int]
    IDLE_FIELD_NUMBER: _ClassVar[int]
    now: _duration_pb2.Duration
    idle: bool
    def __init__(self, now: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., idle: bool = ...) -> None: ...

class Jitter(_message.Message):
    __slots__ = ("jitter", "distribution", "correlation", "keep_order")
    class Distribution(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        DISTRIBUTION_UNSPECIFIED: _ClassVar[Jitter.Distribution]
        DISTRIBUTION_UNIFORM: _ClassVar[Jitter.Distribution]
        DISTRIBUTION_NORMAL: _ClassVar[Jitter.Distribution]
    DISTRIBUTION_UNSPECIFIED: Jitter.Distribution
    DISTRIBUTION_UNIFORM: Jitter.Distribution
    DISTRIBUTION_NORMAL: Jitter.Distribution
    JITTER_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_FIELD_NUMBER: _ClassVar[int]
    KEEP_ORDER_FIELD_NUMBER: _ClassVar[int]
    jitter: _duration_pb2.Duration
    distribution: Jitter.Distribution
    correlation: float
    keep_order: bool
    def __init__(self, jitter: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., distribution: _Optional[_Union[Jitter.Distribution, str]] = ..., correlation: _Optional[float] = ..., keep_order: bool = ...) -> None: ...

class GilbertElliott(_message.Message):
    __slots__ = ("p", "r", "h", "k")
    P_FIELD_NUMBER: _ClassVar[int]
    R_FIELD_NUMBER: _ClassVar[int]
    H_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    p: float
    r: float
    h: float
    k: float
    def __init__(self, p: _Optional[float] = ..., r: _Optional[float] = ..., h: _Optional[float] = ..., k: _Optional[float] = ...) -> None: ...

class Loss(_message.Message):
    __slots__ = ("random", "gilbert_elliott")
    RANDOM_FIELD_NUMBER: _ClassVar[int]
    GILBERT_ELLIOTT_FIELD_NUMBER: _ClassVar[int]
    random: float
    gilbert_elliott: GilbertElliott
    def __init__(self, random: _Optional[float] = ..., gilbert_elliott: _Optional[_Union[GilbertElliott, _Mapping]] = ...) -> None: ...

class Aqm(_message.Message):
    __slots__ = ("kind", "ecn", "red_min_threshold", "red_max_threshold", "red_max_p", "red_weight", "red_gentle", "red_avpkt", "codel_target", "codel_interval", "fq_flows", "fq_quantum")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[Aqm.Kind]
        KIND_DROP_TAIL: _ClassVar[Aqm.Kind]
        KIND_RED: _ClassVar[Aqm.Kind]
        KIND_CODEL: _ClassVar[Aqm.Kind]
        KIND_FQ_CODEL: _ClassVar[Aqm.Kind]
    KIND_UNSPECIFIED: Aqm.Kind
    KIND_DROP_TAIL: Aqm.Kind
    KIND_RED: Aqm.Kind
    KIND_CODEL: Aqm.Kind
    KIND_FQ_CODEL: Aqm.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    ECN_FIELD_NUMBER: _ClassVar[int]
    RED_MIN_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    RED_MAX_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    RED_MAX_P_FIELD_NUMBER: _ClassVar[int]
    RED_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    RED_GENTLE_FIELD_NUMBER: _ClassVar[int]
    RED_AVPKT_FIELD_NUMBER: _ClassVar[int]
    CODEL_TARGET_FIELD_NUMBER: _ClassVar[int]
    CODEL_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    FQ_FLOWS_FIELD_NUMBER: _ClassVar[int]
    FQ_QUANTUM_FIELD_NUMBER: _ClassVar[int]
    kind: Aqm.Kind
    ecn: bool
    red_min_threshold: int
    red_max_threshold: int
    red_max_p: float
    red_weight: float
    red_gentle: bool
    red_avpkt: int
    codel_target: _duration_pb2.Duration
    codel_interval: _duration_pb2.Duration
    fq_flows: int
    fq_quantum: int
    def __init__(self, kind: _Optional[_Union[Aqm.Kind, str]] = ..., ecn: bool = ..., red_min_threshold: _Optional[int] = ..., red_max_threshold: _Optional[int] = ..., red_max_p: _Optional[float] = ..., red_weight: _Optional[float] = ..., red_gentle: bool = ..., red_avpkt: _Optional[int] = ..., codel_target: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., codel_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., fq_flows: _Optional[int] = ..., fq_quantum: _Optional[int] = ...) -> None: ...

class SchedulePoint(_message.Message):
    __slots__ = ("at", "ramp", "rate_bps", "delay", "jitter", "loss", "down")
    AT_FIELD_NUMBER: _ClassVar[int]
    RAMP_FIELD_NUMBER: _ClassVar[int]
    RATE_BPS_FIELD_NUMBER: _ClassVar[int]
    DELAY_FIELD_NUMBER: _ClassVar[int]
    JITTER_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    DOWN_FIELD_NUMBER: _ClassVar[int]
    at: _duration_pb2.Duration
    ramp: bool
    rate_bps: int
    delay: _duration_pb2.Duration
    jitter: _duration_pb2.Duration
    loss: float
    down: bool
    def __init__(self, at: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., ramp: bool = ..., rate_bps: _Optional[int] = ..., delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., jitter: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., loss: _Optional[float] = ..., down: bool = ...) -> None: ...

class LinkSchedule(_message.Message):
    __slots__ = ("points", "repeat", "ramp_step")
    POINTS_FIELD_NUMBER: _ClassVar[int]
    REPEAT_FIELD_NUMBER: _ClassVar[int]
    RAMP_STEP_FIELD_NUMBER: _ClassVar[int]
    points: _containers.RepeatedCompositeFieldContainer[SchedulePoint]
    repeat: _duration_pb2.Duration
    ramp_step: _duration_pb2.Duration
    def __init__(self, points: _Optional[_Iterable[_Union[SchedulePoint, _Mapping]]] = ..., repeat: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., ramp_step: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class DeliveryTrace(_message.Message):
    __slots__ = ("name", "mahimahi", "opportunities", "period")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MAHIMAHI_FIELD_NUMBER: _ClassVar[int]
    OPPORTUNITIES_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    name: str
    mahimahi: str
    opportunities: int
    period: _duration_pb2.Duration
    def __init__(self, name: _Optional[str] = ..., mahimahi: _Optional[str] = ..., opportunities: _Optional[int] = ..., period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class PathSpec(_message.Message):
    __slots__ = ("delay", "jitter", "rate_bps", "queue_limit_packets", "queue_limit_bytes", "loss", "duplicate", "reorder", "reorder_gap", "corrupt", "mtu", "aqm", "schedule", "trace", "queue_sample_interval")
    DELAY_FIELD_NUMBER: _ClassVar[int]
    JITTER_FIELD_NUMBER: _ClassVar[int]
    RATE_BPS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_LIMIT_PACKETS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_LIMIT_BYTES_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    REORDER_FIELD_NUMBER: _ClassVar[int]
    REORDER_GAP_FIELD_NUMBER: _ClassVar[int]
    CORRUPT_FIELD_NUMBER: _ClassVar[int]
    MTU_FIELD_NUMBER: _ClassVar[int]
    AQM_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_SAMPLE_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    delay: _duration_pb2.Duration
    jitter: Jitter
    rate_bps: int
    queue_limit_packets: int
    queue_limit_bytes: int
    loss: Loss
    duplicate: float
    reorder: float
    reorder_gap: int
    corrupt: float
    mtu: int
    aqm: Aqm
    schedule: LinkSchedule
    trace: DeliveryTrace
    queue_sample_interval: _duration_pb2.Duration
    def __init__(self, delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., jitter: _Optional[_Union[Jitter, _Mapping]] = ..., rate_bps: _Optional[int] = ..., queue_limit_packets: _Optional[int] = ..., queue_limit_bytes: _Optional[int] = ..., loss: _Optional[_Union[Loss, _Mapping]] = ..., duplicate: _Optional[float] = ..., reorder: _Optional[float] = ..., reorder_gap: _Optional[int] = ..., corrupt: _Optional[float] = ..., mtu: _Optional[int] = ..., aqm: _Optional[_Union[Aqm, _Mapping]] = ..., schedule: _Optional[_Union[LinkSchedule, _Mapping]] = ..., trace: _Optional[_Union[DeliveryTrace, _Mapping]] = ..., queue_sample_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class PathCounters(_message.Message):
    __slots__ = ("packets_sent", "bytes_sent", "packets_delivered", "bytes_delivered", "dropped_loss", "dropped_queue", "dropped_fault", "dropped_mtu", "duplicated", "corrupted", "reordered", "fault_hits", "queued_packets", "queued_bytes", "dropped_aqm", "ce_marked", "link_changes", "dequeued", "sojourn_ns_total")
    PACKETS_SENT_FIELD_NUMBER: _ClassVar[int]
    BYTES_SENT_FIELD_NUMBER: _ClassVar[int]
    PACKETS_DELIVERED_FIELD_NUMBER: _ClassVar[int]
    BYTES_DELIVERED_FIELD_NUMBER: _ClassVar[int]
    DROPPED_LOSS_FIELD_NUMBER: _ClassVar[int]
    DROPPED_QUEUE_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FAULT_FIELD_NUMBER: _ClassVar[int]
    DROPPED_MTU_FIELD_NUMBER: _ClassVar[int]
    DUPLICATED_FIELD_NUMBER: _ClassVar[int]
    CORRUPTED_FIELD_NUMBER: _ClassVar[int]
    REORDERED_FIELD_NUMBER: _ClassVar[int]
    FAULT_HITS_FIELD_NUMBER: _ClassVar[int]
    QUEUED_PACKETS_FIELD_NUMBER: _ClassVar[int]
    QUEUED_BYTES_FIELD_NUMBER: _ClassVar[int]
    DROPPED_AQM_FIELD_NUMBER: _ClassVar[int]
    CE_MARKED_FIELD_NUMBER: _ClassVar[int]
    LINK_CHANGES_FIELD_NUMBER: _ClassVar[int]
    DEQUEUED_FIELD_NUMBER: _ClassVar[int]
    SOJOURN_NS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    packets_sent: int
    bytes_sent: int
    packets_delivered: int
    bytes_delivered: int
    dropped_loss: int
    dropped_queue: int
    dropped_fault: int
    dropped_mtu: int
    duplicated: int
    corrupted: int
    reordered: int
    fault_hits: int
    queued_packets: int
    queued_bytes: int
    dropped_aqm: int
    ce_marked: int
    link_changes: int
    dequeued: int
    sojourn_ns_total: int
    def __init__(self, packets_sent: _Optional[int] = ..., bytes_sent: _Optional[int] = ..., packets_delivered: _Optional[int] = ..., bytes_delivered: _Optional[int] = ..., dropped_loss: _Optional[int] = ..., dropped_queue: _Optional[int] = ..., dropped_fault: _Optional[int] = ..., dropped_mtu: _Optional[int] = ..., duplicated: _Optional[int] = ..., corrupted: _Optional[int] = ..., reordered: _Optional[int] = ..., fault_hits: _Optional[int] = ..., queued_packets: _Optional[int] = ..., queued_bytes: _Optional[int] = ..., dropped_aqm: _Optional[int] = ..., ce_marked: _Optional[int] = ..., link_changes: _Optional[int] = ..., dequeued: _Optional[int] = ..., sojourn_ns_total: _Optional[int] = ...) -> None: ...

class Link(_message.Message):
    __slots__ = ("id", "network_id", "forward", "reverse", "forward_counters", "reverse_counters", "session_count")
    ID_FIELD_NUMBER: _ClassVar[int]
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    FORWARD_FIELD_NUMBER: _ClassVar[int]
    REVERSE_FIELD_NUMBER: _ClassVar[int]
    FORWARD_COUNTERS_FIELD_NUMBER: _ClassVar[int]
    REVERSE_COUNTERS_FIELD_NUMBER: _ClassVar[int]
    SESSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    id: int
    network_id: int
    forward: PathSpec
    reverse: PathSpec
    forward_counters: PathCounters
    reverse_counters: PathCounters
    session_count: int
    def __init__(self, id: _Optional[int] = ..., network_id: _Optional[int] = ..., forward: _Optional[_Union[PathSpec, _Mapping]] = ..., reverse: _Optional[_Union[PathSpec, _Mapping]] = ..., forward_counters: _Optional[_Union[PathCounters, _Mapping]] = ..., reverse_counters: _Optional[_Union[PathCounters, _Mapping]] = ..., session_count: _Optional[int] = ...) -> None: ...

class CreateLinkRequest(_message.Message):
    __slots__ = ("network_id", "forward", "reverse")
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    FORWARD_FIELD_NUMBER: _ClassVar[int]
    REVERSE_FIELD_NUMBER: _ClassVar[int]
    network_id: int
    forward: PathSpec
    reverse: PathSpec
    def __init__(self, network_id: _Optional[int] = ..., forward: _Optional[_Union[PathSpec, _Mapping]] = ..., reverse: _Optional[_Union[PathSpec, _Mapping]] = ...) -> None: ...

class GetLinkRequest(_message.Message):
    __slots__ = ("link_id",)
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    link_id: int
    def __init__(self, link_id: _Optional[int] = ...) -> None: ...

class UpdateLinkRequest(_message.Message):
    __slots__ = ("link_id", "forward", "reverse", "update_mask")
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    FORWARD_FIELD_NUMBER: _ClassVar[int]
    REVERSE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    link_id: int
    forward: PathSpec
    reverse: PathSpec
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, link_id: _Optional[int] = ..., forward: _Optional[_Union[PathSpec, _Mapping]] = ..., reverse: _Optional[_Union[PathSpec, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class ListLinksRequest(_message.Message):
    __slots__ = ("network_id",)
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    network_id: int
    def __init__(self, network_id: _Optional[int] = ...) -> None: ...

class ListLinksResponse(_message.Message):
    __slots__ = ("links",)
    LINKS_FIELD_NUMBER: _ClassVar[int]
    links: _containers.RepeatedCompositeFieldContainer[Link]
    def __init__(self, links: _Optional[_Iterable[_Union[Link, _Mapping]]] = ...) -> None: ...

class DeleteLinkRequest(_message.Message):
    __slots__ = ("link_id",)
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    link_id: int
    def __init__(self, link_id: _Optional[int] = ...) -> None: ...

class TcpConfig(_message.Message):
    __slots__ = ("send_buffer", "recv_buffer", "mtu", "nodelay", "cork", "cork_timeout", "rto_initial", "rto_min", "rto_max", "max_retransmissions", "syn_retries", "synack_retries", "delayed_ack", "delayed_ack_timeout", "msl", "window_scaling", "keepalive", "keepalive_idle", "keepalive_interval", "keepalive_probes", "congestion_control", "initial_window", "persist_min", "persist_max", "limited_transmit", "timestamps", "challenge_ack_limit", "sack", "invalid_ack_interval", "rack", "hystart", "pacing", "ecn", "window_scale", "flavor", "rfc5961_rst", "rfc5961_syn", "ecn_syn_retries")
    SEND_BUFFER_FIELD_NUMBER: _ClassVar[int]
    RECV_BUFFER_FIELD_NUMBER: _ClassVar[int]
    MTU_FIELD_NUMBER: _ClassVar[int]
    NODELAY_FIELD_NUMBER: _ClassVar[int]
    CORK_FIELD_NUMBER: _ClassVar[int]
    CORK_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    RTO_INITIAL_FIELD_NUMBER: _ClassVar[int]
    RTO_MIN_FIELD_NUMBER: _ClassVar[int]
    RTO_MAX_FIELD_NUMBER: _ClassVar[int]
    MAX_RETRANSMISSIONS_FIELD_NUMBER: _ClassVar[int]
    SYN_RETRIES_FIELD_NUMBER: _ClassVar[int]
    SYNACK_RETRIES_FIELD_NUMBER: _ClassVar[int]
    DELAYED_ACK_FIELD_NUMBER: _ClassVar[int]
    DELAYED_ACK_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    MSL_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SCALING_FIELD_NUMBER: _ClassVar[int]
    KEEPALIVE_FIELD_NUMBER: _ClassVar[int]
    KEEPALIVE_IDLE_FIELD_NUMBER: _ClassVar[int]
    KEEPALIVE_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    KEEPALIVE_PROBES_FIELD_NUMBER: _ClassVar[int]
    CONGESTION_CONTROL_FIELD_NUMBER: _ClassVar[int]
    INITIAL_WINDOW_FIELD_NUMBER: _ClassVar[int]
    PERSIST_MIN_FIELD_NUMBER: _ClassVar[int]
    PERSIST_MAX_FIELD_NUMBER: _ClassVar[int]
    LIMITED_TRANSMIT_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    CHALLENGE_ACK_LIMIT_FIELD_NUMBER: _ClassVar[int]
    SACK_FIELD_NUMBER: _ClassVar[int]
    INVALID_ACK_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    RACK_FIELD_NUMBER: _ClassVar[int]
    HYSTART_FIELD_NUMBER: _ClassVar[int]
    PACING_FIELD_NUMBER: _ClassVar[int]
    ECN_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SCALE_FIELD_NUMBER: _ClassVar[int]
    FLAVOR_FIELD_NUMBER: _ClassVar[int]
    RFC5961_RST_FIELD_NUMBER: _ClassVar[int]
    RFC5961_SYN_FIELD_NUMBER: _ClassVar[int]
    ECN_SYN_RETRIES_FIELD_NUMBER: _ClassVar[int]
    send_buffer: int
    recv_buffer: int
    mtu: int
    nodelay: bool
    cork: bool
    cork_timeout: _duration_pb2.Duration
    rto_initial: _duration_pb2.Duration
    rto_min: _duration_pb2.Duration
    rto_max: _duration_pb2.Duration
    max_retransmissions: int
    syn_retries: int
    synack_retries: int
    delayed_ack: bool
    delayed_ack_timeout: _duration_pb2.Duration
    msl: _duration_pb2.Duration
    window_scaling: bool
    keepalive: bool
    keepalive_idle: _duration_pb2.Duration
    keepalive_interval: _duration_pb2.Duration
    keepalive_probes: int
    congestion_control: CongestionControl
    initial_window: int
    persist_min: _duration_pb2.Duration
    persist_max: _duration_pb2.Duration
    limited_transmit: bool
    timestamps: bool
    challenge_ack_limit: int
    sack: bool
    invalid_ack_interval: _duration_pb2.Duration
    rack: bool
    hystart: bool
    pacing: bool
    ecn: bool
    window_scale: int
    flavor: StackFlavor
    rfc5961_rst: bool
    rfc5961_syn: bool
    ecn_syn_retries: int
    def __init__(self, send_buffer: _Optional[int] = ..., recv_buffer: _Optional[int] = ..., mtu: _Optional[int] = ..., nodelay: bool = ..., cork: bool = ..., cork_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., rto_initial: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., rto_min: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., rto_max: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_retransmissions: _Optional[int] = ..., syn_retries: _Optional[int] = ..., synack_retries: _Optional[int] = ..., delayed_ack: bool = ..., delayed_ack_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., msl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., window_scaling: bool = ..., keepalive: bool = ..., keepalive_idle: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., keepalive_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., keepalive_probes: _Optional[int] = ..., congestion_control: _Optional[_Union[CongestionControl, str]] = ..., initial_window: _Optional[int] = ..., persist_min: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., persist_max: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., limited_transmit: bool = ..., timestamps: bool = ..., challenge_ack_limit: _Optional[int] = ..., sack: bool = ..., invalid_ack_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., rack: bool = ..., hystart: bool = ..., pacing: bool = ..., ecn: bool = ..., window_scale: _Optional[int] = ..., flavor: _Optional[_Union[StackFlavor, str]] = ..., rfc5961_rst: bool = ..., rfc5961_syn: bool = ..., ecn_syn_retries: _Optional[int] = ...) -> None: ...

class Reader(_message.Message):
    __slots__ = ("mode", "rate_bytes_per_sec", "close_on_eof")
    class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MODE_UNSPECIFIED: _ClassVar[Reader.Mode]
        MODE_AUTO: _ClassVar[Reader.Mode]
        MODE_RATE: _ClassVar[Reader.Mode]
        MODE_MANUAL: _ClassVar[Reader.Mode]
    MODE_UNSPECIFIED: Reader.Mode
    MODE_AUTO: Reader.Mode
    MODE_RATE: Reader.Mode
    MODE_MANUAL: Reader.Mode
    MODE_FIELD_NUMBER: _ClassVar[int]
    RATE_BYTES_PER_SEC_FIELD_NUMBER: _ClassVar[int]
    CLOSE_ON_EOF_FIELD_NUMBER: _ClassVar[int]
    mode: Reader.Mode
    rate_bytes_per_sec: int
    close_on_eof: bool
    def __init__(self, mode: _Optional[_Union[Reader.Mode, str]] = ..., rate_bytes_per_sec: _Optional[int] = ..., close_on_eof: bool = ...) -> None: ...

class Tcb(_message.Message):
    __slots__ = ("state", "iss", "irs", "snd_una", "snd_nxt", "snd_wnd", "rcv_nxt", "rcv_wnd", "cwnd", "ssthresh", "bytes_in_flight", "srtt_ns", "rttvar_ns", "rto_ns", "snd_wscale", "rcv_wscale", "ts_ok", "sack_ok", "ts_recent", "sacked_bytes", "lost_bytes", "retrans_bytes", "pipe", "pacing_rate", "cc_phase", "bandwidth_estimate", "min_rtt_ns", "ecn_ok")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ISS_FIELD_NUMBER: _ClassVar[int]
    IRS_FIELD_NUMBER: _ClassVar[int]
    SND_UNA_FIELD_NUMBER: _ClassVar[int]
    SND_NXT_FIELD_NUMBER: _ClassVar[int]
    SND_WND_FIELD_NUMBER: _ClassVar[int]
    RCV_NXT_FIELD_NUMBER: _ClassVar[int]
    RCV_WND_FIELD_NUMBER: _ClassVar[int]
    CWND_FIELD_NUMBER: _ClassVar[int]
    SSTHRESH_FIELD_NUMBER: _ClassVar[int]
    BYTES_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    SRTT_NS_FIELD_NUMBER: _ClassVar[int]
    RTTVAR_NS_FIELD_NUMBER: _ClassVar[int]
    RTO_NS_FIELD_NUMBER: _ClassVar[int]
    SND_WSCALE_FIELD_NUMBER: _ClassVar[int]
    RCV_WSCALE_FIELD_NUMBER: _ClassVar[int]
    TS_OK_FIELD_NUMBER: _ClassVar[int]
    SACK_OK_FIELD_NUMBER: _ClassVar[int]
    TS_RECENT_FIELD_NUMBER: _ClassVar[int]
    SACKED_BYTES_FIELD_NUMBER: _ClassVar[int]
    LOST_BYTES_FIELD_NUMBER: _ClassVar[int]
    RETRANS_BYTES_FIELD_NUMBER: _ClassVar[int]
    PIPE_FIELD_NUMBER: _ClassVar[int]
    PACING_RATE_FIELD_NUMBER: _ClassVar[int]
    CC_PHASE_FIELD_NUMBER: _ClassVar[int]
    BANDWIDTH_ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    MIN_RTT_NS_FIELD_NUMBER: _ClassVar[int]
    ECN_OK_FIELD_NUMBER: _ClassVar[int]
    state: TcpState
    iss: int
    irs: int
    snd_una: int
    snd_nxt: int
    snd_wnd: int
    rcv_nxt: int
    rcv_wnd: int
    cwnd: int
    ssthresh: int
    bytes_in_flight: int
    srtt_ns: int
    rttvar_ns: int
    rto_ns: int
    snd_wscale: int
    rcv_wscale: int
    ts_ok: bool
    sack_ok: bool
    ts_recent: int
    sacked_bytes: int
    lost_bytes: int
    retrans_bytes: int
    pipe: int
    pacing_rate: int
    cc_phase: CcPhase
    bandwidth_estimate: int
    min_rtt_ns: int
    ecn_ok: bool
    def __init__(self, state: _Optional[_Union[TcpState, str]] = ..., iss: _Optional[int] = ..., irs: _Optional[int] = ..., snd_una: _Optional[int] = ..., snd_nxt: _Optional[int] = ..., snd_wnd: _Optional[int] = ..., rcv_nxt: _Optional[int] = ..., rcv_wnd: _Optional[int] = ..., cwnd: _Optional[int] = ..., ssthresh: _Optional[int] = ..., bytes_in_flight: _Optional[int] = ..., srtt_ns: _Optional[int] = ..., rttvar_ns: _Optional[int] = ..., rto_ns: _Optional[int] = ..., snd_wscale: _Optional[int] = ..., rcv_wscale: _Optional[int] = ..., ts_ok: bool = ..., sack_ok: bool = ..., ts_recent: _Optional[int] = ..., sacked_bytes: _Optional[int] = ..., lost_bytes: _Optional[int] = ..., retrans_bytes: _Optional[int] = ..., pipe: _Optional[int] = ..., pacing_rate: _Optional[int] = ..., cc_phase: _Optional[_Union[CcPhase, str]] = ..., bandwidth_estimate: _Optional[int] = ..., min_rtt_ns: _Optional[int] = ..., ecn_ok: bool = ...) -> None: ...

class EndpointCounters(_message.Message):
    __slots__ = ("segments_sent", "segments_received", "bytes_sent", "bytes_retransmitted", "retransmits_rto", "retransmits_fast", "pure_acks_sent", "window_probes_sent", "window_updates_sent", "dup_acks_received", "bytes_written", "bytes_delivered", "bytes_read", "out_of_order_segments", "duplicate_segments", "bad_checksum_segments", "outside_window_segments", "challenge_acks_sent", "fast_recoveries", "timeouts", "challenge_acks_suppressed", "paws_rejected", "invalid_acks_suppressed", "dsacks_received", "rack_losses", "tail_loss_probes", "ce_received", "ece_received", "ecn_reductions", "cwr_sent")
    SEGMENTS_SENT_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    BYTES_SENT_FIELD_NUMBER: _ClassVar[int]
    BYTES_RETRANSMITTED_FIELD_NUMBER: _ClassVar[int]
    RETRANSMITS_RTO_FIELD_NUMBER: _ClassVar[int]
    RETRANSMITS_FAST_FIELD_NUMBER: _ClassVar[int]
    PURE_ACKS_SENT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_PROBES_SENT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_UPDATES_SENT_FIELD_NUMBER: _ClassVar[int]
    DUP_ACKS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    BYTES_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    BYTES_DELIVERED_FIELD_NUMBER: _ClassVar[int]
    BYTES_READ_FIELD_NUMBER: _ClassVar[int]
    OUT_OF_ORDER_SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    BAD_CHECKSUM_SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    OUTSIDE_WINDOW_SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    CHALLENGE_ACKS_SENT_FIELD_NUMBER: _ClassVar[int]
    FAST_RECOVERIES_FIELD_NUMBER: _ClassVar[int]
    TIMEOUTS_FIELD_NUMBER: _ClassVar[int]
    CHALLENGE_ACKS_SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    PAWS_REJECTED_FIELD_NUMBER: _ClassVar[int]
    INVALID_ACKS_SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    DSACKS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    RACK_LOSSES_FIELD_NUMBER: _ClassVar[int]
    TAIL_LOSS_PROBES_FIELD_NUMBER: _ClassVar[int]
    CE_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    ECE_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    ECN_REDUCTIONS_FIELD_NUMBER: _ClassVar[int]
    CWR_SENT_FIELD_NUMBER: _ClassVar[int]
    segments_sent: int
    segments_received: int
    bytes_sent: int
    bytes_retransmitted: int
    retransmits_rto: int
    retransmits_fast: int
    pure_acks_sent: int
    window_probes_sent: int
    window_updates_sent: int
    dup_acks_received: int
    bytes_written: int
    bytes_delivered: int
    bytes_read: int
    out_of_order_segments: int
    duplicate_segments: int
    bad_checksum_segments: int
    outside_window_segments: int
    challenge_acks_sent: int
    fast_recoveries: int
    timeouts: int
    challenge_acks_suppressed: int
    paws_rejected: int
    invalid_acks_suppressed: int
    dsacks_received: int
    rack_losses: int
    tail_loss_probes: int
    ce_received: int
    ece_received: int
    ecn_reductions: int
    cwr_sent: int
    def __init__(self, segments_sent: _Optional[int] = ..., segments_received: _Optional[int] = ..., bytes_sent: _Optional[int] = ..., bytes_retransmitted: _Optional[int] = ..., retransmits_rto: _Optional[int] = ..., retransmits_fast: _Optional[int] = ..., pure_acks_sent: _Optional[int] = ..., window_probes_sent: _Optional[int] = ..., window_updates_sent: _Optional[int] = ..., dup_acks_received: _Optional[int] = ..., bytes_written: _Optional[int] = ..., bytes_delivered: _Optional[int] = ..., bytes_read: _Optional[int] = ..., out_of_order_segments: _Optional[int] = ..., duplicate_segments: _Optional[int] = ..., bad_checksum_segments: _Optional[int] = ..., outside_window_segments: _Optional[int] = ..., challenge_acks_sent: _Optional[int] = ..., fast_recoveries: _Optional[int] = ..., timeouts: _Optional[int] = ..., challenge_acks_suppressed: _Optional[int] = ..., paws_rejected: _Optional[int] = ..., invalid_acks_suppressed: _Optional[int] = ..., dsacks_received: _Optional[int] = ..., rack_losses: _Optional[int] = ..., tail_loss_probes: _Optional[int] = ..., ce_received: _Optional[int] = ..., ece_received: _Optional[int] = ..., ecn_reductions: _Optional[int] = ..., cwr_sent: _Optional[int] = ...) -> None: ...

class EndpointState(_message.Message):
    __slots__ = ("tcb", "counters", "error", "bytes_written", "bytes_read", "write_sha256", "read_sha256", "readable", "send_buffer_free", "mss", "port")
    TCB_FIELD_NUMBER: _ClassVar[int]
    COUNTERS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    BYTES_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    BYTES_READ_FIELD_NUMBER: _ClassVar[int]
    WRITE_SHA256_FIELD_NUMBER: _ClassVar[int]
    READ_SHA256_FIELD_NUMBER: _ClassVar[int]
    READABLE_FIELD_NUMBER: _ClassVar[int]
    SEND_BUFFER_FREE_FIELD_NUMBER: _ClassVar[int]
    MSS_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    tcb: Tcb
    counters: EndpointCounters
    error: ErrorCode
    bytes_written: int
    bytes_read: int
    write_sha256: bytes
    read_sha256: bytes
    readable: int
    send_buffer_free: int
    mss: int
    port: int
    def __init__(self, tcb: _Optional[_Union[Tcb, _Mapping]] = ..., counters: _Optional[_Union[EndpointCounters, _Mapping]] = ..., error: _Optional[_Union[ErrorCode, str]] = ..., bytes_written: _Optional[int] = ..., bytes_read: _Optional[int] = ..., write_sha256: _Optional[bytes] = ..., read_sha256: _Optional[bytes] = ..., readable: _Optional[int] = ..., send_buffer_free: _Optional[int] = ..., mss: _Optional[int] = ..., port: _Optional[int] = ...) -> None: ...

class Remote(_message.Message):
    __slots__ = ("interface_id", "address", "port")
    INTERFACE_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    interface_id: int
    address: str
    port: int
    def __init__(self, interface_id: _Optional[int] = ..., address: _Optional[str] = ..., port: _Optional[int] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("id", "network_id", "link_id", "destroyed", "opened_at", "destroyed_at", "client", "server", "remote", "local_address", "accepted", "capture", "proxy_id", "downstream_peer", "upstream_peer")
    ID_FIELD_NUMBER: _ClassVar[int]
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    DESTROYED_FIELD_NUMBER: _ClassVar[int]
    OPENED_AT_FIELD_NUMBER: _ClassVar[int]
    DESTROYED_AT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    REMOTE_FIELD_NUMBER: _ClassVar[int]
    LOCAL_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_FIELD_NUMBER: _ClassVar[int]
    PROXY_ID_FIELD_NUMBER: _ClassVar[int]
    DOWNSTREAM_PEER_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_PEER_FIELD_NUMBER: _ClassVar[int]
    id: int
    network_id: int
    link_id: int
    destroyed: bool
    opened_at: _duration_pb2.Duration
    destroyed_at: _duration_pb2.Duration
    client: EndpointState
    server: EndpointState
    remote: Remote
    local_address: str
    accepted: bool
    capture: bool
    proxy_id: int
    downstream_peer: str
    upstream_peer: str
    def __init__(self, id: _Optional[int] = ..., network_id: _Optional[int] = ..., link_id: _Optional[int] = ..., destroyed: bool = ..., opened_at: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., destroyed_at: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., client: _Optional[_Union[EndpointState, _Mapping]] = ..., server: _Optional[_Union[EndpointState, _Mapping]] = ..., remote: _Optional[_Union[Remote, _Mapping]] = ..., local_address: _Optional[str] = ..., accepted: bool = ..., capture: bool = ..., proxy_id: _Optional[int] = ..., downstream_peer: _Optional[str] = ..., upstream_peer: _Optional[str] = ...) -> None: ...

class OpenSessionRequest(_message.Message):
    __slots__ = ("network_id", "link_id", "client", "server", "client_port", "server_port", "server_closed", "client_reader", "server_reader", "digest", "remote", "capture")
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    CLIENT_PORT_FIELD_NUMBER: _ClassVar[int]
    SERVER_PORT_FIELD_NUMBER: _ClassVar[int]
    SERVER_CLOSED_FIELD_NUMBER: _ClassVar[int]
    CLIENT_READER_FIELD_NUMBER: _ClassVar[int]
    SERVER_READER_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    REMOTE_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_FIELD_NUMBER: _ClassVar[int]
    network_id: int
    link_id: int
    client: TcpConfig
    server: TcpConfig
    client_port: int
    server_port: int
    server_closed: bool
    client_reader: Reader
    server_reader: Reader
    digest: bool
    remote: Remote
    capture: bool
    def __init__(self, network_id: _Optional[int] = ..., link_id: _Optional[int] = ..., client: _Optional[_Union[TcpConfig, _Mapping]] = ..., server: _Optional[_Union[TcpConfig, _Mapping]] = ..., client_port: _Optional[int] = ..., server_port: _Optional[int] = ..., server_closed: bool = ..., client_reader: _Optional[_Union[Reader, _Mapping]] = ..., server_reader: _Optional[_Union[Reader, _Mapping]] = ..., digest: bool = ..., remote: _Optional[_Union[Remote, _Mapping]] = ..., capture: bool = ...) -> None: ...

class OpenSessionsRequest(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[OpenSessionRequest]
    def __init__(self, sessions: _Optional[_Iterable[_Union[OpenSessionRequest, _Mapping]]] = ...) -> None: ...

class OpenSessionsResponse(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[Session]
    def __init__(self, sessions: _Optional[_Iterable[_Union[Session, _Mapping]]] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    def __init__(self, session_id: _Optional[int] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ("network_id", "link_id", "page_size", "page_token")
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    network_id: int
    link_id: int
    page_size: int
    page_token: str
    def __init__(self, network_id: _Optional[int] = ..., link_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions", "next_page_token")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[Session]
    next_page_token: str
    def __init__(self, sessions: _Optional[_Iterable[_Union[Session, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    def __init__(self, session_id: _Optional[int] = ...) -> None: ...

class WriteRequest(_message.Message):
    __slots__ = ("session_id", "endpoint", "data", "fill_bytes", "push", "wait")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FILL_BYTES_FIELD_NUMBER: _ClassVar[int]
    PUSH_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    endpoint: Endpoint
    data: bytes
    fill_bytes: int
    push: bool
    wait: _duration_pb2.Duration
    def __init__(self, session_id: _Optional[int] = ..., endpoint: _Optional[_Union[Endpoint, str]] = ..., data: _Optional[bytes] = ..., fill_bytes: _Optional[int] = ..., push: bool = ..., wait: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class WriteResponse(_message.Message):
    __slots__ = ("accepted", "send_buffer_free")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    SEND_BUFFER_FREE_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    send_buffer_free: int
    def __init__(self, accepted: _Optional[int] = ..., send_buffer_free: _Optional[int] = ...) -> None: ...

class ReadRequest(_message.Message):
    __slots__ = ("session_id", "endpoint", "max_bytes", "wait")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    MAX_BYTES_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    endpoint: Endpoint
    max_bytes: int
    wait: _duration_pb2.Duration
    def __init__(self, session_id: _Optional[int] = ..., endpoint: _Optional[_Union[Endpoint, str]] = ..., max_bytes: _Optional[int] = ..., wait: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ReadResponse(_message.Message):
    __slots__ = ("data", "eof")
    DATA_FIELD_NUMBER: _ClassVar[int]
    EOF_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    eof: bool
    def __init__(self, data: _Optional[bytes] = ..., eof: bool = ...) -> None: ...

class CloseRequest(_message.Message):
    __slots__ = ("session_id", "endpoint", "mode")
    class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MODE_UNSPECIFIED: _ClassVar[CloseRequest.Mode]
        MODE_FIN: _ClassVar[CloseRequest.Mode]
        MODE_RST: _ClassVar[CloseRequest.Mode]
    MODE_UNSPECIFIED: CloseRequest.Mode
    MODE_FIN: CloseRequest.Mode
    MODE_RST: CloseRequest.Mode
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    endpoint: Endpoint
    mode: CloseRequest.Mode
    def __init__(self, session_id: _Optional[int] = ..., endpoint: _Optional[_Union[Endpoint, str]] = ..., mode: _Optional[_Union[CloseRequest.Mode, str]] = ...) -> None: ...

class CloseResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: TcpState
    def __init__(self, state: _Optional[_Union[TcpState, str]] = ...) -> None: ...

class SetReaderRequest(_message.Message):
    __slots__ = ("session_id", "endpoint", "reader")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    READER_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    endpoint: Endpoint
    reader: Reader
    def __init__(self, session_id: _Optional[int] = ..., endpoint: _Optional[_Union[Endpoint, str]] = ..., reader: _Optional[_Union[Reader, _Mapping]] = ...) -> None: ...

class FaultMatch(_message.Message):
    __slots__ = ("flags_all", "flags_none", "payload_only", "seq_lo", "seq_hi", "nth")
    FLAGS_ALL_FIELD_NUMBER: _ClassVar[int]
    FLAGS_NONE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_ONLY_FIELD_NUMBER: _ClassVar[int]
    SEQ_LO_FIELD_NUMBER: _ClassVar[int]
    SEQ_HI_FIELD_NUMBER: _ClassVar[int]
    NTH_FIELD_NUMBER: _ClassVar[int]
    flags_all: int
    flags_none: int
    payload_only: bool
    seq_lo: int
    seq_hi: int
    nth: int
    def __init__(self, flags_all: _Optional[int] = ..., flags_none: _Optional[int] = ..., payload_only: bool = ..., seq_lo: _Optional[int] = ..., seq_hi: _Optional[int] = ..., nth: _Optional[int] = ...) -> None: ...

class InjectFaultRequest(_message.Message):
    __slots__ = ("link_id", "session_id", "direction", "match", "action", "delay", "count", "probability", "duration")
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    MATCH_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DELAY_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    link_id: int
    session_id: int
    direction: Direction
    match: FaultMatch
    action: FaultAction
    delay: _duration_pb2.Duration
    count: int
    probability: float
    duration: _duration_pb2.Duration
    def __init__(self, link_id: _Optional[int] = ..., session_id: _Optional[int] = ..., direction: _Optional[_Union[Direction, str]] = ..., match: _Optional[_Union[FaultMatch, _Mapping]] = ..., action: _Optional[_Union[FaultAction, str]] = ..., delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., count: _Optional[int] = ..., probability: _Optional[float] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Fault(_message.Message):
    __slots__ = ("ids", "link_id")
    IDS_FIELD_NUMBER: _ClassVar[int]
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[int]
    link_id: int
    def __init__(self, ids: _Optional[_Iterable[int]] = ..., link_id: _Optional[int] = ...) -> None: ...

class ClearFaultsRequest(_message.Message):
    __slots__ = ("link_id", "session_id")
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    link_id: int
    session_id: int
    def __init__(self, link_id: _Optional[int] = ..., session_id: _Optional[int] = ...) -> None: ...

class Segment(_message.Message):
    __slots__ = ("seq", "ack", "rel_seq", "rel_ack", "len", "window", "flags", "opt_mss", "opt_wscale", "opt_sack_permitted", "opt_sack_blocks", "opt_timestamp", "src_port", "dst_port", "sack_blocks", "ts_val", "ts_ecr", "window_bytes")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    REL_SEQ_FIELD_NUMBER: _ClassVar[int]
    REL_ACK_FIELD_NUMBER: _ClassVar[int]
    LEN_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    OPT_MSS_FIELD_NUMBER: _ClassVar[int]
    OPT_WSCALE_FIELD_NUMBER: _ClassVar[int]
    OPT_SACK_PERMITTED_FIELD_NUMBER: _ClassVar[int]
    OPT_SACK_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    OPT_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    SRC_PORT_FIELD_NUMBER: _ClassVar[int]
    DST_PORT_FIELD_NUMBER: _ClassVar[int]
    SACK_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    TS_VAL_FIELD_NUMBER: _ClassVar[int]
    TS_ECR_FIELD_NUMBER: _ClassVar[int]
    WINDOW_BYTES_FIELD_NUMBER: _ClassVar[int]
    seq: int
    ack: int
    rel_seq: int
    rel_ack: int
    len: int
    window: int
    flags: int
    opt_mss: int
    opt_wscale: int
    opt_sack_permitted: bool
    opt_sack_blocks: int
    opt_timestamp: bool
    src_port: int
    dst_port: int
    sack_blocks: _containers.RepeatedCompositeFieldContainer[SackBlock]
    ts_val: int
    ts_ecr: int
    window_bytes: int
    def __init__(self, seq: _Optional[int] = ..., ack: _Optional[int] = ..., rel_seq: _Optional[int] = ..., rel_ack: _Optional[int] = ..., len: _Optional[int] = ..., window: _Optional[int] = ..., flags: _Optional[int] = ..., opt_mss: _Optional[int] = ..., opt_wscale: _Optional[int] = ..., opt_sack_permitted: bool = ..., opt_sack_blocks: _Optional[int] = ..., opt_timestamp: bool = ..., src_port: _Optional[int] = ..., dst_port: _Optional[int] = ..., sack_blocks: _Optional[_Iterable[_Union[SackBlock, _Mapping]]] = ..., ts_val: _Optional[int] = ..., ts_ecr: _Optional[int] = ..., window_bytes: _Optional[int] = ...) -> None: ...

class SackBlock(_message.Message):
    __slots__ = ("left", "right", "rel_left", "rel_right")
    LEFT_FIELD_NUMBER: _ClassVar[int]
    RIGHT_FIELD_NUMBER: _ClassVar[int]
    REL_LEFT_FIELD_NUMBER: _ClassVar[int]
    REL_RIGHT_FIELD_NUMBER: _ClassVar[int]
    left: int
    right: int
    rel_left: int
    rel_right: int
    def __init__(self, left: _Optional[int] = ..., right: _Optional[int] = ..., rel_left: _Optional[int] = ..., rel_right: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("time_ns", "kind", "network_id", "session_id", "link_id", "endpoint", "reason", "old_state", "new_state", "a", "b", "segment", "tcb")
    TIME_NS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OLD_STATE_FIELD_NUMBER: _ClassVar[int]
    NEW_STATE_FIELD_NUMBER: _ClassVar[int]
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    TCB_FIELD_NUMBER: _ClassVar[int]
    time_ns: int
    kind: EventKind
    network_id: int
    session_id: int
    link_id: int
    endpoint: Endpoint
    reason: str
    old_state: TcpState
    new_state: TcpState
    a: int
    b: int
    segment: Segment
    tcb: Tcb
    def __init__(self, time_ns: _Optional[int] = ..., kind: _Optional[_Union[EventKind, str]] = ..., network_id: _Optional[int] = ..., session_id: _Optional[int] = ..., link_id: _Optional[int] = ..., endpoint: _Optional[_Union[Endpoint, str]] = ..., reason: _Optional[str] = ..., old_state: _Optional[_Union[TcpState, str]] = ..., new_state: _Optional[_Union[TcpState, str]] = ..., a: _Optional[int] = ..., b: _Optional[int] = ..., segment: _Optional[_Union[Segment, _Mapping]] = ..., tcb: _Optional[_Union[Tcb, _Mapping]] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ("network_id", "session_ids", "kinds", "endpoint", "replay", "max_batch")
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_IDS_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    REPLAY_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_FIELD_NUMBER: _ClassVar[int]
    network_id: int
    session_ids: _containers.RepeatedScalarFieldContainer[int]
    kinds: _containers.RepeatedScalarFieldContainer[EventKind]
    endpoint: Endpoint
    replay: bool
    max_batch: int
    def __init__(self, network_id: _Optional[int] = ..., session_ids: _Optional[_Iterable[int]] = ..., kinds: _Optional[_Iterable[_Union[EventKind, str]]] = ..., endpoint: _Optional[_Union[Endpoint, str]] = ..., replay: bool = ..., max_batch: _Optional[int] = ...) -> None: ...

class EventBatch(_message.Message):
    __slots__ = ("events", "events_lost")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_LOST_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    events_lost: int
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., events_lost: _Optional[int] = ...) -> None: ...

class InterfaceCounters(_message.Message):
    __slots__ = ("frames_received", "bytes_received", "frames_sent", "bytes_sent", "arp_requests_answered", "arp_requests_sent", "arp_replies_received", "icmp_echo_answered", "dropped_malformed", "dropped_not_for_us", "dropped_fragment", "dropped_too_big", "dropped_unsupported", "dropped_arp_unresolved", "dropped_device", "rst_no_connection", "syn_dropped_backlog", "syn_cookies_sent", "syn_cookies_accepted")
    FRAMES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    BYTES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    FRAMES_SENT_FIELD_NUMBER: _ClassVar[int]
    BYTES_SENT_FIELD_NUMBER: _ClassVar[int]
    ARP_REQUESTS_ANSWERED_FIELD_NUMBER: _ClassVar[int]
    ARP_REQUESTS_SENT_FIELD_NUMBER: _ClassVar[int]
    ARP_REPLIES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    ICMP_ECHO_ANSWERED_FIELD_NUMBER: _ClassVar[int]
    DROPPED_MALFORMED_FIELD_NUMBER: _ClassVar[int]
    DROPPED_NOT_FOR_US_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FRAGMENT_FIELD_NUMBER: _ClassVar[int]
    DROPPED_TOO_BIG_FIELD_NUMBER: _ClassVar[int]
    DROPPED_UNSUPPORTED_FIELD_NUMBER: _ClassVar[int]
    DROPPED_ARP_UNRESOLVED_FIELD_NUMBER: _ClassVar[int]
    DROPPED_DEVICE_FIELD_NUMBER: _ClassVar[int]
    RST_NO_CONNECTION_FIELD_NUMBER: _ClassVar[int]
    SYN_DROPPED_BACKLOG_FIELD_NUMBER: _ClassVar[int]
    SYN_COOKIES_SENT_FIELD_NUMBER: _ClassVar[int]
    SYN_COOKIES_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    frames_received: int
    bytes_received: int
    frames_sent: int
    bytes_sent: int
    arp_requests_answered: int
    arp_requests_sent: int
    arp_replies_received: int
    icmp_echo_answered: int
    dropped_malformed: int
    dropped_not_for_us: int
    dropped_fragment: int
    dropped_too_big: int
    dropped_unsupported: int
    dropped_arp_unresolved: int
    dropped_device: int
    rst_no_connection: int
    syn_dropped_backlog: int
    syn_cookies_sent: int
    syn_cookies_accepted: int
    def __init__(self, frames_received: _Optional[int] = ..., bytes_received: _Optional[int] = ..., frames_sent: _Optional[int] = ..., bytes_sent: _Optional[int] = ..., arp_requests_answered: _Optional[int] = ..., arp_requests_sent: _Optional[int] = ..., arp_replies_received: _Optional[int] = ..., icmp_echo_answered: _Optional[int] = ..., dropped_malformed: _Optional[int] = ..., dropped_not_for_us: _Optional[int] = ..., dropped_fragment: _Optional[int] = ..., dropped_too_big: _Optional[int] = ..., dropped_unsupported: _Optional[int] = ..., dropped_arp_unresolved: _Optional[int] = ..., dropped_device: _Optional[int] = ..., rst_no_connection: _Optional[int] = ..., syn_dropped_backlog: _Optional[int] = ..., syn_cookies_sent: _Optional[int] = ..., syn_cookies_accepted: _Optional[int] = ...) -> None: ...

class Interface(_message.Message):
    __slots__ = ("id", "network_id", "name", "address", "mac", "mtu", "gateway", "egress", "ingress", "counters", "egress_counters", "ingress_counters", "session_count", "listening_ports", "created_device")
    ID_FIELD_NUMBER: _ClassVar[int]
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    MTU_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_FIELD_NUMBER: _ClassVar[int]
    EGRESS_FIELD_NUMBER: _ClassVar[int]
    INGRESS_FIELD_NUMBER: _ClassVar[int]
    COUNTERS_FIELD_NUMBER: _ClassVar[int]
    EGRESS_COUNTERS_FIELD_NUMBER: _ClassVar[int]
    INGRESS_COUNTERS_FIELD_NUMBER: _ClassVar[int]
    SESSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    LISTENING_PORTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_DEVICE_FIELD_NUMBER: _ClassVar[int]
    id: int
    network_id: int
    name: str
    address: str
    mac: str
    mtu: int
    gateway: str
    egress: PathSpec
    ingress: PathSpec
    counters: InterfaceCounters
    egress_counters: PathCounters
    ingress_counters: PathCounters
    session_count: int
    listening_ports: _containers.RepeatedScalarFieldContainer[int]
    created_device: bool
    def __init__(self, id: _Optional[int] = ..., network_id: _Optional[int] = ..., name: _Optional[str] = ..., address: _Optional[str] = ..., mac: _Optional[str] = ..., mtu: _Optional[int] = ..., gateway: _Optional[str] = ..., egress: _Optional[_Union[PathSpec, _Mapping]] = ..., ingress: _Optional[_Union[PathSpec, _Mapping]] = ..., counters: _Optional[_Union[InterfaceCounters, _Mapping]] = ..., egress_counters: _Optional[_Union[PathCounters, _Mapping]] = ..., ingress_counters: _Optional[_Union[PathCounters, _Mapping]] = ..., session_count: _Optional[int] = ..., listening_ports: _Optional[_Iterable[int]] = ..., created_device: bool = ...) -> None: ...

class CreateInterfaceRequest(_message.Message):
    __slots__ = ("network_id", "name", "address", "mac", "mtu", "gateway", "egress", "ingress")
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    MTU_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_FIELD_NUMBER: _ClassVar[int]
    EGRESS_FIELD_NUMBER: _ClassVar[int]
    INGRESS_FIELD_NUMBER: _ClassVar[int]
    network_id: int
    name: str
    address: str
    mac: str
    mtu: int
    gateway: str
    egress: PathSpec
    ingress: PathSpec
    def __init__(self, network_id: _Optional[int] = ..., name: _Optional[str] = ..., address: _Optional[str] = ..., mac: _Optional[str] = ..., mtu: _Optional[int] = ..., gateway: _Optional[str] = ..., egress: _Optional[_Union[PathSpec, _Mapping]] = ..., ingress: _Optional[_Union[PathSpec, _Mapping]] = ...) -> None: ...

class GetInterfaceRequest(_message.Message):
    __slots__ = ("interface_id",)
    INTERFACE_ID_FIELD_NUMBER: _ClassVar[int]
    interface_id: int
    def __init__(self, interface_id: _Optional[int] = ...) -> None: ...

class ListInterfacesRequest(_message.Message):
    __slots__ = ("network_id",)
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    network_id: int
    def __init__(self, network_id: _Optional[int] = ...) -> None: ...

class ListInterfacesResponse(_message.Message):
    __slots__ = ("interfaces",)
    INTERFACES_FIELD_NUMBER: _ClassVar[int]
    interfaces: _containers.RepeatedCompositeFieldContainer[Interface]
    def __init__(self, interfaces: _Optional[_Iterable[_Union[Interface, _Mapping]]] = ...) -> None: ...

class DeleteInterfaceRequest(_message.Message):
    __slots__ = ("interface_id",)
    INTERFACE_ID_FIELD_NUMBER: _ClassVar[int]
    interface_id: int
    def __init__(self, interface_id: _Optional[int] = ...) -> None: ...

class ListenRequest(_message.Message):
    __slots__ = ("interface_id", "port", "config", "reader", "digest", "backlog", "capture")
    INTERFACE_ID_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    READER_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    BACKLOG_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_FIELD_NUMBER: _ClassVar[int]
    interface_id: int
    port: int
    config: TcpConfig
    reader: Reader
    digest: bool
    backlog: int
    capture: bool
    def __init__(self, interface_id: _Optional[int] = ..., port: _Optional[int] = ..., config: _Optional[_Union[TcpConfig, _Mapping]] = ..., reader: _Optional[_Union[Reader, _Mapping]] = ..., digest: bool = ..., backlog: _Optional[int] = ..., capture: bool = ...) -> None: ...

class Listener(_message.Message):
    __slots__ = ("interface_id", "port", "accepted", "syn_dropped_backlog")
    INTERFACE_ID_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    SYN_DROPPED_BACKLOG_FIELD_NUMBER: _ClassVar[int]
    interface_id: int
    port: int
    accepted: int
    syn_dropped_backlog: int
    def __init__(self, interface_id: _Optional[int] = ..., port: _Optional[int] = ..., accepted: _Optional[int] = ..., syn_dropped_backlog: _Optional[int] = ...) -> None: ...

class DeleteListenerRequest(_message.Message):
    __slots__ = ("interface_id", "port")
    INTERFACE_ID_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    interface_id: int
    port: int
    def __init__(self, interface_id: _Optional[int] = ..., port: _Optional[int] = ...) -> None: ...

class ExportPcapRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    def __init__(self, session_id: _Optional[int] = ...) -> None: ...

class PcapChunk(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class LatencyToxic(_message.Message):
    __slots__ = ("latency", "jitter")
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    JITTER_FIELD_NUMBER: _ClassVar[int]
    latency: _duration_pb2.Duration
    jitter: _duration_pb2.Duration
    def __init__(self, latency: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., jitter: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class BandwidthToxic(_message.Message):
    __slots__ = ("rate_bps",)
    RATE_BPS_FIELD_NUMBER: _ClassVar[int]
    rate_bps: int
    def __init__(self, rate_bps: _Optional[int] = ...) -> None: ...

class SlowCloseToxic(_message.Message):
    __slots__ = ("delay",)
    DELAY_FIELD_NUMBER: _ClassVar[int]
    delay: _duration_pb2.Duration
    def __init__(self, delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class TimeoutToxic(_message.Message):
    __slots__ = ("timeout",)
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    timeout: _duration_pb2.Duration
    def __init__(self, timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ResetPeerToxic(_message.Message):
    __slots__ = ("timeout",)
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    timeout: _duration_pb2.Duration
    def __init__(self, timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class LimitDataToxic(_message.Message):
    __slots__ = ("bytes",)
    BYTES_FIELD_NUMBER: _ClassVar[int]
    bytes: int
    def __init__(self, bytes: _Optional[int] = ...) -> None: ...

class SlicerToxic(_message.Message):
    __slots__ = ("average_size", "size_variation", "delay")
    AVERAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    SIZE_VARIATION_FIELD_NUMBER: _ClassVar[int]
    DELAY_FIELD_NUMBER: _ClassVar[int]
    average_size: int
    size_variation: int
    delay: _duration_pb2.Duration
    def __init__(self, average_size: _Optional[int] = ..., size_variation: _Optional[int] = ..., delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Toxic(_message.Message):
    __slots__ = ("name", "stream", "toxicity", "latency", "bandwidth", "slow_close", "timeout", "reset_peer", "limit_data", "slicer")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    TOXICITY_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    BANDWIDTH_FIELD_NUMBER: _ClassVar[int]
    SLOW_CLOSE_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    RESET_PEER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_DATA_FIELD_NUMBER: _ClassVar[int]
    SLICER_FIELD_NUMBER: _ClassVar[int]
    name: str
    stream: ToxicStream
    toxicity: float
    latency: LatencyToxic
    bandwidth: BandwidthToxic
    slow_close: SlowCloseToxic
    timeout: TimeoutToxic
    reset_peer: ResetPeerToxic
    limit_data: LimitDataToxic
    slicer: SlicerToxic
    def __init__(self, name: _Optional[str] = ..., stream: _Optional[_Union[ToxicStream, str]] = ..., toxicity: _Optional[float] = ..., latency: _Optional[_Union[LatencyToxic, _Mapping]] = ..., bandwidth: _Optional[_Union[BandwidthToxic, _Mapping]] = ..., slow_close: _Optional[_Union[SlowCloseToxic, _Mapping]] = ..., timeout: _Optional[_Union[TimeoutToxic, _Mapping]] = ..., reset_peer: _Optional[_Union[ResetPeerToxic, _Mapping]] = ..., limit_data: _Optional[_Union[LimitDataToxic, _Mapping]] = ..., slicer: _Optional[_Union[SlicerToxic, _Mapping]] = ...) -> None: ...

class ProxyCounters(_message.Message):
    __slots__ = ("connections_accepted", "connections_active", "connections_refused", "upstream_failures", "bytes_upstream", "bytes_downstream")
    CONNECTIONS_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    CONNECTIONS_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CONNECTIONS_REFUSED_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_FAILURES_FIELD_NUMBER: _ClassVar[int]
    BYTES_UPSTREAM_FIELD_NUMBER: _ClassVar[int]
    BYTES_DOWNSTREAM_FIELD_NUMBER: _ClassVar[int]
    connections_accepted: int
    connections_active: int
    connections_refused: int
    upstream_failures: int
    bytes_upstream: int
    bytes_downstream: int
    def __init__(self, connections_accepted: _Optional[int] = ..., connections_active: _Optional[int] = ..., connections_refused: _Optional[int] = ..., upstream_failures: _Optional[int] = ..., bytes_upstream: _Optional[int] = ..., bytes_downstream: _Optional[int] = ...) -> None: ...

class Proxy(_message.Message):
    __slots__ = ("id", "network_id", "name", "listen", "upstream", "link_id", "downstream_tcp", "upstream_tcp", "relay_buffer", "enabled", "toxics", "listen_address", "counters", "owns_link")
    ID_FIELD_NUMBER: _ClassVar[int]
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LISTEN_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_FIELD_NUMBER: _ClassVar[int]
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    DOWNSTREAM_TCP_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_TCP_FIELD_NUMBER: _ClassVar[int]
    RELAY_BUFFER_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    TOXICS_FIELD_NUMBER: _ClassVar[int]
    LISTEN_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    COUNTERS_FIELD_NUMBER: _ClassVar[int]
    OWNS_LINK_FIELD_NUMBER: _ClassVar[int]
    id: int
    network_id: int
    name: str
    listen: str
    upstream: str
    link_id: int
    downstream_tcp: TcpConfig
    upstream_tcp: TcpConfig
    relay_buffer: int
    enabled: bool
    toxics: _containers.RepeatedCompositeFieldContainer[Toxic]
    listen_address: str
    counters: ProxyCounters
    owns_link: bool
    def __init__(self, id: _Optional[int] = ..., network_id: _Optional[int] = ..., name: _Optional[str] = ..., listen: _Optional[str] = ..., upstream: _Optional[str] = ..., link_id: _Optional[int] = ..., downstream_tcp: _Optional[_Union[TcpConfig, _Mapping]] = ..., upstream_tcp: _Optional[_Union[TcpConfig, _Mapping]] = ..., relay_buffer: _Optional[int] = ..., enabled: bool = ..., toxics: _Optional[_Iterable[_Union[Toxic, _Mapping]]] = ..., listen_address: _Optional[str] = ..., counters: _Optional[_Union[ProxyCounters, _Mapping]] = ..., owns_link: bool = ...) -> None: ...

class CreateProxyRequest(_message.Message):
    __slots__ = ("network_id", "name", "listen", "upstream", "link_id", "forward", "reverse", "downstream_tcp", "upstream_tcp", "relay_buffer", "enabled", "toxics")
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LISTEN_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_FIELD_NUMBER: _ClassVar[int]
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    FORWARD_FIELD_NUMBER: _ClassVar[int]
    REVERSE_FIELD_NUMBER: _ClassVar[int]
    DOWNSTREAM_TCP_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_TCP_FIELD_NUMBER: _ClassVar[int]
    RELAY_BUFFER_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    TOXICS_FIELD_NUMBER: _ClassVar[int]
    network_id: int
    name: str
    listen: str
    upstream: str
    link_id: int
    forward: PathSpec
    reverse: PathSpec
    downstream_tcp: TcpConfig
    upstream_tcp: TcpConfig
    relay_buffer: int
    enabled: bool
    toxics: _containers.RepeatedCompositeFieldContainer[Toxic]
    def __init__(self, network_id: _Optional[int] = ..., name: _Optional[str] = ..., listen: _Optional[str] = ..., upstream: _Optional[str] = ..., link_id: _Optional[int] = ..., forward: _Optional[_Union[PathSpec, _Mapping]] = ..., reverse: _Optional[_Union[PathSpec, _Mapping]] = ..., downstream_tcp: _Optional[_Union[TcpConfig, _Mapping]] = ..., upstream_tcp: _Optional[_Union[TcpConfig, _Mapping]] = ..., relay_buffer: _Optional[int] = ..., enabled: bool = ..., toxics: _Optional[_Iterable[_Union[Toxic, _Mapping]]] = ...) -> None: ...

class GetProxyRequest(_message.Message):
    __slots__ = ("proxy_id", "name")
    PROXY_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    proxy_id: int
    name: str
    def __init__(self, proxy_id: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class ListProxiesRequest(_message.Message):
    __slots__ = ("network_id",)
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    network_id: int
    def __init__(self, network_id: _Optional[int] = ...) -> None: ...

class ListProxiesResponse(_message.Message):
    __slots__ = ("proxies",)
    PROXIES_FIELD_NUMBER: _ClassVar[int]
    proxies: _containers.RepeatedCompositeFieldContainer[Proxy]
    def __init__(self, proxies: _Optional[_Iterable[_Union[Proxy, _Mapping]]] = ...) -> None: ...

class UpdateProxyRequest(_message.Message):
    __slots__ = ("proxy", "update_mask")
    PROXY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    proxy: Proxy
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, proxy: _Optional[_Union[Proxy, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteProxyRequest(_message.Message):
    __slots__ = ("proxy_id", "name")
    PROXY_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    proxy_id: int
    name: str
    def __init__(self, proxy_id: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class RunScenarioRequest(_message.Message):
    __slots__ = ("scenario_yaml", "set", "seed", "files")
    class FilesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SCENARIO_YAML_FIELD_NUMBER: _ClassVar[int]
    SET_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    scenario_yaml: str
    set: _containers.RepeatedScalarFieldContainer[str]
    seed: int
    files: _containers.ScalarMap[str, str]
    def __init__(self, scenario_yaml: _Optional[str] = ..., set: _Optional[_Iterable[str]] = ..., seed: _Optional[int] = ..., files: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RunScenarioProgress(_message.Message):
    __slots__ = ("virtual_time", "duration", "summary_json")
    VIRTUAL_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_JSON_FIELD_NUMBER: _ClassVar[int]
    virtual_time: _duration_pb2.Duration
    duration: _duration_pb2.Duration
    summary_json: str
    def __init__(self, virtual_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., summary_json: _Optional[str] = ...) -> None: ...
