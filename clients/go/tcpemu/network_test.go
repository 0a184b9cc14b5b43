package tcpemu_test

import (
	"context"
	"testing"
	"time"

	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
	"github.com/tcpemu/tcpemu/clients/go/tcpemu"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

func keepalive(idle time.Duration) *tcpemuv1.TcpConfig {
	return &tcpemuv1.TcpConfig{Keepalive: proto.Bool(true), KeepaliveIdle: durationpb.New(idle)}
}

func TestVirtualNetworkAdvance(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	net, err := c.CreateNetwork(ctx, tcpemu.Virtual(), tcpemu.WithSeed(99))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Delete(context.Background())
	if net.Clock != tcpemu.ClockVirtual || net.Seed != 99 || net.ID == 0 {
		t.Fatalf("network %+v", net)
	}

	res, err := net.Advance(ctx, 250*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Now != 250*time.Millisecond || !res.Idle {
		t.Fatalf("Advance(250ms) on an empty network = %+v", res)
	}
	// Virtual time does not move by itself.
	time.Sleep(20 * time.Millisecond)
	info, err := net.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.GetNow().AsDuration(); got != 250*time.Millisecond {
		t.Fatalf("network time %v after sleeping, want 250ms", got)
	}

	link, err := net.CreateLink(ctx, tcpemu.WithDelay(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.OpenSession(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	state := func() (client, server tcpemu.State) {
		t.Helper()
		snap, err := s.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return snap.GetClient().GetTcb().GetState(), snap.GetServer().GetTcb().GetState()
	}
	if cl, sv := state(); cl != tcpemu.StateSynSent || sv != tcpemu.StateListen {
		t.Fatalf("at open: client %s, server %s", cl, sv)
	}
	res, err = net.Advance(ctx, 15*time.Millisecond) // the SYN has arrived
	if err != nil {
		t.Fatal(err)
	}
	if res.Idle {
		t.Fatal("idle with a handshake in flight")
	}
	if cl, sv := state(); cl != tcpemu.StateSynSent || sv != tcpemu.StateSynReceived {
		t.Fatalf("after 15ms: client %s, server %s", cl, sv)
	}
	if _, err := net.Advance(ctx, 20*time.Millisecond); err != nil { // SYN-ACK back, ACK out
		t.Fatal(err)
	}
	if cl, _ := state(); cl != tcpemu.StateEstablished {
		t.Fatalf("after 35ms: client %s", cl)
	}
	if err := s.WaitFor(ctx, tcpemu.StateEstablished, tcpemu.EndpointClient); err != nil {
		t.Fatal(err)
	}

	// The handshake leaves nothing scheduled; a limit stops a network that
	// is never idle (keepalive timers).
	res, err = net.AdvanceUntilIdle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Idle || res.Now < 285*time.Millisecond {
		t.Fatalf("AdvanceUntilIdle = %+v", res)
	}
	before := res.Now
	ka, err := c.OpenSession(ctx, link, tcpemu.WithClientTCP(tcpemu.TCPConfig(keepalive(time.Second))))
	if err != nil {
		t.Fatal(err)
	}
	defer ka.Delete(context.Background())
	res, err = net.AdvanceUntilIdle(ctx, tcpemu.WithLimit(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if res.Idle || res.Now != before+10*time.Second {
		t.Fatalf("AdvanceUntilIdle(limit 10s) with keepalive = %+v, want not idle at %v", res, before+10*time.Second)
	}
}

func TestLinkOptionsReachTheDaemon(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	link, err := c.CreateLink(ctx,
		tcpemu.WithRate(10_000_000),
		tcpemu.Forward(tcpemu.WithDelay(10*time.Millisecond), tcpemu.WithLoss(0.01)),
		tcpemu.Reverse(tcpemu.WithDelay(20*time.Millisecond),
			tcpemu.WithGilbertElliott(0.01, 0.3, 0.2, 0.99)),
		tcpemu.WithJitter(2*time.Millisecond), tcpemu.WithJitterCorrelation(0.25),
		tcpemu.WithQueueLimit(50), tcpemu.WithMTU(1400),
		tcpemu.Forward(tcpemu.WithDuplicate(0.001), tcpemu.WithReorder(0.02, 5), tcpemu.WithCorrupt(0.003)),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer link.Delete(context.Background())
	info, err := link.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fw, rv := info.GetForward(), info.GetReverse()
	for _, p := range []struct {
		name string
		ok   bool
	}{
		{"forward delay", fw.GetDelay().AsDuration() == 10*time.Millisecond},
		{"reverse delay", rv.GetDelay().AsDuration() == 20*time.Millisecond},
		{"rates", fw.GetRateBps() == 10_000_000 && rv.GetRateBps() == 10_000_000},
		{"forward loss", fw.GetLoss().GetRandom() == 0.01},
		{"reverse loss", rv.GetLoss().GetGilbertElliott().GetR() == 0.3 && rv.GetLoss().GetGilbertElliott().GetK() == 0.99},
		{"jitter", fw.GetJitter().GetJitter().AsDuration() == 2*time.Millisecond && rv.GetJitter().GetCorrelation() == 0.25},
		{"queue", fw.GetQueueLimitPackets() == 50 && rv.GetQueueLimitPackets() == 50},
		{"mtu", fw.GetMtu() == 1400 && rv.GetMtu() == 1400},
		{"forward only", fw.GetDuplicate() == 0.001 && fw.GetReorderGap() == 5 && fw.GetCorrupt() == 0.003 &&
			rv.GetDuplicate() == 0 && rv.GetCorrupt() == 0},
	} {
		if !p.ok {
			t.Errorf("%s not as set: forward %v, reverse %v", p.name, fw, rv)
		}
	}

	if err := link.Update(ctx, tcpemu.WithDelay(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	info, err = link.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Only the delay changed; the other fields kept their values.
	if fw := info.GetForward(); fw.GetDelay().AsDuration() != time.Millisecond || fw.GetRateBps() != 10_000_000 ||
		fw.GetLoss().GetRandom() != 0.01 || fw.GetMtu() != 1400 {
		t.Fatalf("after Update(WithDelay): forward %v", fw)
	}
	if rv := info.GetReverse(); rv.GetDelay().AsDuration() != time.Millisecond || rv.GetLoss().GetGilbertElliott().GetR() != 0.3 {
		t.Fatalf("after Update(WithDelay): reverse %v", rv)
	}

	// ReplaceAll in one direction: that path returns to its defaults but for
	// what the options set; the other path is left alone.
	if err := link.Update(ctx, tcpemu.Forward(tcpemu.ReplaceAll(), tcpemu.WithRate(5_000_000))); err != nil {
		t.Fatal(err)
	}
	info, err = link.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fw := info.GetForward(); fw.GetDelay().AsDuration() != 0 || fw.GetRateBps() != 5_000_000 ||
		fw.GetLoss() != nil || fw.GetMtu() != 1500 {
		t.Fatalf("after Update(Forward(ReplaceAll, WithRate)): forward %v", fw)
	}
	if rv := info.GetReverse(); rv.GetDelay().AsDuration() != time.Millisecond || rv.GetRateBps() != 10_000_000 {
		t.Fatalf("after Update(Forward(ReplaceAll, WithRate)): reverse %v", rv)
	}

	// No option: nothing changes.
	got, err := c.UpdateLink(ctx, link.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetForward().GetRateBps() != 5_000_000 || got.GetReverse().GetRateBps() != 10_000_000 {
		t.Fatalf("after UpdateLink with no option: %v", got)
	}
}

// Concurrent updates of different fields: each names only its own, and the
// daemon applies it to the link's current spec, so none undoes another.
func TestConcurrentLinkUpdatesOfDifferentFieldsBothHold(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	link, err := c.CreateLink(ctx, tcpemu.WithDelay(time.Millisecond), tcpemu.WithLoss(0.001))
	if err != nil {
		t.Fatal(err)
	}
	defer link.Delete(context.Background())
	const rounds = 40
	errs := make(chan error, 2)
	go func() {
		for i := 1; i <= rounds; i++ {
			if err := link.Update(ctx, tcpemu.WithDelay(time.Duration(i)*time.Millisecond)); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	go func() {
		for i := 1; i <= rounds; i++ {
			if err := link.Update(ctx, tcpemu.WithLoss(float64(i)/1000)); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	info, err := link.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*tcpemuv1.PathSpec{info.GetForward(), info.GetReverse()} {
		if p.GetDelay().AsDuration() != rounds*time.Millisecond || p.GetLoss().GetRandom() != float64(rounds)/1000 {
			t.Fatalf("after concurrent updates: %v, want delay %dms and loss %v", p, rounds, float64(rounds)/1000)
		}
	}
}
