package tcpemu

import tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"

// The enums are the generated tcpemu.v1 types under shorter names, so that
// values from this package and from raw snapshots (tcpemuv1.Session and
// friends) compare directly.

// Clock is a network's clock domain.
type Clock = tcpemuv1.ClockKind

const (
	// ClockRealtime: timers fire at wall-clock time.
	ClockRealtime = tcpemuv1.ClockKind_CLOCK_KIND_REALTIME
	// ClockVirtual: time moves only through Network.Advance.
	ClockVirtual = tcpemuv1.ClockKind_CLOCK_KIND_VIRTUAL
)

// Endpoint names one side of a session.
type Endpoint = tcpemuv1.Endpoint

const (
	// EndpointClient is the side that opens the connection.
	EndpointClient = tcpemuv1.Endpoint_ENDPOINT_CLIENT
	// EndpointServer is the side that listens.
	EndpointServer = tcpemuv1.Endpoint_ENDPOINT_SERVER
)

// State is an RFC 9293 connection state.
type State = tcpemuv1.TcpState

const (
	StateClosed      = tcpemuv1.TcpState_TCP_STATE_CLOSED
	StateListen      = tcpemuv1.TcpState_TCP_STATE_LISTEN
	StateSynSent     = tcpemuv1.TcpState_TCP_STATE_SYN_SENT
	StateSynReceived = tcpemuv1.TcpState_TCP_STATE_SYN_RECEIVED
	StateEstablished = tcpemuv1.TcpState_TCP_STATE_ESTABLISHED
	StateFinWait1    = tcpemuv1.TcpState_TCP_STATE_FIN_WAIT_1
	StateFinWait2    = tcpemuv1.TcpState_TCP_STATE_FIN_WAIT_2
	StateCloseWait   = tcpemuv1.TcpState_TCP_STATE_CLOSE_WAIT
	StateClosing     = tcpemuv1.TcpState_TCP_STATE_CLOSING
	StateLastAck     = tcpemuv1.TcpState_TCP_STATE_LAST_ACK
	StateTimeWait    = tcpemuv1.TcpState_TCP_STATE_TIME_WAIT
)

// CCPhase is the congestion controller's phase. Its String method gives the
// proto name, such as "CC_PHASE_PROBE_BW".
type CCPhase = tcpemuv1.CcPhase

const (
	// CCPhaseUnspecified: the connection is not synchronized yet.
	CCPhaseUnspecified = tcpemuv1.CcPhase_CC_PHASE_UNSPECIFIED
	// NewReno and CUBIC (RFC 5681): below ssthresh, at or above it, and in
	// loss recovery (RFC 6582, RFC 6675).
	CCPhaseSlowStart           = tcpemuv1.CcPhase_CC_PHASE_SLOW_START
	CCPhaseCongestionAvoidance = tcpemuv1.CcPhase_CC_PHASE_CONGESTION_AVOIDANCE
	CCPhaseRecovery            = tcpemuv1.CcPhase_CC_PHASE_RECOVERY
	// BBR's phases.
	CCPhaseStartup  = tcpemuv1.CcPhase_CC_PHASE_STARTUP
	CCPhaseDrain    = tcpemuv1.CcPhase_CC_PHASE_DRAIN
	CCPhaseProbeBW  = tcpemuv1.CcPhase_CC_PHASE_PROBE_BW
	CCPhaseProbeRTT = tcpemuv1.CcPhase_CC_PHASE_PROBE_RTT
)

// EventKind says what an Event records.
type EventKind = tcpemuv1.EventKind

const (
	KindSegmentSent      = tcpemuv1.EventKind_EVENT_KIND_SEGMENT_SENT
	KindSegmentReceived  = tcpemuv1.EventKind_EVENT_KIND_SEGMENT_RECEIVED
	KindSegmentDropped   = tcpemuv1.EventKind_EVENT_KIND_SEGMENT_DROPPED
	KindSegmentMangled   = tcpemuv1.EventKind_EVENT_KIND_SEGMENT_MANGLED
	KindStateChanged     = tcpemuv1.EventKind_EVENT_KIND_STATE_CHANGED
	KindTimerArmed       = tcpemuv1.EventKind_EVENT_KIND_TIMER_ARMED
	KindTimerFired       = tcpemuv1.EventKind_EVENT_KIND_TIMER_FIRED
	KindAppWrite         = tcpemuv1.EventKind_EVENT_KIND_APP_WRITE
	KindAppRead          = tcpemuv1.EventKind_EVENT_KIND_APP_READ
	KindRTTSample        = tcpemuv1.EventKind_EVENT_KIND_RTT_SAMPLE
	KindCwndChanged      = tcpemuv1.EventKind_EVENT_KIND_CWND_CHANGED
	KindConnectionError  = tcpemuv1.EventKind_EVENT_KIND_CONNECTION_ERROR
	KindSessionDestroyed = tcpemuv1.EventKind_EVENT_KIND_SESSION_DESTROYED
	// KindSessionAccepted: a listener accepted a connection from a host, a
	// new session whose server endpoint is the engine's; Segment is the
	// host's SYN and RemoteAddr its address.
	KindSessionAccepted = tcpemuv1.EventKind_EVENT_KIND_SESSION_ACCEPTED
	// KindClockBehind: a REALTIME network fell more than 5 ms behind wall
	// time (its shard could not keep up); A is the lag in ns. No session.
	KindClockBehind = tcpemuv1.EventKind_EVENT_KIND_CLOCK_BEHIND
	// KindClockCaughtUp: ... and caught up; A is the largest lag seen and B
	// how long it was behind, in ns.
	KindClockCaughtUp = tcpemuv1.EventKind_EVENT_KIND_CLOCK_CAUGHT_UP
)

// Direction selects a link's forward (client to server) or reverse path.
type Direction = tcpemuv1.Direction

const (
	DirectionForward = tcpemuv1.Direction_DIRECTION_FORWARD
	DirectionReverse = tcpemuv1.Direction_DIRECTION_REVERSE
	DirectionBoth    = tcpemuv1.Direction_DIRECTION_BOTH
	// DirectionEgress is an interface's forward path, engine to host.
	DirectionEgress = DirectionForward
	// DirectionIngress is an interface's reverse path, host to engine.
	DirectionIngress = DirectionReverse
)

// FaultAction is what an injected fault does to the segments it matches.
type FaultAction = tcpemuv1.FaultAction

const (
	FaultDrop      = tcpemuv1.FaultAction_FAULT_ACTION_DROP
	FaultDelay     = tcpemuv1.FaultAction_FAULT_ACTION_DELAY
	FaultDuplicate = tcpemuv1.FaultAction_FAULT_ACTION_DUPLICATE
	FaultCorrupt   = tcpemuv1.FaultAction_FAULT_ACTION_CORRUPT
	FaultReorder   = tcpemuv1.FaultAction_FAULT_ACTION_REORDER
)

// TCPFlag is a TCP header flag bit; combine them with |.
type TCPFlag = tcpemuv1.TcpFlag

const (
	FlagFIN = tcpemuv1.TcpFlag_TCP_FLAG_FIN
	FlagSYN = tcpemuv1.TcpFlag_TCP_FLAG_SYN
	FlagRST = tcpemuv1.TcpFlag_TCP_FLAG_RST
	FlagPSH = tcpemuv1.TcpFlag_TCP_FLAG_PSH
	FlagACK = tcpemuv1.TcpFlag_TCP_FLAG_ACK
	FlagURG = tcpemuv1.TcpFlag_TCP_FLAG_URG
)

// ErrorCode is the error an endpoint's application was told when its
// connection failed.
type ErrorCode = tcpemuv1.ErrorCode

const (
	ErrorNone     = tcpemuv1.ErrorCode_ERROR_CODE_UNSPECIFIED
	ErrorTimedOut = tcpemuv1.ErrorCode_ERROR_CODE_TIMED_OUT
	ErrorReset    = tcpemuv1.ErrorCode_ERROR_CODE_RESET
	ErrorRefused  = tcpemuv1.ErrorCode_ERROR_CODE_REFUSED
	ErrorAborted  = tcpemuv1.ErrorCode_ERROR_CODE_ABORTED
)
