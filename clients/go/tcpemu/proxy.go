package tcpemu

import (
	"context"
	"iter"
	"slices"
	"sync"

	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// Proxy puts real applications on an emulated path: the daemon listens on a
// kernel socket (Listen, the address bound in ListenAddress), and relays
// every connection it accepts through a session of its own, both endpoints in
// the engine, across the proxy's link, to the upstream host. The session's
// client endpoint faces the application, its server endpoint the upstream;
// the link's forward path carries application-to-upstream traffic. Toxics
// add toxiproxy's connection-level faults.
//
// A Proxy remembers the daemon's answer to the last call that read or changed
// it (Refresh, Update, AddToxic, ...): ListenAddress, Upstream, Enabled and
// Toxics report it. It is safe for concurrent use.
type Proxy struct {
	c         *Client
	ID        uint32
	NetworkID uint32
	Name      string
	// LinkID is the link the proxy's connections cross; OwnsLink says the
	// proxy made it (WithProxyPath, or no link option) and deletes it with
	// itself.
	LinkID   uint32
	OwnsLink bool

	mu    sync.Mutex
	state *tcpemuv1.Proxy
}

// ProxyOption configures CreateProxy and Proxy.Update. Update takes the
// options that name a field the daemon can change (WithListen, WithUpstream,
// WithEnabled and Disabled, WithToxics, WithDownstreamTCP, WithUpstreamTCP,
// WithRelayBuffer), and only those fields change.
type ProxyOption func(*proxyConfig)

type proxyConfig struct {
	req  *tcpemuv1.CreateProxyRequest
	link *linkConfig // set by WithProxyPath
	// mask lists the fields the options set, for UpdateProxy; createOnly the
	// options that only CreateProxy takes.
	mask       []string
	createOnly []string
}

func newProxyConfig(opts []ProxyOption) *proxyConfig {
	cfg := &proxyConfig{req: &tcpemuv1.CreateProxyRequest{}}
	for _, o := range opts {
		o(cfg)
	}
	if cfg.link != nil {
		cfg.req.Forward, cfg.req.Reverse = cfg.link.forward, cfg.link.reverse
	}
	return cfg
}

func (c *proxyConfig) set(field string) {
	if !slices.Contains(c.mask, field) {
		c.mask = append(c.mask, field)
	}
}

func (c *proxyConfig) onlyAtCreate(option string) {
	if !slices.Contains(c.createOnly, option) {
		c.createOnly = append(c.createOnly, option)
	}
}

// WithProxyNetwork puts the proxy in network n, a REALTIME network (default:
// the daemon's default network). CreateProxy only.
func WithProxyNetwork(n *Network) ProxyOption {
	return func(c *proxyConfig) {
		c.req.NetworkId = n.ID
		c.onlyAtCreate("WithProxyNetwork")
	}
}

// WithProxyLink makes the proxy's connections cross an existing link, which
// outlives the proxy; its network is the proxy's unless WithProxyNetwork
// says otherwise. CreateProxy only.
func WithProxyLink(l *Link) ProxyOption {
	return func(c *proxyConfig) {
		c.req.LinkId = l.ID
		if c.req.NetworkId == 0 {
			c.req.NetworkId = l.NetworkID
		}
		c.onlyAtCreate("WithProxyLink")
	}
}

// WithProxyPath describes the link the proxy makes for itself with the
// link's path options (WithDelay, WithLoss, WithRate, ...), in both
// directions unless wrapped in Forward (application to upstream) or Reverse
// (upstream to application). InNetwork is ignored: see WithProxyNetwork.
// Without WithProxyLink or WithProxyPath the proxy's link is unimpaired.
// CreateProxy only; Proxy.Link().Update changes the link later.
func WithProxyPath(opts ...LinkOption) ProxyOption {
	return func(c *proxyConfig) {
		if c.link == nil {
			c.link = newLinkConfig(nil)
		}
		for _, o := range opts {
			o(c.link)
		}
		c.onlyAtCreate("WithProxyPath")
	}
}

// WithListen changes the address the proxy listens on, "host:port" (port 0
// picks a free port).
func WithListen(addr string) ProxyOption {
	return func(c *proxyConfig) {
		c.req.Listen = addr
		c.set("listen")
	}
}

// WithUpstream changes the upstream host, "host:port", for the connections
// accepted afterwards.
func WithUpstream(addr string) ProxyOption {
	return func(c *proxyConfig) {
		c.req.Upstream = addr
		c.set("upstream")
	}
}

// WithDownstreamTCP configures the TCP of the engine endpoint that faces the
// application (the session's client). Update replaces the whole
// configuration, for connections opened afterwards.
func WithDownstreamTCP(opts ...TCPOption) ProxyOption {
	return func(c *proxyConfig) {
		c.req.DownstreamTcp = applyTCP(c.req.DownstreamTcp, opts)
		c.set("downstream_tcp")
	}
}

// WithUpstreamTCP configures the TCP of the engine endpoint that faces the
// upstream host (the session's server). Update replaces the whole
// configuration, for connections opened afterwards.
func WithUpstreamTCP(opts ...TCPOption) ProxyOption {
	return func(c *proxyConfig) {
		c.req.UpstreamTcp = applyTCP(c.req.UpstreamTcp, opts)
		c.set("upstream_tcp")
	}
}

// WithRelayBuffer sets the bytes held per direction per connection between
// a kernel socket and the engine, 4096 to 16777216 (default 65536).
func WithRelayBuffer(n uint32) ProxyOption {
	return func(c *proxyConfig) {
		c.req.RelayBuffer = n
		c.set("relay_buffer")
	}
}

// WithToxics sets the proxy's toxics: the whole list, so that in Update
// WithToxics() with none removes them all.
func WithToxics(toxics ...*Toxic) ProxyOption {
	return func(c *proxyConfig) {
		c.req.Toxics = cloneToxics(toxics)
		c.set("toxics")
	}
}

// WithEnabled enables the proxy (it listens and relays; the default) or
// disables it (it stops listening and closes its connections).
func WithEnabled(on bool) ProxyOption {
	return func(c *proxyConfig) {
		c.req.Enabled = proto.Bool(on)
		c.set("enabled")
	}
}

// Disabled is WithEnabled(false): the proxy is made, or put, out of service.
func Disabled() ProxyOption { return WithEnabled(false) }

// CreateProxy makes a proxy named name (1 to 64 of [A-Za-z0-9._-], unique
// in the daemon) that listens on listen and relays to upstream, both
// "host:port" with an IPv4 address, an [IPv6] one or a host name. The daemon
// allows them by its --proxy_listen_allow and --proxy_upstream_allow flags
// (loopback by default), and answers codes.PermissionDenied naming the flag
// otherwise. The proxy is in the default network and makes an unimpaired
// link of its own unless options say otherwise.
func (c *Client) CreateProxy(ctx context.Context, name, listen, upstream string, opts ...ProxyOption) (*Proxy, error) {
	cfg := newProxyConfig(opts)
	req := cfg.req
	req.Name = name
	if !slices.Contains(cfg.mask, "listen") {
		req.Listen = listen
	}
	if !slices.Contains(cfg.mask, "upstream") {
		req.Upstream = upstream
	}
	p, err := call(ctx, c, "CreateProxy", 0, c.rpc.CreateProxy, req)
	if err != nil {
		return nil, err
	}
	return c.proxy(p), nil
}

// CreateProxy makes a proxy in this network; see Client.CreateProxy.
func (n *Network) CreateProxy(ctx context.Context, name, listen, upstream string, opts ...ProxyOption) (*Proxy, error) {
	return n.c.CreateProxy(ctx, name, listen, upstream, append([]ProxyOption{WithProxyNetwork(n)}, opts...)...)
}

// GetProxy returns the proxy named name.
func (c *Client) GetProxy(ctx context.Context, name string) (*Proxy, error) {
	p, err := call(ctx, c, "GetProxy", 0, c.rpc.GetProxy,
		&tcpemuv1.GetProxyRequest{Proxy: &tcpemuv1.GetProxyRequest_Name{Name: name}})
	if err != nil {
		return nil, err
	}
	return c.proxy(p), nil
}

// ProxyByID returns the proxy with this id.
func (c *Client) ProxyByID(ctx context.Context, id uint32) (*Proxy, error) {
	p, err := call(ctx, c, "GetProxy", 0, c.rpc.GetProxy,
		&tcpemuv1.GetProxyRequest{Proxy: &tcpemuv1.GetProxyRequest_ProxyId{ProxyId: id}})
	if err != nil {
		return nil, err
	}
	return c.proxy(p), nil
}

// ListProxies returns the proxies of every network.
func (c *Client) ListProxies(ctx context.Context) ([]*Proxy, error) {
	return c.listProxies(ctx, 0)
}

// ListProxies returns the proxies of this network.
func (n *Network) ListProxies(ctx context.Context) ([]*Proxy, error) {
	return n.c.listProxies(ctx, n.ID)
}

func (c *Client) listProxies(ctx context.Context, networkID uint32) ([]*Proxy, error) {
	resp, err := call(ctx, c, "ListProxies", 0, c.rpc.ListProxies,
		&tcpemuv1.ListProxiesRequest{NetworkId: networkID})
	if err != nil {
		return nil, err
	}
	out := make([]*Proxy, 0, len(resp.GetProxies()))
	for _, p := range resp.GetProxies() {
		out = append(out, c.proxy(p))
	}
	return out, nil
}

func (c *Client) proxy(p *tcpemuv1.Proxy) *Proxy {
	return &Proxy{c: c, ID: p.GetId(), NetworkID: p.GetNetworkId(), Name: p.GetName(),
		LinkID: p.GetLinkId(), OwnsLink: p.GetOwnsLink(), state: p}
}

func (p *Proxy) remember(s *tcpemuv1.Proxy) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state = s
}

func (p *Proxy) last() *tcpemuv1.Proxy {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// Replica returns the target of the daemon that holds the proxy (see
// Client.Target): IDs are per daemon.
func (p *Proxy) Replica() string { return p.c.target }

// Info reads the proxy from the daemon: its settings, toxics, the address it
// is bound to and its counters (connections accepted, active and refused,
// upstream failures, bytes each way). The Proxy remembers the answer.
func (p *Proxy) Info(ctx context.Context) (*tcpemuv1.Proxy, error) {
	s, err := call(ctx, p.c, "GetProxy", 0, p.c.rpc.GetProxy,
		&tcpemuv1.GetProxyRequest{Proxy: &tcpemuv1.GetProxyRequest_ProxyId{ProxyId: p.ID}})
	if err != nil {
		return nil, err
	}
	p.remember(s)
	return proto.CloneOf(s), nil
}

// Refresh reads the proxy from the daemon again, for ListenAddress,
// Upstream, Enabled and Toxics.
func (p *Proxy) Refresh(ctx context.Context) error {
	_, err := p.Info(ctx)
	return err
}

// ListenAddress is the address the proxy is bound to while enabled, such as
// "127.0.0.1:26379" (a listen port 0 resolved); "" while disabled.
func (p *Proxy) ListenAddress() string { return p.last().GetListenAddress() }

// Listen is the listen address as given.
func (p *Proxy) Listen() string { return p.last().GetListen() }

// Upstream is the upstream host's address as given.
func (p *Proxy) Upstream() string { return p.last().GetUpstream() }

// Enabled says whether the proxy listens and relays.
func (p *Proxy) Enabled() bool { return p.last().GetEnabled() }

// Toxics returns the proxy's toxics, with the names the daemon gave those
// created without one.
func (p *Proxy) Toxics() []*Toxic { return cloneToxics(p.last().GetToxics()) }

// Link returns the link the proxy's connections cross, to read its counters
// (Info), change its impairments (Update) or inject faults on it.
func (p *Proxy) Link() *Link { return &Link{c: p.c, ID: p.LinkID, NetworkID: p.NetworkID} }

// Update changes the fields of the proxy that the options name, and only
// them (an UpdateProxy with a field mask): WithListen rebinds, WithUpstream
// and the TCP and relay-buffer options apply to connections accepted
// afterwards, WithToxics replaces the whole list, Disabled closes the
// proxy's connections. The options that only CreateProxy takes fail with
// codes.InvalidArgument, and so does an Update with no option.
func (p *Proxy) Update(ctx context.Context, opts ...ProxyOption) error {
	cfg := newProxyConfig(opts)
	if len(cfg.createOnly) > 0 {
		return status.Errorf(codes.InvalidArgument,
			"tcpemu: UpdateProxy: %v apply to CreateProxy only (the link changes with Proxy.Link().Update)", cfg.createOnly)
	}
	if len(cfg.mask) == 0 {
		return status.Error(codes.InvalidArgument, "tcpemu: UpdateProxy: no option names a field to change")
	}
	r := cfg.req
	_, err := p.update(ctx, &tcpemuv1.Proxy{
		Listen:        r.Listen,
		Upstream:      r.Upstream,
		Enabled:       r.GetEnabled(),
		Toxics:        r.Toxics,
		DownstreamTcp: r.DownstreamTcp,
		UpstreamTcp:   r.UpstreamTcp,
		RelayBuffer:   r.RelayBuffer,
	}, cfg.mask)
	return err
}

func (p *Proxy) update(ctx context.Context, fields *tcpemuv1.Proxy, mask []string) (*tcpemuv1.Proxy, error) {
	fields.Id = p.ID
	s, err := call(ctx, p.c, "UpdateProxy", 0, p.c.rpc.UpdateProxy, &tcpemuv1.UpdateProxyRequest{
		Proxy:      fields,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: mask},
	})
	if err != nil {
		return nil, err
	}
	p.remember(s)
	return s, nil
}

// Enable makes the proxy listen and relay again.
func (p *Proxy) Enable(ctx context.Context) error { return p.Update(ctx, WithEnabled(true)) }

// Disable stops the proxy listening and closes its connections; their
// sessions stay, with their events and counters, until deleted.
func (p *Proxy) Disable(ctx context.Context) error { return p.Update(ctx, Disabled()) }

// Delete deletes the proxy, closing its connections, and the link it made
// for itself; the connections' sessions stay until deleted.
func (p *Proxy) Delete(ctx context.Context) error {
	_, err := call(ctx, p.c, "DeleteProxy", 0, p.c.rpc.DeleteProxy,
		&tcpemuv1.DeleteProxyRequest{Proxy: &tcpemuv1.DeleteProxyRequest_ProxyId{ProxyId: p.ID}})
	return err
}

// AddToxic adds a toxic to the proxy and returns it as the daemon stored it
// (named "<type>_<stream>" if it had no name). A toxic of the same name
// fails with codes.AlreadyExists.
//
// The toxics change as a whole list: AddToxic, UpdateToxic and RemoveToxic
// read it, edit it and write it back, so a change made by another client in
// between is overwritten.
func (p *Proxy) AddToxic(ctx context.Context, t *Toxic) (*Toxic, error) {
	name := toxicName(t)
	return p.editToxics(ctx, "AddToxic", name, func(toxics []*Toxic) ([]*Toxic, error) {
		if toxicIndex(toxics, name) >= 0 {
			return nil, status.Errorf(codes.AlreadyExists,
				"tcpemu: AddToxic: proxy %q has a toxic named %q", p.Name, name)
		}
		return append(toxics, proto.CloneOf(t)), nil
	})
}

// UpdateToxic replaces the toxic named name with t, in its place in the
// list; t keeps that name unless it has one of its own. An unknown name
// fails with codes.NotFound. See AddToxic.
func (p *Proxy) UpdateToxic(ctx context.Context, name string, t *Toxic) (*Toxic, error) {
	t = proto.CloneOf(t)
	if t.Name == "" {
		t.Name = name
	}
	return p.editToxics(ctx, "UpdateToxic", t.Name, func(toxics []*Toxic) ([]*Toxic, error) {
		i := toxicIndex(toxics, name)
		if i < 0 {
			return nil, p.noToxic("UpdateToxic", name)
		}
		if t.Name != name && toxicIndex(toxics, t.Name) >= 0 {
			return nil, status.Errorf(codes.AlreadyExists,
				"tcpemu: UpdateToxic: proxy %q has a toxic named %q", p.Name, t.Name)
		}
		toxics[i] = t
		return toxics, nil
	})
}

// RemoveToxic removes the toxic named name. An unknown name fails with
// codes.NotFound. See AddToxic.
func (p *Proxy) RemoveToxic(ctx context.Context, name string) error {
	_, err := p.editToxics(ctx, "RemoveToxic", "", func(toxics []*Toxic) ([]*Toxic, error) {
		i := toxicIndex(toxics, name)
		if i < 0 {
			return nil, p.noToxic("RemoveToxic", name)
		}
		return slices.Delete(toxics, i, i+1), nil
	})
	return err
}

func (p *Proxy) noToxic(op, name string) error {
	return status.Errorf(codes.NotFound, "tcpemu: %s: proxy %q has no toxic named %q", op, p.Name, name)
}

// editToxics reads the proxy's toxics, edits them and writes them back, and
// returns the toxic named result as stored (nil for "").
func (p *Proxy) editToxics(ctx context.Context, op, result string, edit func([]*Toxic) ([]*Toxic, error)) (*Toxic, error) {
	cur, err := p.Info(ctx)
	if err != nil {
		return nil, err
	}
	toxics, err := edit(cur.GetToxics())
	if err != nil {
		return nil, err
	}
	s, err := p.update(ctx, &tcpemuv1.Proxy{Toxics: toxics}, []string{"toxics"})
	if err != nil {
		return nil, err
	}
	if result == "" {
		return nil, nil
	}
	if i := toxicIndex(s.GetToxics(), result); i >= 0 {
		return proto.CloneOf(s.GetToxics()[i]), nil
	}
	return nil, status.Errorf(codes.Internal, "tcpemu: %s: the daemon's answer lacks toxic %q", op, result)
}

func toxicIndex(toxics []*Toxic, name string) int {
	return slices.IndexFunc(toxics, func(t *Toxic) bool { return t.GetName() == name })
}

func cloneToxics(toxics []*Toxic) []*Toxic {
	out := make([]*Toxic, 0, len(toxics))
	for _, t := range toxics {
		out = append(out, proto.CloneOf(t))
	}
	return out
}

// ProxySession is the session of one connection a proxy accepted.
type ProxySession struct {
	*Session
	// DownstreamPeer is the application's address, UpstreamPeer the upstream
	// address connected to ("" until the connect starts), as "host:port".
	DownstreamPeer, UpstreamPeer string
	// Destroyed says that both endpoints have closed.
	Destroyed bool
}

// Sessions returns the sessions of the proxy's connections, open or closed;
// they stay until deleted (Session.Delete).
func (p *Proxy) Sessions(ctx context.Context) ([]*ProxySession, error) {
	var out []*ProxySession
	req := &tcpemuv1.ListSessionsRequest{NetworkId: p.NetworkID, LinkId: p.LinkID, PageSize: 1000}
	for {
		resp, err := call(ctx, p.c, "ListSessions", 0, p.c.rpc.ListSessions, req)
		if err != nil {
			return nil, err
		}
		for _, s := range resp.GetSessions() {
			if s.GetProxyId() != p.ID {
				continue // another proxy's, or a session across the link
			}
			out = append(out, &ProxySession{Session: newSession(p.c, s),
				DownstreamPeer: s.GetDownstreamPeer(), UpstreamPeer: s.GetUpstreamPeer(),
				Destroyed: s.GetDestroyed()})
		}
		if resp.GetNextPageToken() == "" {
			return out, nil
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// Events watches the events of the proxy's connections, those open now and
// those accepted later, and, if the proxy owns its link, the link's own
// events (drops, mangled segments). The options filter further (OnlyKinds,
// OnlyEndpoint, WithReplay for the retained history); OnlyNetwork is the
// proxy's. Connections are told apart by their sessions, which the stream
// looks up once each as their first events come.
func (p *Proxy) Events(ctx context.Context, opts ...EventsOption) (*ProxyEventStream, error) {
	s, err := p.c.Events(ctx, slices.Concat(opts, []EventsOption{OnlyNetwork(p.NetworkID)})...)
	if err != nil {
		return nil, err
	}
	return &ProxyEventStream{EventStream: s, p: p, member: map[uint32]bool{}}, nil
}

// ProxyEventStream is an EventStream that keeps the events of one proxy's
// connections; see Proxy.Events.
type ProxyEventStream struct {
	*EventStream
	p      *Proxy
	member map[uint32]bool // session id: whether it is the proxy's
	err    error
	done   bool
}

// Next moves to the next event of the proxy, waiting for one. It returns
// false when the stream has ended: Err tells why.
func (s *ProxyEventStream) Next() bool {
	for !s.done && s.EventStream.Next() {
		keep, err := s.keep(s.EventStream.Event())
		if err != nil {
			if !s.EventStream.closed.Load() {
				s.err = err
			}
			s.EventStream.Close()
			break
		}
		if keep {
			return true
		}
	}
	s.done = true
	return false
}

// Event returns the event Next moved to; see EventStream.Event.
func (s *ProxyEventStream) Event() *Event {
	if s.done {
		return nil
	}
	return s.EventStream.Event()
}

// Err returns why the stream ended; see EventStream.Err.
func (s *ProxyEventStream) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.EventStream.Err()
}

// All returns an iterator over the proxy's events; see EventStream.All.
func (s *ProxyEventStream) All() iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for s.Next() {
			if !yield(*s.Event(), nil) {
				return
			}
		}
		if err := s.Err(); err != nil {
			yield(Event{}, err)
		}
	}
}

func (s *ProxyEventStream) keep(ev *Event) (bool, error) {
	if ev.LinkID != 0 && ev.LinkID != s.p.LinkID {
		return false, nil
	}
	if ev.SessionID == 0 {
		return s.p.OwnsLink, nil
	}
	if mine, ok := s.member[ev.SessionID]; ok {
		return mine, nil
	}
	snap, err := call(s.ctx, s.p.c, "GetSession", 0, s.p.c.rpc.GetSession,
		&tcpemuv1.GetSessionRequest{SessionId: ev.SessionID})
	switch {
	case status.Code(err) == codes.NotFound:
		s.member[ev.SessionID] = false // deleted already: no longer anyone's
	case err != nil:
		return false, err
	default:
		s.member[ev.SessionID] = snap.GetProxyId() == s.p.ID
	}
	return s.member[ev.SessionID], nil
}
