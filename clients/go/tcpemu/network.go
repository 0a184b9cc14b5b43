package tcpemu

import (
	"context"
	"time"

	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Network is a clock domain: the links and sessions that share one clock.
type Network struct {
	c     *Client
	ID    uint32
	Clock Clock
	// Seed drives every random choice in the network (loss, jitter, ISNs):
	// the same seed gives the same event trace on a virtual network.
	Seed uint64
}

// NetworkOption configures CreateNetwork.
type NetworkOption func(*tcpemuv1.CreateNetworkRequest)

// WithClock chooses the clock domain (default ClockRealtime).
func WithClock(k Clock) NetworkOption {
	return func(r *tcpemuv1.CreateNetworkRequest) { r.Clock = k }
}

// Virtual is WithClock(ClockVirtual): time moves only through Advance.
func Virtual() NetworkOption { return WithClock(ClockVirtual) }

// WithSeed fixes the network's seed (default: chosen by the daemon).
func WithSeed(seed uint64) NetworkOption {
	return func(r *tcpemuv1.CreateNetworkRequest) { r.Seed = seed }
}

// CreateNetwork creates a network.
func (c *Client) CreateNetwork(ctx context.Context, opts ...NetworkOption) (*Network, error) {
	req := &tcpemuv1.CreateNetworkRequest{}
	for _, o := range opts {
		o(req)
	}
	n, err := call(ctx, c, "CreateNetwork", 0, c.rpc.CreateNetwork, req)
	if err != nil {
		return nil, err
	}
	return c.network(n), nil
}

// GetNetwork returns an existing network; id 0 is the daemon's default
// REALTIME network.
func (c *Client) GetNetwork(ctx context.Context, id uint32) (*Network, error) {
	n, err := call(ctx, c, "GetNetwork", 0, c.rpc.GetNetwork,
		&tcpemuv1.GetNetworkRequest{NetworkId: id})
	if err != nil {
		return nil, err
	}
	return c.network(n), nil
}

func (c *Client) network(n *tcpemuv1.Network) *Network {
	return &Network{c: c, ID: n.GetId(), Clock: n.GetClock(), Seed: n.GetSeed()}
}

// Replica returns the target of the daemon that holds the network (see
// Client.Target): IDs are per daemon.
func (n *Network) Replica() string { return n.c.target }

// Info returns the network's current state: its time, link and session
// counts and the shard that runs it.
func (n *Network) Info(ctx context.Context) (*tcpemuv1.Network, error) {
	return call(ctx, n.c, "GetNetwork", 0, n.c.rpc.GetNetwork,
		&tcpemuv1.GetNetworkRequest{NetworkId: n.ID})
}

// Delete deletes the network with its links and sessions.
func (n *Network) Delete(ctx context.Context) error {
	_, err := call(ctx, n.c, "DeleteNetwork", 0, n.c.rpc.DeleteNetwork,
		&tcpemuv1.DeleteNetworkRequest{NetworkId: n.ID})
	return err
}

// CreateLink creates a link in this network.
func (n *Network) CreateLink(ctx context.Context, opts ...LinkOption) (*Link, error) {
	return n.c.CreateLink(ctx, append([]LinkOption{InNetwork(n)}, opts...)...)
}

// Events watches every event of this network; see Client.Events.
func (n *Network) Events(ctx context.Context, opts ...EventsOption) (*EventStream, error) {
	return n.c.Events(ctx, append([]EventsOption{OnlyNetwork(n.ID)}, opts...)...)
}

// AdvanceResult is a virtual network's clock after an advance.
type AdvanceResult struct {
	// Now is the network's time since it was created.
	Now time.Duration
	// Idle says that nothing is scheduled any more: no timer, no segment in
	// flight.
	Idle bool
}

// Advance runs a virtual network's clock forward by d. On a REALTIME network
// it fails with codes.FailedPrecondition.
func (n *Network) Advance(ctx context.Context, d time.Duration) (AdvanceResult, error) {
	return n.advance(ctx, &tcpemuv1.AdvanceTimeRequest{
		NetworkId: n.ID,
		Target:    &tcpemuv1.AdvanceTimeRequest_Duration{Duration: durationpb.New(d)},
	})
}

// AdvanceOption configures AdvanceUntilIdle.
type AdvanceOption func(*tcpemuv1.AdvanceTimeRequest)

// WithLimit stops AdvanceUntilIdle after this much virtual time (the
// daemon's default is one hour).
func WithLimit(d time.Duration) AdvanceOption {
	return func(r *tcpemuv1.AdvanceTimeRequest) { r.Limit = durationpb.New(d) }
}

// AdvanceUntilIdle runs a virtual network until nothing is scheduled, or
// until the limit; Idle in the result tells which.
func (n *Network) AdvanceUntilIdle(ctx context.Context, opts ...AdvanceOption) (AdvanceResult, error) {
	req := &tcpemuv1.AdvanceTimeRequest{
		NetworkId: n.ID,
		Target:    &tcpemuv1.AdvanceTimeRequest_UntilIdle{UntilIdle: true},
	}
	for _, o := range opts {
		o(req)
	}
	return n.advance(ctx, req)
}

func (n *Network) advance(ctx context.Context, req *tcpemuv1.AdvanceTimeRequest) (AdvanceResult, error) {
	resp, err := call(ctx, n.c, "AdvanceTime", 0, n.c.rpc.AdvanceTime, req)
	if err != nil {
		return AdvanceResult{}, err
	}
	return AdvanceResult{Now: resp.GetNow().AsDuration(), Idle: resp.GetIdle()}, nil
}
