package tcpemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// Event is one thing that happened in a network: a segment sent, received,
// dropped or mangled, a state change, a timer, an application call, an RTT
// sample, a congestion-window change, an error, a session's end, or a
// connection a listener accepted from a real host.
type Event struct {
	// Time is the network's time when it happened.
	Time      time.Duration
	Kind      EventKind
	NetworkID uint32
	SessionID uint32 // 0 for link events of no session
	LinkID    uint32
	// Endpoint is the endpoint concerned; for link events, the sending side.
	Endpoint Endpoint
	// Reason is the cause, by kind: SEGMENT_SENT reason ("full_mss",
	// "nagle_release", "retransmit_rto", "retransmit_fast", ...),
	// SEGMENT_RECEIVED disposition ("in_order", "out_of_order", ...),
	// SEGMENT_DROPPED reason ("loss", "queue", "fault", "mtu", "aqm"),
	// SEGMENT_MANGLED kind, TIMER_* timer ("rto", "persist", ..., "reorder",
	// "tlp"), CONNECTION_ERROR error.
	Reason string
	// OldState and NewState are set on STATE_CHANGED.
	OldState, NewState State
	// A and B carry numbers by kind: APP_WRITE requested and accepted,
	// APP_READ bytes, RTT_SAMPLE the RTT in ns, CWND_CHANGED old and new,
	// TIMER_ARMED the deadline in ns, SESSION_ACCEPTED the host's IPv4
	// address (RemoteAddr).
	A, B int64
	// Segment is the segment of SEGMENT_* events (HasSegment).
	Segment    Segment
	HasSegment bool
	// TCB is the endpoint's TCB when the event was recorded (HasTCB); for
	// SEGMENT_RECEIVED, before the segment is processed.
	TCB    TCB
	HasTCB bool
	// LostBefore counts the events the daemon dropped for this stream, right
	// before this one, because the stream was read too slowly. Zero means no
	// gap.
	LostBefore uint64
}

// IsRetransmission tells whether the event is a retransmitted segment being
// sent (after an RTO or by fast retransmit).
func (e *Event) IsRetransmission() bool {
	return e.Kind == KindSegmentSent && strings.HasPrefix(e.Reason, "retransmit_")
}

// RemoteAddr is the address of the host whose connection a SESSION_ACCEPTED
// event announces (the zero Addr for other kinds).
func (e *Event) RemoteAddr() netip.Addr {
	if e.Kind != KindSessionAccepted {
		return netip.Addr{}
	}
	v := uint32(e.A)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Segment is a TCP segment's header as an event saw it.
type Segment struct {
	Seq, Ack uint32
	// RelSeq is Seq relative to the sender's ISS, RelAck Ack relative to the
	// receiver's.
	RelSeq, RelAck   uint32
	Len              uint32
	Window           uint32 // the raw header field
	Flags            TCPFlag
	OptMSS           uint32
	OptWScale        uint32
	HasOptWScale     bool
	OptSACKPermitted bool
	OptSACKBlocks    uint32
	OptTimestamp     bool
	SrcPort, DstPort uint32
	// SACK holds the segment's SACK blocks (RFC 2018), the first NumSACK of
	// them (SACKBlocks); four is the most TCP's option space carries. In an
	// ACK that reports a duplicate (D-SACK, RFC 2883) the first block is it.
	SACK    [4]SACKBlock
	NumSACK int
	// TSVal and TSEcr are the timestamp option's values (RFC 7323), when
	// HasTS.
	TSVal, TSEcr uint32
	HasTS        bool
	// WindowBytes is Window shifted by the window scale in use for its
	// direction (never in a SYN).
	WindowBytes uint32
}

// SACKBlock is one SACK block, [Left, Right): absolute sequence numbers, and
// relative ones from the base of the segment's RelAck (the blocks cover the
// receiver's sequence space); the relative pair is 0 for link events.
type SACKBlock struct {
	Left, Right       uint32
	RelLeft, RelRight uint32
}

// SACKBlocks returns the segment's SACK blocks.
func (s *Segment) SACKBlocks() []SACKBlock { return s.SACK[:s.NumSACK] }

// TCB is an endpoint's transmission control block, with RFC 9293 names.
type TCB struct {
	State                         State
	ISS, IRS                      uint32
	SndUna, SndNxt, SndWnd        uint32
	RcvNxt, RcvWnd                uint32
	Cwnd, Ssthresh, BytesInFlight uint32
	SRTT, RTTVar, RTO             time.Duration
	// Negotiated in the handshake: the window scale shifts of the peer's
	// window (Snd) and of our own (Rcv), 0 when scaling is off (RFC 7323);
	// timestamps and SACK in use; TS.Recent, the timestamp echoed.
	SndWScale, RcvWScale uint32
	TSOK, SACKOK         bool
	TSRecent             uint32
	// The sender's RFC 6675 scoreboard, in bytes from SndUna to the highest
	// sequence sent: selectively acknowledged, deemed lost, retransmitted and
	// not yet acknowledged, and pipe, the estimate of bytes in the network.
	SACKedBytes, LostBytes, RetransBytes, Pipe uint32
	// Congestion control: the rate segments are paced at (bytes/s, 0 when
	// not pacing); the phase (CCPhaseUnspecified before the handshake); BBR's
	// estimate of the bottleneck rate (bytes/s, 0 for the others); the base
	// round-trip time (BBR's estimate, the minimum RTT seen for the others).
	PacingRate        uint64
	CCPhase           CCPhase
	BandwidthEstimate uint64
	MinRTT            time.Duration
}

// EventsOption filters and shapes an event stream.
type EventsOption func(*tcpemuv1.WatchEventsRequest)

// OnlyNetwork keeps the events of one network.
func OnlyNetwork(id uint32) EventsOption {
	return func(r *tcpemuv1.WatchEventsRequest) { r.NetworkId = id }
}

// OnlySessions keeps the events of these sessions.
func OnlySessions(ids ...uint32) EventsOption {
	return func(r *tcpemuv1.WatchEventsRequest) { r.SessionIds = append(r.SessionIds, ids...) }
}

// OnlyKinds keeps events of these kinds.
func OnlyKinds(kinds ...EventKind) EventsOption {
	return func(r *tcpemuv1.WatchEventsRequest) { r.Kinds = append(r.Kinds, kinds...) }
}

// OnlyEndpoint keeps the events of one endpoint.
func OnlyEndpoint(e Endpoint) EventsOption {
	return func(r *tcpemuv1.WatchEventsRequest) { r.Endpoint = e }
}

// WithReplay starts the stream with the retained history of the watched
// sessions (their most recent events), then goes on live without gap or
// overlap.
func WithReplay(on bool) EventsOption {
	return func(r *tcpemuv1.WatchEventsRequest) { r.Replay = on }
}

// WithMaxBatch caps the events per message from the daemon (default 1024,
// at most 65536).
func WithMaxBatch(n uint32) EventsOption {
	return func(r *tcpemuv1.WatchEventsRequest) { r.MaxBatch = n }
}

// maxBatchBytes bounds one EventBatch message: 65536 events of under 200
// bytes each.
const maxBatchBytes = 64 << 20

// Events opens a stream of the daemon's events, filtered by the options
// (default: every event of every network, live only). The stream runs until
// ctx ends, Close is called, or the daemon ends it; errors in the request
// (an unknown network, too many subscribers) surface from Next and Err.
//
// The daemon registers the stream a moment after Events returns.
// WaitSubscribed waits for that; with WithReplay, the first event read proves
// it as well. On a virtual network, do either before advancing time to be
// sure that nothing is missed.
func (c *Client) Events(ctx context.Context, opts ...EventsOption) (*EventStream, error) {
	req := &tcpemuv1.WatchEventsRequest{}
	for _, o := range opts {
		o(req)
	}
	ctx, cancel := context.WithCancel(ctx)
	cs, err := c.conn.NewStream(ctx, &tcpemuv1.Emulator_ServiceDesc.Streams[0],
		tcpemuv1.Emulator_WatchEvents_FullMethodName,
		grpc.ForceCodecV2(eventsCodec{}), grpc.MaxCallRecvMsgSize(maxBatchBytes))
	if err == nil {
		err = cs.SendMsg(req)
	}
	if err == nil {
		err = cs.CloseSend()
	}
	if err != nil {
		cancel()
		return nil, wrap(ctx, "WatchEvents", err)
	}
	return &EventStream{ctx: ctx, cancel: cancel, stream: cs, batch: newEventBatch()}, nil
}

// EventStream reads events one at a time:
//
//	for stream.Next() {
//		ev := stream.Event()
//		if ev.LostBefore > 0 { ... a gap ... }
//	}
//	err := stream.Err()
//
// or, equivalently, with range over stream.All(). An EventStream is not safe
// for concurrent use, except that Close may be called from any goroutine.
type EventStream struct {
	ctx     context.Context
	cancel  context.CancelFunc
	stream  grpc.ClientStream
	batch   *eventBatch
	next    int    // index of the next event in batch.events
	cur     *Event // the event Next moved to
	lost    uint64 // events lost in all
	pending uint64 // events lost and not yet reported on an event
	err     error
	done    bool
	closed  atomic.Bool
}

// Next moves to the next event, waiting for one. It returns false when the
// stream has ended: Err tells why.
func (s *EventStream) Next() bool {
	for s.next >= len(s.batch.events) {
		if s.done {
			s.cur = nil
			return false
		}
		if err := s.stream.RecvMsg(s.batch); err != nil {
			s.finish(err)
			s.cur = nil
			return false
		}
		s.next = 0
		s.lost += s.batch.lost
		// A gap belongs to the event after it, which may come in a later
		// batch.
		s.pending += s.batch.lost
		if s.pending > 0 && len(s.batch.events) > 0 {
			s.batch.events[0].LostBefore = s.pending
			s.pending = 0
		}
	}
	s.cur = &s.batch.events[s.next]
	s.next++
	return true
}

// Event returns the event Next moved to. It points into the stream's buffer
// and stays valid until the next call to Next; copy it (*ev) to keep it.
func (s *EventStream) Event() *Event { return s.cur }

// Lost returns how many events the daemon has dropped for this stream so
// far because it was read too slowly.
func (s *EventStream) Lost() uint64 { return s.lost }

// Err returns why the stream ended: nil after Close or a normal end, an
// error satisfying errors.Is(err, context.Canceled) (or DeadlineExceeded)
// when its context ended, or the daemon's status error, for which
// status.Code works.
func (s *EventStream) Err() error { return s.err }

// Close ends the stream; a Next blocked in another goroutine returns false.
func (s *EventStream) Close() {
	s.closed.Store(true)
	s.cancel()
}

// WaitSubscribed returns once the daemon has subscribed the stream (it sends
// the stream's headers at that moment), so that every event from then on
// reaches it, even when none is replayed. If ctx ends first it closes the
// stream and returns the context's error; an error in the request is
// returned as the daemon's status error.
func (s *EventStream) WaitSubscribed(ctx context.Context) error {
	done := make(chan error, 1)
	go func() {
		md, err := s.stream.Header()
		if err == nil && md == nil {
			err = io.EOF // the stream ended without headers
		}
		done <- err
	}()
	select {
	case err := <-done:
		switch {
		case errors.Is(err, io.EOF):
			// The daemon refused the stream; Next returns its status.
			if s.Next() {
				s.next-- // cannot happen; keep the event for the caller
			}
			return s.Err()
		case err != nil:
			return fmt.Errorf("tcpemu: WatchEvents: %w", withContext(s.ctx, err))
		}
		return nil
	case <-ctx.Done():
		s.Close()
		<-done
		return fmt.Errorf("tcpemu: WatchEvents: %w",
			&ctxError{status: status.FromContextError(ctx.Err()).Err(), ctx: ctx.Err()})
	}
}

// All returns an iterator over the events, for range. It yields each event
// with a nil error and, if the stream ends with an error, a zero Event with
// that error last.
func (s *EventStream) All() iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for s.Next() {
			if !yield(*s.cur, nil) {
				return
			}
		}
		if err := s.Err(); err != nil {
			yield(Event{}, err)
		}
	}
}

func (s *EventStream) finish(err error) {
	s.done = true
	s.batch.events, s.next = s.batch.events[:0], 0 // a failed decode may leave some
	if !errors.Is(err, io.EOF) && !s.closed.Load() {
		s.err = fmt.Errorf("tcpemu: WatchEvents: %w", withContext(s.ctx, err))
	}
	s.cancel()
}
