package tcpemu

import (
	"context"
	"slices"
	"time"

	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// Link is an emulated path between a session's client and server: a forward
// path (client to server) and a reverse path, each with its own impairments.
type Link struct {
	c         *Client
	ID        uint32
	NetworkID uint32
}

// LinkOption configures CreateLink and Link.Update. The path options
// (WithDelay, WithLoss, ...) apply to both directions unless wrapped in
// Forward or Reverse. On an update, each option changes the fields it names
// and nothing else (see Link.Update).
type LinkOption func(*linkConfig)

type linkConfig struct {
	networkID uint32
	network   *Network // given with InNetwork
	forward   *tcpemuv1.PathSpec
	reverse   *tcpemuv1.PathSpec
	dirs      Direction // the paths that path options change now
	// The fields the options set, as UpdateLink's field mask paths
	// ("forward.delay", or "reverse" for a whole path), in order.
	mask []string
}

func newLinkConfig(opts []LinkOption) *linkConfig {
	cfg := &linkConfig{
		forward: &tcpemuv1.PathSpec{},
		reverse: &tcpemuv1.PathSpec{},
		dirs:    DirectionBoth,
	}
	for _, o := range opts {
		o(cfg)
	}
	return cfg
}

// path applies f to each path that the current scope selects, and names the
// PathSpec fields it sets in the update mask ("" for the whole path).
func path(fields []string, f func(*tcpemuv1.PathSpec)) LinkOption {
	return func(c *linkConfig) {
		if c.dirs != DirectionReverse {
			f(c.forward)
			c.name("forward", fields)
		}
		if c.dirs != DirectionForward {
			f(c.reverse)
			c.name("reverse", fields)
		}
	}
}

func (c *linkConfig) name(dir string, fields []string) {
	for _, f := range fields {
		p := dir
		if f != "" {
			p += "." + f
		}
		if !slices.Contains(c.mask, p) {
			c.mask = append(c.mask, p)
		}
	}
}

// whole reports whether the update mask replaces the whole path dir.
func (c *linkConfig) whole(dir string) bool { return slices.Contains(c.mask, dir) }

func fields(names ...string) []string { return names }

func scoped(d Direction, opts []LinkOption) LinkOption {
	return func(c *linkConfig) {
		saved := c.dirs
		c.dirs = d
		for _, o := range opts {
			o(c)
		}
		c.dirs = saved
	}
}

// Forward applies path options to the forward path (client to server) only.
func Forward(opts ...LinkOption) LinkOption { return scoped(DirectionForward, opts) }

// Reverse applies path options to the reverse path (server to client) only.
func Reverse(opts ...LinkOption) LinkOption { return scoped(DirectionReverse, opts) }

// InNetwork puts the link in network n (default: the daemon's default
// REALTIME network).
func InNetwork(n *Network) LinkOption {
	return func(c *linkConfig) { c.networkID, c.network = n.ID, n }
}

// WithDelay sets the one-way propagation delay.
func WithDelay(d time.Duration) LinkOption {
	return path(fields("delay"), func(p *tcpemuv1.PathSpec) { p.Delay = durationpb.New(d) })
}

// WithJitter adds a uniformly distributed delay variation of up to d.
func WithJitter(d time.Duration) LinkOption {
	return path(fields("jitter"), func(p *tcpemuv1.PathSpec) { jitter(p).Jitter = durationpb.New(d) })
}

// WithNormalJitter makes the jitter normally distributed with standard
// deviation d.
func WithNormalJitter(d time.Duration) LinkOption {
	return path(fields("jitter"), func(p *tcpemuv1.PathSpec) {
		j := jitter(p)
		j.Jitter = durationpb.New(d)
		j.Distribution = tcpemuv1.Jitter_DISTRIBUTION_NORMAL
	})
}

// WithJitterCorrelation correlates each jitter sample with the previous one
// (netem's correlation, in [0, 1]). On an update the jitter options replace
// the path's whole jitter: give them together.
func WithJitterCorrelation(c float64) LinkOption {
	return path(fields("jitter"), func(p *tcpemuv1.PathSpec) { jitter(p).Correlation = c })
}

// WithJitterKeepOrder keeps packets in order despite jitter.
func WithJitterKeepOrder() LinkOption {
	return path(fields("jitter"), func(p *tcpemuv1.PathSpec) { jitter(p).KeepOrder = true })
}

func jitter(p *tcpemuv1.PathSpec) *tcpemuv1.Jitter {
	if p.Jitter == nil {
		p.Jitter = &tcpemuv1.Jitter{}
	}
	return p.Jitter
}

// WithRate limits the path to bitsPerSecond (0: unlimited).
func WithRate(bitsPerSecond uint64) LinkOption {
	return path(fields("rate_bps"), func(p *tcpemuv1.PathSpec) { p.RateBps = bitsPerSecond })
}

// WithQueueLimit bounds the drop-tail queue in packets (daemon default 1000;
// 0: unlimited).
func WithQueueLimit(packets uint32) LinkOption {
	return path(fields("queue_limit_packets"), func(p *tcpemuv1.PathSpec) { p.QueueLimitPackets = proto.Uint32(packets) })
}

// WithQueueLimitBytes bounds the drop-tail queue in bytes (0: unlimited).
func WithQueueLimitBytes(n uint64) LinkOption {
	return path(fields("queue_limit_bytes"), func(p *tcpemuv1.PathSpec) { p.QueueLimitBytes = n })
}

// WithLoss drops each packet independently with probability p in [0, 1].
func WithLoss(p float64) LinkOption {
	return path(fields("loss"), func(s *tcpemuv1.PathSpec) {
		s.Loss = &tcpemuv1.Loss{Model: &tcpemuv1.Loss_Random{Random: p}}
	})
}

// WithGilbertElliott sets bursty loss with netem's parameters: p = P(good to
// bad), r = P(bad to good), 1-h = loss probability in the bad state, 1-k = in
// the good state.
func WithGilbertElliott(p, r, h, k float64) LinkOption {
	return path(fields("loss"), func(s *tcpemuv1.PathSpec) {
		s.Loss = &tcpemuv1.Loss{Model: &tcpemuv1.Loss_GilbertElliott{
			GilbertElliott: &tcpemuv1.GilbertElliott{P: p, R: r, H: h, K: k},
		}}
	})
}

// WithDuplicate duplicates each packet with probability p.
func WithDuplicate(p float64) LinkOption {
	return path(fields("duplicate"), func(s *tcpemuv1.PathSpec) { s.Duplicate = p })
}

// WithReorder sends a packet ahead of the queue with probability p; with gap
// > 0, every gap-th packet (netem's reorder gap).
func WithReorder(p float64, gap uint32) LinkOption {
	return path(fields("reorder", "reorder_gap"), func(s *tcpemuv1.PathSpec) { s.Reorder, s.ReorderGap = p, gap })
}

// WithCorrupt flips a bit in each packet with probability p; the receiver's
// checksum catches it.
func WithCorrupt(p float64) LinkOption {
	return path(fields("corrupt"), func(s *tcpemuv1.PathSpec) { s.Corrupt = p })
}

// WithMTU sets the path MTU in bytes (default 1500); larger packets are
// dropped.
func WithMTU(n uint32) LinkOption {
	return path(fields("mtu"), func(s *tcpemuv1.PathSpec) { s.Mtu = proto.Uint32(n) })
}

// WithPathSpec replaces the selected paths with a copy of spec, for fields
// that have no option here. On an update it replaces the whole paths.
func WithPathSpec(spec *tcpemuv1.PathSpec) LinkOption {
	return path(fields(""), func(s *tcpemuv1.PathSpec) {
		proto.Reset(s)
		proto.Merge(s, spec)
	})
}

// ReplaceAll makes an update replace the selected paths whole: the fields
// the other options leave out return to their defaults instead of keeping
// their current values. Alone, it resets the paths. CreateLink ignores it.
func ReplaceAll() LinkOption {
	return path(fields(""), func(*tcpemuv1.PathSpec) {})
}

// CreateLink creates a link, in the default network unless InNetwork is
// given.
func (c *Client) CreateLink(ctx context.Context, opts ...LinkOption) (*Link, error) {
	cfg := newLinkConfig(opts)
	l, err := call(ctx, c, "CreateLink", 0, c.rpc.CreateLink, &tcpemuv1.CreateLinkRequest{
		NetworkId: cfg.networkID,
		Forward:   cfg.forward,
		Reverse:   cfg.reverse,
	})
	if err != nil {
		return nil, err
	}
	return &Link{c: c, ID: l.GetId(), NetworkID: l.GetNetworkId()}, nil
}

// GetLink returns a handle on an existing link.
func (c *Client) GetLink(ctx context.Context, id uint32) (*Link, error) {
	l, err := call(ctx, c, "GetLink", 0, c.rpc.GetLink, &tcpemuv1.GetLinkRequest{LinkId: id})
	if err != nil {
		return nil, err
	}
	return &Link{c: c, ID: l.GetId(), NetworkID: l.GetNetworkId()}, nil
}

// Replica returns the target of the daemon that holds the link (see
// Client.Target): IDs are per daemon.
func (l *Link) Replica() string { return l.c.target }

// Info returns the link's paths and their counters (packets sent, delivered,
// dropped by cause, queued).
func (l *Link) Info(ctx context.Context) (*tcpemuv1.Link, error) {
	return call(ctx, l.c, "GetLink", 0, l.c.rpc.GetLink, &tcpemuv1.GetLinkRequest{LinkId: l.ID})
}

// Update changes the link's impairments, live: the fields the options set
// (in the paths they select) and nothing else; the rest keep their current
// values. The daemon applies the change to the link's current spec (an
// UpdateLink whose field mask names those fields), so concurrent updates of
// different fields do not undo each other. With ReplaceAll, the selected
// paths are replaced whole. No path option: nothing changes. InNetwork is
// ignored.
func (l *Link) Update(ctx context.Context, opts ...LinkOption) error {
	_, err := l.c.UpdateLink(ctx, l.ID, opts...)
	return err
}

// UpdateLink changes link id's impairments as Link.Update does, and returns
// the link's paths and counters afterwards.
func (c *Client) UpdateLink(ctx context.Context, id uint32, opts ...LinkOption) (*tcpemuv1.Link, error) {
	cfg := newLinkConfig(opts)
	if len(cfg.mask) == 0 {
		return call(ctx, c, "GetLink", 0, c.rpc.GetLink, &tcpemuv1.GetLinkRequest{LinkId: id})
	}
	return call(ctx, c, "UpdateLink", 0, c.rpc.UpdateLink, cfg.updateRequest(id))
}

// updateRequest is an UpdateLink of link id whose field mask names the
// fields the options set.
func (c *linkConfig) updateRequest(id uint32) *tcpemuv1.UpdateLinkRequest {
	return &tcpemuv1.UpdateLinkRequest{
		LinkId:     id,
		Forward:    c.forward,
		Reverse:    c.reverse,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: c.mask},
	}
}

// Delete deletes the link.
func (l *Link) Delete(ctx context.Context) error {
	_, err := call(ctx, l.c, "DeleteLink", 0, l.c.rpc.DeleteLink, &tcpemuv1.DeleteLinkRequest{LinkId: l.ID})
	return err
}

// OpenSession opens a session across this link; see Client.OpenSession.
func (l *Link) OpenSession(ctx context.Context, opts ...SessionOption) (*Session, error) {
	return l.c.OpenSession(ctx, l, opts...)
}

// InjectFault installs a fault on every segment crossing the link that the
// options match; see Session.InjectFault.
func (l *Link) InjectFault(ctx context.Context, action FaultAction, opts ...FaultOption) (*Fault, error) {
	req := &tcpemuv1.InjectFaultRequest{
		Target: &tcpemuv1.InjectFaultRequest_LinkId{LinkId: l.ID},
		Action: action,
	}
	return l.c.injectFault(ctx, req, opts)
}

// ClearFaults removes every fault of the link.
func (l *Link) ClearFaults(ctx context.Context) error {
	_, err := call(ctx, l.c, "ClearFaults", 0, l.c.rpc.ClearFaults, &tcpemuv1.ClearFaultsRequest{
		Target: &tcpemuv1.ClearFaultsRequest_LinkId{LinkId: l.ID},
	})
	return err
}
