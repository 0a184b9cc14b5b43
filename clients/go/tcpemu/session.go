package tcpemu

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/netip"
	"time"

	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Session is one TCP connection: across a link, with both endpoints inside
// the daemon, or with a real host through an Interface (Interface.Connect,
// Listener.Accept), with only the engine's endpoint, Local, inside.
type Session struct {
	c         *Client
	ID        uint32
	NetworkID uint32
	// LinkID is the link the session crosses; for a session with a real host,
	// the interface's ID.
	LinkID uint32
	// Remote is the real host's address and port, for a session through an
	// interface; the zero AddrPort (not IsValid) for a session across a link.
	Remote netip.AddrPort
	// Accepted says that a host opened the session, through a Listener.
	Accepted bool
}

func newSession(c *Client, p *tcpemuv1.Session) *Session {
	s := &Session{c: c, ID: p.GetId(), NetworkID: p.GetNetworkId(), LinkID: p.GetLinkId(),
		Accepted: p.GetAccepted()}
	if r := p.GetRemote(); r != nil {
		if addr, err := netip.ParseAddr(r.GetAddress()); err == nil {
			s.Remote = netip.AddrPortFrom(addr, uint16(r.GetPort()))
		}
	}
	return s
}

// Replica returns the target of the daemon that holds the session (see
// Client.Target): session IDs are per daemon, so with several replicas the
// replica and the ID together name a session.
func (s *Session) Replica() string { return s.c.target }

// Local is the engine's endpoint of a session with a real host:
// EndpointServer if the host opened it (Accepted), else EndpointClient. Write,
// WriteFill and Read default to it. For a session across a link it is
// EndpointClient.
func (s *Session) Local() Endpoint {
	if s.Accepted {
		return EndpointServer
	}
	return EndpointClient
}

// readEndpoint is the default endpoint of Read: the server across a link,
// the engine's endpoint with a real host.
func (s *Session) readEndpoint() Endpoint {
	if s.Remote.IsValid() {
		return s.Local()
	}
	return EndpointServer
}

// SessionOption configures OpenSession.
type SessionOption func(*tcpemuv1.OpenSessionRequest)

// TCPOption sets one field of an endpoint's TCP configuration; fields left
// unset take the engine's defaults (close to Linux).
type TCPOption func(*tcpemuv1.TcpConfig)

// WithClientTCP configures the client endpoint's TCP.
func WithClientTCP(opts ...TCPOption) SessionOption {
	return func(r *tcpemuv1.OpenSessionRequest) { r.Client = applyTCP(r.Client, opts) }
}

// WithServerTCP configures the server endpoint's TCP.
func WithServerTCP(opts ...TCPOption) SessionOption {
	return func(r *tcpemuv1.OpenSessionRequest) { r.Server = applyTCP(r.Server, opts) }
}

// WithTCP configures both endpoints' TCP.
func WithTCP(opts ...TCPOption) SessionOption {
	return func(r *tcpemuv1.OpenSessionRequest) {
		r.Client = applyTCP(r.Client, opts)
		r.Server = applyTCP(r.Server, opts)
	}
}

func applyTCP(cfg *tcpemuv1.TcpConfig, opts []TCPOption) *tcpemuv1.TcpConfig {
	if cfg == nil {
		cfg = &tcpemuv1.TcpConfig{}
	}
	for _, o := range opts {
		o(cfg)
	}
	return cfg
}

// SendBuffer sets the send buffer size in bytes (default 256 KiB).
func SendBuffer(n uint32) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.SendBuffer = proto.Uint32(n) }
}

// RecvBuffer sets the receive buffer size in bytes (default 256 KiB).
func RecvBuffer(n uint32) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.RecvBuffer = proto.Uint32(n) }
}

// NoDelay turns Nagle's algorithm off (true) or on.
func NoDelay(on bool) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.Nodelay = proto.Bool(on) }
}

// DelayedAck turns delayed acknowledgements on (the default) or off.
func DelayedAck(on bool) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.DelayedAck = proto.Bool(on) }
}

// InitialWindow sets the initial congestion window in segments (default 10).
func InitialWindow(segments uint32) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.InitialWindow = proto.Uint32(segments) }
}

// Timestamps turns RFC 7323 timestamps and PAWS on (the default) or off.
func Timestamps(on bool) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.Timestamps = proto.Bool(on) }
}

// Sack turns the offer of RFC 2018 SACK on (the default) or off.
func Sack(on bool) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.Sack = proto.Bool(on) }
}

// Rack turns RACK-TLP (RFC 8985) on or off (the default): with SACK, losses
// are detected by time rather than by counting duplicate ACKs, and a tail
// loss probe replaces most timeouts at the end of a flight.
func Rack(on bool) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.Rack = proto.Bool(on) }
}

// HyStart turns HyStart++ (RFC 9406) on or off (the default): slow start ends
// early, through a conservative phase, when the round-trip time rises.
func HyStart(on bool) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.Hystart = proto.Bool(on) }
}

// Pacing turns pacing on or off (the default): segments leave spaced over the
// round trip, at twice cwnd per RTT in slow start and 1.2 times after, as
// Linux paces NewReno and CUBIC. BBR paces whatever this says.
func Pacing(on bool) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.Pacing = proto.Bool(on) }
}

// ECN turns ECN (RFC 3168) on or off (the default): the endpoint requests it
// in its SYN and accepts it in its SYN-ACK when the peer requested it, as
// Linux's net.ipv4.tcp_ecn=1. When both ends use it, data carries ECT(0), CE
// marks are echoed with ECE until CWR, and ECE reduces the window once per
// window of data (BBR takes no reduction from it). The endpoint counters
// CeReceived, EceReceived, EcnReductions and CwrSent and the TCB's EcnOk show
// it at work.
func ECN(on bool) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.Ecn = proto.Bool(on) }
}

// ECNSynRetries sets, with ECN, how many retransmitted SYNs still request ECN
// before the connection falls back to SYNs without it (RFC 3168 6.1.1.1), in
// [0, 255]: 0 (the default) as Linux, 1 as FreeBSD's
// net.inet.tcp.ecn.maxretries.
func ECNSynRetries(n uint32) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.EcnSynRetries = proto.Uint32(n) }
}

// WindowScale sets the window scale shift offered in the SYN (RFC 7323 2.2):
// -1 (the default) for the smallest shift that lets the window cover the
// receive buffer, 0..14 offered as given.
func WindowScale(shift int32) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.WindowScale = proto.Int32(shift) }
}

// Stack flavors for Flavor.
const (
	Linux   = tcpemuv1.StackFlavor_STACK_FLAVOR_LINUX
	FreeBSD = tcpemuv1.StackFlavor_STACK_FLAVOR_FREEBSD
)

// Flavor picks whose rules the endpoint follows where the RFCs leave stacks a
// choice: Linux (the default) or FreeBSD (its option order and padding,
// buffers rounded up to the MSS, segments accepted anywhere in the free
// receive buffer, the window advertised from the free buffer, an immediate
// ACK for repeated bytes).
func Flavor(f tcpemuv1.StackFlavor) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.Flavor = f }
}

// RFC5961 turns RFC 5961's defences against blind in-window attacks on (the
// default) or off, for RSTs and for SYNs separately. With rst, an RST resets
// only at exactly RCV.NXT and others in the window get a challenge ACK; with
// syn, a SYN in a synchronized state gets a challenge ACK. Off, RFC 793's
// rules apply, as FreeBSD's net.inet.tcp.insecure_rst and insecure_syn
// select.
func RFC5961(rst, syn bool) TCPOption {
	return func(c *tcpemuv1.TcpConfig) {
		c.Rfc5961Rst = proto.Bool(rst)
		c.Rfc5961Syn = proto.Bool(syn)
	}
}

// InvalidAckInterval sets how often at most an endpoint answers an
// unacceptable segment without text with an ACK (default 500 ms; 0 answers
// every one).
func InvalidAckInterval(d time.Duration) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.InvalidAckInterval = durationpb.New(d) }
}

// ChallengeAckLimit sets how many RFC 5961 challenge ACKs an endpoint sends
// per second at most (default 10; 0 sends every one).
func ChallengeAckLimit(perSecond uint32) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.ChallengeAckLimit = proto.Uint32(perSecond) }
}

// Congestion control algorithms for CongestionControl.
const (
	NewReno = tcpemuv1.CongestionControl_CONGESTION_CONTROL_NEWRENO
	Cubic   = tcpemuv1.CongestionControl_CONGESTION_CONTROL_CUBIC
	BBR     = tcpemuv1.CongestionControl_CONGESTION_CONTROL_BBR
)

// CongestionControl picks the endpoint's algorithm: NewReno (the default),
// Cubic (RFC 9438) or BBR (v1, as Linux's tcp_bbr.c; it always paces).
func CongestionControl(cc tcpemuv1.CongestionControl) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.CongestionControl = cc }
}

// RTO bounds the retransmission timeout: its initial value, minimum and
// maximum; a zero argument keeps the default.
func RTO(initial, lo, hi time.Duration) TCPOption {
	return func(c *tcpemuv1.TcpConfig) {
		if initial != 0 {
			c.RtoInitial = durationpb.New(initial)
		}
		if lo != 0 {
			c.RtoMin = durationpb.New(lo)
		}
		if hi != 0 {
			c.RtoMax = durationpb.New(hi)
		}
	}
}

// MaxRetransmissions sets how many retransmissions of one segment the
// endpoint makes before it aborts with ErrorTimedOut (default 15).
func MaxRetransmissions(n uint32) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.MaxRetransmissions = proto.Uint32(n) }
}

// SynRetries sets how many times the endpoint retransmits its SYN before it
// gives up with ErrorTimedOut (default 6).
func SynRetries(n uint32) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.SynRetries = proto.Uint32(n) }
}

// MSL sets the maximum segment lifetime; TIME_WAIT lasts twice this.
func MSL(d time.Duration) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { c.Msl = durationpb.New(d) }
}

// TCPConfig merges cfg into the endpoint's configuration, for fields that
// have no option here.
func TCPConfig(cfg *tcpemuv1.TcpConfig) TCPOption {
	return func(c *tcpemuv1.TcpConfig) { proto.Merge(c, cfg) }
}

// Reader is how an endpoint's application consumes the bytes it receives.
// By default an endpoint closes its side once it has read the peer's FIN.
type Reader struct {
	mode     tcpemuv1.Reader_Mode
	rate     uint64
	keepOpen bool
}

// KeepOpenAtEOF returns r with the endpoint staying open (CLOSE_WAIT) after
// it has read the peer's FIN, until Close.
func (r Reader) KeepOpenAtEOF() Reader {
	r.keepOpen = true
	return r
}

var (
	// ReadAuto reads (and discards) everything as it arrives: the default.
	ReadAuto = Reader{mode: tcpemuv1.Reader_MODE_AUTO}
	// ReadManual consumes bytes only through Session.Read, so the receive
	// window closes when nobody reads.
	ReadManual = Reader{mode: tcpemuv1.Reader_MODE_MANUAL}
)

// ReadAtRate reads (and discards) bytesPerSecond.
func ReadAtRate(bytesPerSecond uint64) Reader {
	return Reader{mode: tcpemuv1.Reader_MODE_RATE, rate: bytesPerSecond}
}

func (r Reader) proto() *tcpemuv1.Reader {
	p := &tcpemuv1.Reader{Mode: r.mode, RateBytesPerSec: r.rate}
	if r.keepOpen {
		p.CloseOnEof = proto.Bool(false)
	}
	return p
}

// WithReader sets how endpoint e consumes received bytes.
func WithReader(e Endpoint, r Reader) SessionOption {
	return func(req *tcpemuv1.OpenSessionRequest) {
		if e == EndpointClient {
			req.ClientReader = r.proto()
		} else {
			req.ServerReader = r.proto()
		}
	}
}

// WithDigest keeps SHA-256 digests of the bytes each endpoint wrote and read;
// Snapshot reports them.
func WithDigest() SessionOption {
	return func(r *tcpemuv1.OpenSessionRequest) { r.Digest = true }
}

// WithPorts chooses the client and server ports (0: the next ephemeral port,
// and 5001).
func WithPorts(client, server uint16) SessionOption {
	return func(r *tcpemuv1.OpenSessionRequest) {
		r.ClientPort, r.ServerPort = uint32(client), uint32(server)
	}
}

// WithServerClosed opens a session where nothing listens: the client's SYN
// meets an RST.
func WithServerClosed() SessionOption {
	return func(r *tcpemuv1.OpenSessionRequest) { r.ServerClosed = true }
}

// WithCapture keeps the session's packets, for ExportPcap.
func WithCapture() SessionOption {
	return func(r *tcpemuv1.OpenSessionRequest) { r.Capture = true }
}

// WithLocalPort chooses the engine's port of a session with a real host
// (default: the next ephemeral port).
func WithLocalPort(port uint16) SessionOption {
	return func(r *tcpemuv1.OpenSessionRequest) { r.ClientPort = uint32(port) }
}

// OpenSession opens a TCP connection across link: the client sends its SYN at
// once.
func (c *Client) OpenSession(ctx context.Context, link *Link, opts ...SessionOption) (*Session, error) {
	req := &tcpemuv1.OpenSessionRequest{LinkId: link.ID, NetworkId: link.NetworkID}
	for _, o := range opts {
		o(req)
	}
	s, err := call(ctx, c, "OpenSession", 0, c.rpc.OpenSession, req)
	if err != nil {
		return nil, err
	}
	return newSession(c, s), nil
}

// MaxOpenSessionsBatch is the most sessions one OpenSessions call opens (the
// daemon's bound; a larger batch is INVALID_ARGUMENT).
const MaxOpenSessionsBatch = 1000

// SessionSpec is one session of OpenSessions: the link it crosses and its
// own options, applied after the options common to the call.
type SessionSpec struct {
	Link    *Link
	Options []SessionOption
}

// OpenSessions opens one session per spec in a single call and returns them
// in the order of specs. It is all or nothing: if any spec is refused (bad
// options, an unknown link, --max_sessions, a port in use), no session is
// opened and the error (INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, ...)
// names the item, as in "sessions[3].link_id 9 not found". opts apply to
// every spec. At most MaxOpenSessionsBatch specs per call; split larger sets.
func (c *Client) OpenSessions(ctx context.Context, specs []SessionSpec, opts ...SessionOption) ([]*Session, error) {
	req := &tcpemuv1.OpenSessionsRequest{Sessions: make([]*tcpemuv1.OpenSessionRequest, len(specs))}
	for i, spec := range specs {
		if spec.Link == nil {
			return nil, fmt.Errorf("tcpemu: OpenSessions: specs[%d].Link is nil", i)
		}
		r := &tcpemuv1.OpenSessionRequest{LinkId: spec.Link.ID, NetworkId: spec.Link.NetworkID}
		for _, o := range opts {
			o(r)
		}
		for _, o := range spec.Options {
			o(r)
		}
		req.Sessions[i] = r
	}
	resp, err := call(ctx, c, "OpenSessions", 0, c.rpc.OpenSessions, req)
	if err != nil {
		return nil, err
	}
	if len(resp.GetSessions()) != len(specs) {
		return nil, fmt.Errorf("tcpemu: OpenSessions: %d sessions for %d specs", len(resp.GetSessions()), len(specs))
	}
	out := make([]*Session, len(specs))
	for i, p := range resp.GetSessions() {
		out[i] = newSession(c, p)
	}
	return out, nil
}

// GetSession returns a handle on an existing session.
func (c *Client) GetSession(ctx context.Context, id uint32) (*Session, error) {
	s, err := call(ctx, c, "GetSession", 0, c.rpc.GetSession, &tcpemuv1.GetSessionRequest{SessionId: id})
	if err != nil {
		return nil, err
	}
	return newSession(c, s), nil
}

// Snapshot returns both endpoints' TCBs (RFC 9293 names), counters, digests
// and errors.
func (s *Session) Snapshot(ctx context.Context) (*tcpemuv1.Session, error) {
	return call(ctx, s.c, "GetSession", 0, s.c.rpc.GetSession,
		&tcpemuv1.GetSessionRequest{SessionId: s.ID})
}

// Delete forgets the session, aborting it if it is still open.
func (s *Session) Delete(ctx context.Context) error {
	_, err := call(ctx, s.c, "DeleteSession", 0, s.c.rpc.DeleteSession,
		&tcpemuv1.DeleteSessionRequest{SessionId: s.ID})
	return err
}

// DataOption configures Write, WriteFill and Read.
type DataOption func(*dataConfig)

type dataConfig struct {
	endpoint Endpoint
	push     bool
	wait     time.Duration
}

// OnEndpoint chooses the endpoint (Write and WriteFill default to the client,
// Read to the server; both to Local in a session with a real host).
func OnEndpoint(e Endpoint) DataOption {
	return func(c *dataConfig) { c.endpoint = e }
}

// WithPush sets PSH on the last segment of a write.
func WithPush() DataOption {
	return func(c *dataConfig) { c.push = true }
}

// WithWait lets a write wait up to d for send-buffer space until everything
// is accepted, and a read wait up to d for at least one byte. On a virtual
// network the wait ends only as someone advances the clock.
func WithWait(d time.Duration) DataOption {
	return func(c *dataConfig) { c.wait = d }
}

func dataOptions(def Endpoint, opts []DataOption) dataConfig {
	c := dataConfig{endpoint: def}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func (c dataConfig) waitProto() *durationpb.Duration {
	if c.wait == 0 {
		return nil
	}
	return durationpb.New(c.wait)
}

// Write hands data to an endpoint's send buffer and returns how many bytes it
// accepted: what fits, unless WithWait lets it wait for room. Bytes are
// accepted or not, never dropped.
func (s *Session) Write(ctx context.Context, data []byte, opts ...DataOption) (int, error) {
	cfg := dataOptions(s.Local(), opts)
	resp, err := call(ctx, s.c, "Write", cfg.wait, s.c.rpc.Write, &tcpemuv1.WriteRequest{
		SessionId: s.ID,
		Endpoint:  cfg.endpoint,
		Payload:   &tcpemuv1.WriteRequest_Data{Data: data},
		Push:      cfg.push,
		Wait:      cfg.waitProto(),
	})
	if err != nil {
		return 0, err
	}
	return int(resp.GetAccepted()), nil
}

// WriteFill writes n generated bytes (a seeded pattern) without sending them
// over gRPC; it accepts like Write.
func (s *Session) WriteFill(ctx context.Context, n int64, opts ...DataOption) (int64, error) {
	if n < 0 {
		return 0, status.Errorf(codes.InvalidArgument, "tcpemu: WriteFill: n %d is negative", n)
	}
	cfg := dataOptions(s.Local(), opts)
	resp, err := call(ctx, s.c, "Write", cfg.wait, s.c.rpc.Write, &tcpemuv1.WriteRequest{
		SessionId: s.ID,
		Endpoint:  cfg.endpoint,
		Payload:   &tcpemuv1.WriteRequest_FillBytes{FillBytes: uint64(n)},
		Push:      cfg.push,
		Wait:      cfg.waitProto(),
	})
	if err != nil {
		return 0, err
	}
	return int64(resp.GetAccepted()), nil
}

// Read takes up to max received bytes from an endpoint whose reader is
// ReadManual (by default the server's, or Local). Like io.Reader it returns io.EOF,
// possibly with the last bytes, once the peer's FIN has arrived and every
// byte was read. Without WithWait it returns at once, perhaps with nothing.
func (s *Session) Read(ctx context.Context, max int, opts ...DataOption) ([]byte, error) {
	if max < 0 || max > math.MaxUint32 {
		return nil, status.Errorf(codes.InvalidArgument, "tcpemu: Read: max_bytes %d out of range", max)
	}
	cfg := dataOptions(s.readEndpoint(), opts)
	resp, err := call(ctx, s.c, "Read", cfg.wait, s.c.rpc.Read, &tcpemuv1.ReadRequest{
		SessionId: s.ID,
		Endpoint:  cfg.endpoint,
		MaxBytes:  uint32(max),
		Wait:      cfg.waitProto(),
	})
	if err != nil {
		return nil, err
	}
	if resp.GetEof() {
		return resp.GetData(), io.EOF
	}
	return resp.GetData(), nil
}

// CloseOption configures Close.
type CloseOption func(*tcpemuv1.CloseRequest)

// WithReset closes with an RST (abort) instead of a FIN.
func WithReset() CloseOption {
	return func(r *tcpemuv1.CloseRequest) { r.Mode = tcpemuv1.CloseRequest_MODE_RST }
}

// Close closes endpoint e: a FIN after the data already written, or an RST
// with WithReset. It returns the endpoint's state right after.
func (s *Session) Close(ctx context.Context, e Endpoint, opts ...CloseOption) (State, error) {
	req := &tcpemuv1.CloseRequest{SessionId: s.ID, Endpoint: e}
	for _, o := range opts {
		o(req)
	}
	resp, err := call(ctx, s.c, "Close", 0, s.c.rpc.Close, req)
	if err != nil {
		return 0, err
	}
	return resp.GetState(), nil
}

// SetReader changes how endpoint e consumes received bytes.
func (s *Session) SetReader(ctx context.Context, e Endpoint, r Reader) error {
	_, err := call(ctx, s.c, "SetReader", 0, s.c.rpc.SetReader, &tcpemuv1.SetReaderRequest{
		SessionId: s.ID,
		Endpoint:  e,
		Reader:    r.proto(),
	})
	return err
}

// Fault is an installed fault rule: one id per direction it applies to.
type Fault struct {
	IDs    []uint32
	LinkID uint32
}

// FaultOption configures InjectFault.
type FaultOption func(*tcpemuv1.InjectFaultRequest)

// InDirection limits the fault to one path (default: both).
func InDirection(d Direction) FaultOption {
	return func(r *tcpemuv1.InjectFaultRequest) { r.Direction = d }
}

func match(r *tcpemuv1.InjectFaultRequest) *tcpemuv1.FaultMatch {
	if r.Match == nil {
		r.Match = &tcpemuv1.FaultMatch{}
	}
	return r.Match
}

// MatchFlags matches segments with every flag of all set and none of none.
func MatchFlags(all, none TCPFlag) FaultOption {
	return func(r *tcpemuv1.InjectFaultRequest) {
		m := match(r)
		m.FlagsAll, m.FlagsNone = uint32(all), uint32(none)
	}
}

// MatchPayload matches only segments that carry data.
func MatchPayload() FaultOption {
	return func(r *tcpemuv1.InjectFaultRequest) { match(r).PayloadOnly = true }
}

// MatchSeq matches segments overlapping [lo, hi); for a session fault the
// numbers are relative to the sender's ISS (the first data byte is 1).
func MatchSeq(lo, hi uint32) FaultOption {
	return func(r *tcpemuv1.InjectFaultRequest) {
		m := match(r)
		m.SeqLo, m.SeqHi = proto.Uint32(lo), proto.Uint32(hi)
	}
}

// MatchNth applies the fault to the nth matching segment only (1-based).
func MatchNth(n uint32) FaultOption {
	return func(r *tcpemuv1.InjectFaultRequest) { match(r).Nth = n }
}

// Times removes the fault after it has acted n times (default: unlimited).
func Times(n uint64) FaultOption {
	return func(r *tcpemuv1.InjectFaultRequest) { r.Count = n }
}

// WithProbability makes the fault act on each match with probability p
// (default 1).
func WithProbability(p float64) FaultOption {
	return func(r *tcpemuv1.InjectFaultRequest) { r.Probability = proto.Float64(p) }
}

// Lasting removes the fault after d (default: until cleared).
func Lasting(d time.Duration) FaultOption {
	return func(r *tcpemuv1.InjectFaultRequest) { r.Duration = durationpb.New(d) }
}

// DelayBy is the extra delay of a FaultDelay.
func DelayBy(d time.Duration) FaultOption {
	return func(r *tcpemuv1.InjectFaultRequest) { r.Delay = durationpb.New(d) }
}

// InjectFault installs a fault that acts on this session's segments only.
func (s *Session) InjectFault(ctx context.Context, action FaultAction, opts ...FaultOption) (*Fault, error) {
	req := &tcpemuv1.InjectFaultRequest{
		Target: &tcpemuv1.InjectFaultRequest_SessionId{SessionId: s.ID},
		Action: action,
	}
	return s.c.injectFault(ctx, req, opts)
}

func (c *Client) injectFault(ctx context.Context, req *tcpemuv1.InjectFaultRequest, opts []FaultOption) (*Fault, error) {
	for _, o := range opts {
		o(req)
	}
	f, err := call(ctx, c, "InjectFault", 0, c.rpc.InjectFault, req)
	if err != nil {
		return nil, err
	}
	return &Fault{IDs: f.GetIds(), LinkID: f.GetLinkId()}, nil
}

// ClearFaults removes every fault of the session's link.
func (s *Session) ClearFaults(ctx context.Context) error {
	_, err := call(ctx, s.c, "ClearFaults", 0, s.c.rpc.ClearFaults, &tcpemuv1.ClearFaultsRequest{
		Target: &tcpemuv1.ClearFaultsRequest_SessionId{SessionId: s.ID},
	})
	return err
}

// Events watches this session's events. Unless WithReplay(false) is given,
// the stream starts with the session's retained history (its most recent
// events, from the first SYN of a session opened just before), so a stream
// opened right after OpenSession misses nothing.
func (s *Session) Events(ctx context.Context, opts ...EventsOption) (*EventStream, error) {
	base := []EventsOption{OnlyNetwork(s.NetworkID), OnlySessions(s.ID), WithReplay(true)}
	return s.c.Events(ctx, append(base, opts...)...)
}

// WaitFor returns once endpoint e has reached state: it is in it now, or a
// STATE_CHANGED event to it is seen, live or in the session's history. It
// fails with codes.FailedPrecondition if the endpoint closes first, and with
// the context's error when ctx ends. On a virtual network it returns only as
// someone advances the clock.
func (s *Session) WaitFor(ctx context.Context, state State, e Endpoint) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Subscribe first, so that a change after the snapshot below is either
	// replayed from history or seen live.
	events, err := s.Events(ctx, OnlyKinds(KindStateChanged, KindSessionDestroyed), OnlyEndpoint(e))
	if err != nil {
		return fmt.Errorf("tcpemu: WaitFor: %w", err)
	}
	defer events.Close()
	snap, err := s.Snapshot(ctx)
	if err != nil {
		return err
	}
	if endpointState(snap, e).GetTcb().GetState() == state {
		return nil
	}
	// A closed endpoint's last changes are in the history, in order: a
	// state it passed through comes before its change to CLOSED.
	for events.Next() {
		ev := events.Event()
		switch {
		case ev.Kind == KindStateChanged && ev.NewState == state:
			return nil
		case ev.Kind == KindSessionDestroyed,
			ev.Kind == KindStateChanged && ev.NewState == StateClosed:
			snap, err := s.Snapshot(ctx)
			if err != nil {
				return err
			}
			return s.closedBefore(state, e, endpointState(snap, e))
		}
	}
	if err := events.Err(); err != nil {
		return fmt.Errorf("tcpemu: WaitFor %s: %w", state, err)
	}
	return status.Errorf(codes.Unavailable, "tcpemu: WaitFor %s: the event stream ended", state)
}

func endpointState(snap *tcpemuv1.Session, e Endpoint) *tcpemuv1.EndpointState {
	if e == EndpointServer {
		return snap.GetServer()
	}
	return snap.GetClient()
}

func (s *Session) closedBefore(state State, e Endpoint, ep *tcpemuv1.EndpointState) error {
	return status.Errorf(codes.FailedPrecondition,
		"tcpemu: WaitFor: session %d %s endpoint closed (error %s) before reaching %s",
		s.ID, e, ep.GetError(), state)
}
