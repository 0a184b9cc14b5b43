package tcpemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"

	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Interface is a TAP device that joins a REALTIME network's engine to real
// hosts: the engine has an address on it, answers ARP and ping, opens
// connections to hosts (Connect) and accepts theirs (Listen).
//
// An interface is also a link with the same ID (Link): its forward path is
// the egress (engine to host), its reverse path the ingress, and faults and
// impairments apply to them as to any link's.
type Interface struct {
	c         *Client
	ID        uint32
	NetworkID uint32
	// Name is the TAP device's name, e.g. "tcpemu0".
	Name string
	// Address is the engine's address and prefix, e.g. 10.7.0.2/24.
	Address netip.Prefix
	MAC     net.HardwareAddr
	MTU     uint32
}

// InterfaceOption configures CreateInterface and Interface.Update.
type InterfaceOption func(*interfaceConfig)

type interfaceConfig struct {
	req  *tcpemuv1.CreateInterfaceRequest
	link *linkConfig
}

// WithDeviceName names the TAP device (at most 15 bytes; default: the daemon
// picks "tcpemuN"). An existing persistent TAP device of that name is
// attached instead of created.
func WithDeviceName(name string) InterfaceOption {
	return func(c *interfaceConfig) { c.req.Name = name }
}

// WithMAC sets the engine's MAC address (default: a random locally
// administered one).
func WithMAC(mac net.HardwareAddr) InterfaceOption {
	return func(c *interfaceConfig) { c.req.Mac = mac.String() }
}

// WithDeviceMTU sets the interface's MTU, 576 to 9000 (default 1500); the
// paths' MTU follows it unless WithMTU sets them apart.
func WithDeviceMTU(n uint32) InterfaceOption {
	return func(c *interfaceConfig) { c.req.Mtu = n }
}

// WithGateway sets the next hop for addresses outside the interface's
// prefix.
func WithGateway(addr netip.Addr) InterfaceOption {
	return func(c *interfaceConfig) { c.req.Gateway = addr.String() }
}

// WithEgress impairs the traffic from the engine to the hosts with path
// options (WithDelay, WithRate, WithLoss, ...).
func WithEgress(opts ...LinkOption) InterfaceOption {
	return func(c *interfaceConfig) { scoped(DirectionForward, opts)(c.link) }
}

// WithIngress impairs the traffic from the hosts to the engine.
func WithIngress(opts ...LinkOption) InterfaceOption {
	return func(c *interfaceConfig) { scoped(DirectionReverse, opts)(c.link) }
}

func newInterfaceConfig(address string, opts []InterfaceOption) *interfaceConfig {
	cfg := &interfaceConfig{
		req:  &tcpemuv1.CreateInterfaceRequest{Address: address},
		link: newLinkConfig(nil),
	}
	for _, o := range opts {
		o(cfg)
	}
	cfg.req.Egress, cfg.req.Ingress = cfg.link.forward, cfg.link.reverse
	return cfg
}

// CreateInterface creates a TAP device in the default REALTIME network (see
// Network.CreateInterface for another) with the engine at address, an IPv4
// address and prefix such as "10.7.0.2/24". The daemon needs CAP_NET_ADMIN;
// the host's side of the device is then configured as any network device's
// (ip addr add 10.7.0.1/24 dev NAME; ip link set NAME up).
func (c *Client) CreateInterface(ctx context.Context, address string, opts ...InterfaceOption) (*Interface, error) {
	return c.createInterface(ctx, 0, address, opts)
}

// CreateInterface creates a TAP device in this REALTIME network; see
// Client.CreateInterface.
func (n *Network) CreateInterface(ctx context.Context, address string, opts ...InterfaceOption) (*Interface, error) {
	return n.c.createInterface(ctx, n.ID, address, opts)
}

func (c *Client) createInterface(ctx context.Context, networkID uint32, address string, opts []InterfaceOption) (*Interface, error) {
	cfg := newInterfaceConfig(address, opts)
	cfg.req.NetworkId = networkID
	p, err := call(ctx, c, "CreateInterface", 0, c.rpc.CreateInterface, cfg.req)
	if err != nil {
		return nil, err
	}
	return c.iface(p), nil
}

// GetInterface returns a handle on an existing interface.
func (c *Client) GetInterface(ctx context.Context, id uint32) (*Interface, error) {
	p, err := call(ctx, c, "GetInterface", 0, c.rpc.GetInterface,
		&tcpemuv1.GetInterfaceRequest{InterfaceId: id})
	if err != nil {
		return nil, err
	}
	return c.iface(p), nil
}

// ListInterfaces returns the interfaces of a network, or of every network
// for networkID 0.
func (c *Client) ListInterfaces(ctx context.Context, networkID uint32) ([]*Interface, error) {
	resp, err := call(ctx, c, "ListInterfaces", 0, c.rpc.ListInterfaces,
		&tcpemuv1.ListInterfacesRequest{NetworkId: networkID})
	if err != nil {
		return nil, err
	}
	out := make([]*Interface, 0, len(resp.GetInterfaces()))
	for _, p := range resp.GetInterfaces() {
		out = append(out, c.iface(p))
	}
	return out, nil
}

func (c *Client) iface(p *tcpemuv1.Interface) *Interface {
	i := &Interface{c: c, ID: p.GetId(), NetworkID: p.GetNetworkId(), Name: p.GetName(), MTU: p.GetMtu()}
	i.Address, _ = netip.ParsePrefix(p.GetAddress())
	i.MAC, _ = net.ParseMAC(p.GetMac())
	return i
}

// Replica returns the target of the daemon that holds the interface (see
// Client.Target): IDs are per daemon.
func (i *Interface) Replica() string { return i.c.target }

// Info returns the interface's state: its impairments, the device's counters
// (frames, ARP, ICMP, drops by cause), the paths' counters, its sessions
// and listening ports.
func (i *Interface) Info(ctx context.Context) (*tcpemuv1.Interface, error) {
	return call(ctx, i.c, "GetInterface", 0, i.c.rpc.GetInterface,
		&tcpemuv1.GetInterfaceRequest{InterfaceId: i.ID})
}

// Update changes the interface's impairments, live, as Link.Update does:
// the fields that WithEgress's and WithIngress's options set, and nothing
// else. WithEgress(ReplaceAll(), ...) replaces the whole egress path, what
// the options leave out returning to its default (its MTU to the
// interface's). Other options are ignored.
func (i *Interface) Update(ctx context.Context, opts ...InterfaceOption) error {
	cfg := newInterfaceConfig("", opts)
	if len(cfg.link.mask) == 0 {
		return nil
	}
	for dir, p := range map[string]*tcpemuv1.PathSpec{"forward": cfg.link.forward, "reverse": cfg.link.reverse} {
		if cfg.link.whole(dir) && p.Mtu == nil {
			p.Mtu = proto.Uint32(i.MTU)
		}
	}
	_, err := call(ctx, i.c, "UpdateLink", 0, i.c.rpc.UpdateLink, cfg.link.updateRequest(i.ID))
	return err
}

// Delete aborts the interface's sessions (RST), closes its listeners and
// removes the TAP device if the daemon created it.
func (i *Interface) Delete(ctx context.Context) error {
	_, err := call(ctx, i.c, "DeleteInterface", 0, i.c.rpc.DeleteInterface,
		&tcpemuv1.DeleteInterfaceRequest{InterfaceId: i.ID})
	return err
}

// Link returns the interface as a link: Info reports the egress as forward,
// InjectFault takes DirectionEgress and DirectionIngress.
func (i *Interface) Link() *Link {
	return &Link{c: i.c, ID: i.ID, NetworkID: i.NetworkID}
}

// InjectFault installs a fault on the interface's traffic; see
// Link.InjectFault.
func (i *Interface) InjectFault(ctx context.Context, action FaultAction, opts ...FaultOption) (*Fault, error) {
	return i.Link().InjectFault(ctx, action, opts...)
}

// ClearFaults removes every fault of the interface.
func (i *Interface) ClearFaults(ctx context.Context) error {
	return i.Link().ClearFaults(ctx)
}

// Connect opens a TCP connection from the engine to a real host at address
// ("10.7.0.1:80") through the interface. The session's only endpoint is
// the engine's client: WithClientTCP (or WithTCP), WithReader(EndpointClient,
// ...), WithDigest, WithCapture and WithLocalPort apply; server-side options
// are refused by the daemon, except that WithTCP's server half is dropped.
// The SYN leaves at once; WaitFor(ctx, StateEstablished, EndpointClient)
// waits for the handshake.
func (i *Interface) Connect(ctx context.Context, address string, opts ...SessionOption) (*Session, error) {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "tcpemu: Connect: address %q: %v", address, err)
	}
	req := &tcpemuv1.OpenSessionRequest{}
	for _, o := range opts {
		o(req)
	}
	req.Server = nil
	req.Remote = &tcpemuv1.Remote{InterfaceId: i.ID, Address: ap.Addr().String(), Port: uint32(ap.Port())}
	s, err := call(ctx, i.c, "OpenSession", 0, i.c.rpc.OpenSession, req)
	if err != nil {
		return nil, err
	}
	return newSession(i.c, s), nil
}

// ExportPcap writes the packets of a session opened WithCapture (or of any
// session when tcpemud runs with --pcap_dir) to w as a pcap file
// (LINKTYPE_RAW, nanosecond timestamps), and returns the bytes written. A
// session with no capture fails with codes.FailedPrecondition.
func (c *Client) ExportPcap(ctx context.Context, sessionID uint32, w io.Writer) (int64, error) {
	ctx, cancel := c.callContext(ctx, 0)
	defer cancel()
	stream, err := c.rpc.ExportPcap(ctx, &tcpemuv1.ExportPcapRequest{SessionId: sessionID})
	if err != nil {
		return 0, wrap(ctx, "ExportPcap", err)
	}
	var n int64
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, wrap(ctx, "ExportPcap", err)
		}
		m, err := w.Write(chunk.GetData())
		n += int64(m)
		if err != nil {
			return n, fmt.Errorf("tcpemu: ExportPcap: %w", err)
		}
	}
}

// ExportPcap writes the session's packets to w; see Client.ExportPcap.
func (s *Session) ExportPcap(ctx context.Context, w io.Writer) (int64, error) {
	return s.c.ExportPcap(ctx, s.ID, w)
}

// ListenOption configures Interface.Listen: the engine's endpoint of each
// accepted session.
type ListenOption func(*tcpemuv1.ListenRequest)

// ListenTCP configures the TCP of the accepted sessions' endpoints.
func ListenTCP(opts ...TCPOption) ListenOption {
	return func(r *tcpemuv1.ListenRequest) { r.Config = applyTCP(r.Config, opts) }
}

// ListenReader sets how the accepted sessions' endpoints consume what they
// receive (default ReadAuto).
func ListenReader(rd Reader) ListenOption {
	return func(r *tcpemuv1.ListenRequest) { r.Reader = rd.proto() }
}

// ListenDigest keeps SHA-256 digests of each accepted session's bytes.
func ListenDigest() ListenOption {
	return func(r *tcpemuv1.ListenRequest) { r.Digest = true }
}

// ListenCapture keeps each accepted session's packets, for ExportPcap.
func ListenCapture() ListenOption {
	return func(r *tcpemuv1.ListenRequest) { r.Capture = true }
}

// ListenBacklog bounds the connections in SYN-RECEIVED at once (default 128);
// SYNs over it are dropped.
func ListenBacklog(n uint32) ListenOption {
	return func(r *tcpemuv1.ListenRequest) { r.Backlog = n }
}

// Listener is a port an interface listens on. The daemon accepts each
// connection a host opens as a new session at once, announced by a
// SESSION_ACCEPTED event; Accept returns those sessions in order. It is safe
// for concurrent use.
type Listener struct {
	c           *Client
	InterfaceID uint32
	Port        uint16

	events  *EventStream
	ready   chan struct{} // a session id was queued, or the stream ended
	mu      sync.Mutex
	pending []uint32 // announced session ids, oldest first
	ended   bool
	err     error // why the stream ended
}

// Listen makes the engine listen on port of the interface: each connection
// a host opens becomes a session whose server endpoint is the engine's.
// The listener watches SESSION_ACCEPTED events until Delete; ctx bounds the
// call only.
func (i *Interface) Listen(ctx context.Context, port uint16, opts ...ListenOption) (*Listener, error) {
	req := &tcpemuv1.ListenRequest{InterfaceId: i.ID, Port: uint32(port)}
	for _, o := range opts {
		o(req)
	}
	// Subscribe first, so that no connection goes unannounced.
	events, err := i.c.Events(context.WithoutCancel(ctx),
		OnlyNetwork(i.NetworkID), OnlyKinds(KindSessionAccepted))
	if err != nil {
		return nil, err
	}
	wctx, cancel := i.c.callContext(ctx, 0)
	defer cancel()
	if err := events.WaitSubscribed(wctx); err != nil {
		events.Close()
		return nil, fmt.Errorf("tcpemu: Listen: %w", err)
	}
	if _, err := call(ctx, i.c, "Listen", 0, i.c.rpc.Listen, req); err != nil {
		events.Close()
		return nil, err
	}
	l := &Listener{c: i.c, InterfaceID: i.ID, Port: port, events: events, ready: make(chan struct{}, 1)}
	go l.watch()
	return l, nil
}

func (l *Listener) watch() {
	for l.events.Next() {
		ev := l.events.Event()
		if ev.Kind == KindSessionAccepted && ev.LinkID == l.InterfaceID {
			l.mu.Lock()
			l.pending = append(l.pending, ev.SessionID)
			l.mu.Unlock()
			l.signal()
		}
	}
	l.mu.Lock()
	l.ended, l.err = true, l.events.Err()
	l.mu.Unlock()
	l.signal()
}

func (l *Listener) signal() {
	select {
	case l.ready <- struct{}{}:
	default:
	}
}

// Accept returns the next session a host opened to the port, waiting until
// one comes or ctx ends. The session is live already, and its reader may have
// consumed data. After Delete, Accept returns the sessions announced before,
// then fails with codes.FailedPrecondition.
func (l *Listener) Accept(ctx context.Context) (*Session, error) {
	for {
		l.mu.Lock()
		if len(l.pending) > 0 {
			id := l.pending[0]
			l.pending = l.pending[1:]
			more := len(l.pending) > 0 || l.ended
			l.mu.Unlock()
			if more {
				l.signal() // for another Accept
			}
			p, err := call(ctx, l.c, "GetSession", 0, l.c.rpc.GetSession,
				&tcpemuv1.GetSessionRequest{SessionId: id})
			if status.Code(err) == codes.NotFound {
				continue // deleted already
			}
			if err != nil {
				return nil, err
			}
			// The event names the interface, not the port.
			if p.GetAccepted() && p.GetServer().GetPort() == uint32(l.Port) {
				return newSession(l.c, p), nil
			}
			continue
		}
		ended, err := l.ended, l.err
		l.mu.Unlock()
		if ended {
			l.signal()
			if err != nil {
				return nil, fmt.Errorf("tcpemu: Accept: %w", err)
			}
			return nil, status.Errorf(codes.FailedPrecondition,
				"tcpemu: Accept: the listener on interface %d port %d is closed", l.InterfaceID, l.Port)
		}
		select {
		case <-l.ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("tcpemu: Accept: %w",
				&ctxError{status: status.FromContextError(ctx.Err()).Err(), ctx: ctx.Err()})
		}
	}
}

// Delete stops listening (sessions already accepted go on) and watching.
func (l *Listener) Delete(ctx context.Context) error {
	defer l.events.Close()
	_, err := call(ctx, l.c, "DeleteListener", 0, l.c.rpc.DeleteListener,
		&tcpemuv1.DeleteListenerRequest{InterfaceId: l.InterfaceID, Port: uint32(l.Port)})
	return err
}
