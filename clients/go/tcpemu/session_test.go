package tcpemu_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
	"github.com/tcpemu/tcpemu/clients/go/tcpemu"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The transfer of the brief: 1 MB across a 50 ms / 1 % loss link. On a
// virtual network it takes no wall time and the seed fixes the losses.
func TestLossyTransferShowsRetransmissions(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	net, err := c.CreateNetwork(ctx, tcpemu.Virtual(), tcpemu.WithSeed(7))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Delete(context.Background())
	link, err := net.CreateLink(ctx, tcpemu.WithDelay(50*time.Millisecond), tcpemu.WithLoss(0.01))
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.OpenSession(ctx, link, tcpemu.WithDigest(),
		tcpemu.WithClientTCP(tcpemu.SendBuffer(2<<20)))
	if err != nil {
		t.Fatal(err)
	}
	// Link events (drops) carry no session id, so watch the whole network,
	// which holds this one session.
	events, err := net.Events(ctx, tcpemu.WithReplay(true), tcpemu.OnlyKinds(tcpemu.KindSegmentSent,
		tcpemu.KindSegmentDropped, tcpemu.KindSessionDestroyed))
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	// The replayed SYN proves the stream is live before time moves.
	if !events.Next() {
		t.Fatalf("no replayed event: %v", events.Err())
	}
	if ev := events.Event(); ev.Kind != tcpemu.KindSegmentSent || ev.Segment.Flags&tcpemu.FlagSYN == 0 {
		t.Fatalf("first event %+v, want the client's SYN", ev)
	}

	data := make([]byte, 1<<20)
	rnd := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rnd.Uint32())
	}
	n, err := s.Write(ctx, data, tcpemu.WithPush())
	if err != nil || n != len(data) {
		t.Fatalf("Write = %d, %v; want %d accepted", n, err, len(data))
	}
	if _, err := s.Close(ctx, tcpemu.EndpointClient); err != nil {
		t.Fatal(err)
	}

	type tally struct{ retransmits, drops, lost uint64 }
	done := make(chan tally, 1)
	go func() {
		var got tally
		for events.Next() {
			ev := events.Event()
			got.lost += ev.LostBefore
			switch {
			case ev.IsRetransmission():
				got.retransmits++
			case ev.Kind == tcpemu.KindSegmentDropped:
				got.drops++
			case ev.Kind == tcpemu.KindSessionDestroyed:
				done <- got
				return
			}
		}
		t.Errorf("event stream ended before the session did: %v", events.Err())
		done <- got
	}()
	res, err := net.AdvanceUntilIdle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Idle {
		t.Fatalf("network not idle after %v", res.Now)
	}
	var got tally
	select {
	case got = <-done:
	case <-ctx.Done():
		t.Fatal("no SESSION_DESTROYED event")
	}

	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if !snap.GetDestroyed() || snap.GetServer().GetBytesRead() != uint64(len(data)) {
		t.Fatalf("destroyed=%v, server read %d bytes; want destroyed, %d",
			snap.GetDestroyed(), snap.GetServer().GetBytesRead(), len(data))
	}
	if !bytes.Equal(snap.GetServer().GetReadSha256(), sum[:]) || !bytes.Equal(snap.GetClient().GetWriteSha256(), sum[:]) {
		t.Fatal("digests of the bytes written and read differ from the data's")
	}
	if got.lost != 0 || events.Lost() != 0 {
		t.Fatalf("the stream lost %d events", events.Lost())
	}
	counters := func(e interface {
		GetRetransmitsRto() uint64
		GetRetransmitsFast() uint64
	}) uint64 {
		return e.GetRetransmitsRto() + e.GetRetransmitsFast()
	}
	want := counters(snap.GetClient().GetCounters()) + counters(snap.GetServer().GetCounters())
	if got.retransmits == 0 || got.retransmits != want {
		t.Fatalf("%d retransmission events, counters say %d; want the same, above 0", got.retransmits, want)
	}
	info, err := link.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	drops := info.GetForwardCounters().GetDroppedLoss() + info.GetReverseCounters().GetDroppedLoss()
	if got.drops == 0 || got.drops != drops {
		t.Fatalf("%d SEGMENT_DROPPED events, link counters say %d", got.drops, drops)
	}
	t.Logf("1 MB in %v of network time: %d retransmissions, %d drops", res.Now, got.retransmits, got.drops)
}

func TestRealtimeWaitForWriteRead(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	link, err := c.CreateLink(ctx, tcpemu.WithDelay(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer link.Delete(context.Background())
	s, err := c.OpenSession(ctx, link,
		tcpemu.WithReader(tcpemu.EndpointServer, tcpemu.ReadManual.KeepOpenAtEOF()),
		tcpemu.WithTCP(tcpemu.MSL(50*time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Delete(context.Background())
	if err := s.WaitFor(ctx, tcpemu.StateEstablished, tcpemu.EndpointClient); err != nil {
		t.Fatal(err)
	}
	// Already reached: returns at once from the snapshot or the history.
	if err := s.WaitFor(ctx, tcpemu.StateSynSent, tcpemu.EndpointClient); err != nil {
		t.Fatalf("WaitFor a state already passed: %v", err)
	}
	msg := []byte("hello over an emulated link")
	if n, err := s.Write(ctx, msg, tcpemu.WithPush()); err != nil || n != len(msg) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	var got []byte
	for len(got) < len(msg) {
		b, err := s.Read(ctx, 1024, tcpemu.WithWait(5*time.Second))
		if err != nil {
			t.Fatalf("Read after %q: %v", got, err)
		}
		if len(b) == 0 {
			t.Fatalf("Read waited 5s and got nothing after %q", got)
		}
		got = append(got, b...)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("read %q, want %q", got, msg)
	}
	if _, err := s.Close(ctx, tcpemu.EndpointClient); err != nil {
		t.Fatal(err)
	}
	b, err := s.Read(ctx, 1024, tcpemu.WithWait(5*time.Second))
	if !errors.Is(err, io.EOF) || len(b) != 0 {
		t.Fatalf("Read after FIN = %q, %v; want io.EOF", b, err)
	}
	if err := s.WaitFor(ctx, tcpemu.StateCloseWait, tcpemu.EndpointServer); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Close(ctx, tcpemu.EndpointServer); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitFor(ctx, tcpemu.StateTimeWait, tcpemu.EndpointClient); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitFor(ctx, tcpemu.StateClosed, tcpemu.EndpointClient); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.GetClient().GetTcb().GetState(); got != tcpemu.StateClosed {
		t.Fatalf("client state %s after WaitFor CLOSED", got)
	}
}

func TestWaitForFailsWhenRefused(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	link, err := c.CreateLink(ctx, tcpemu.WithDelay(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer link.Delete(context.Background())
	s, err := c.OpenSession(ctx, link, tcpemu.WithServerClosed())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Delete(context.Background())
	err = s.WaitFor(ctx, tcpemu.StateEstablished, tcpemu.EndpointClient)
	if status.Code(err) != codes.FailedPrecondition || ctx.Err() != nil {
		t.Fatalf("WaitFor on a refused connection = %v; want FailedPrecondition before the deadline", err)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.GetClient().GetError() != tcpemu.ErrorRefused {
		t.Fatalf("client error %s, want %s", snap.GetClient().GetError(), tcpemu.ErrorRefused)
	}
}

func TestInjectedFaultIsRetransmitted(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	net, err := c.CreateNetwork(ctx, tcpemu.Virtual(), tcpemu.WithSeed(11))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Delete(context.Background())
	link, err := net.CreateLink(ctx, tcpemu.WithDelay(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	s, err := link.OpenSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.InjectFault(ctx, tcpemu.FaultDrop, tcpemu.InDirection(tcpemu.DirectionForward),
		tcpemu.MatchPayload(), tcpemu.MatchNth(3))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.IDs) != 1 || f.LinkID != link.ID {
		t.Fatalf("fault %+v: want one rule on link %d", f, link.ID)
	}
	if n, err := s.WriteFill(ctx, 100_000); err != nil || n != 100_000 {
		t.Fatalf("WriteFill = %d, %v", n, err)
	}
	if _, err := s.Close(ctx, tcpemu.EndpointClient); err != nil {
		t.Fatal(err)
	}
	if _, err := net.AdvanceUntilIdle(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := link.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.GetForwardCounters().GetDroppedFault(); got != 1 {
		t.Fatalf("forward dropped_fault = %d, want 1", got)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cc := snap.GetClient().GetCounters()
	if cc.GetRetransmitsFast()+cc.GetRetransmitsRto() == 0 || snap.GetServer().GetBytesRead() != 100_000 {
		t.Fatalf("client counters %v, server read %d; want a retransmission and 100000 bytes",
			cc, snap.GetServer().GetBytesRead())
	}
	if err := s.ClearFaults(ctx); err != nil {
		t.Fatal(err)
	}
}

// Timestamps are on by default and cost each segment 12 bytes of its MSS;
// one side turning them off turns them off for the connection.
func TestTimestampsOption(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	net, err := c.CreateNetwork(ctx, tcpemu.Virtual(), tcpemu.WithSeed(1))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Delete(context.Background())
	link, err := net.CreateLink(ctx, tcpemu.WithDelay(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts []tcpemu.TCPOption
		mss  uint32
	}{
		{nil, 1448},
		{[]tcpemu.TCPOption{tcpemu.Timestamps(false), tcpemu.ChallengeAckLimit(0)}, 1460},
	} {
		s, err := link.OpenSession(ctx, tcpemu.WithClientTCP(tc.opts...))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := net.Advance(ctx, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		snap, err := s.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if snap.GetClient().GetMss() != tc.mss || snap.GetServer().GetMss() != tc.mss {
			t.Errorf("mss client %d server %d, want %d", snap.GetClient().GetMss(),
				snap.GetServer().GetMss(), tc.mss)
		}
	}
}

func TestRackAndHyStartOptions(t *testing.T) {
	cfg := &tcpemuv1.TcpConfig{}
	for _, opt := range []tcpemu.TCPOption{tcpemu.Rack(true), tcpemu.HyStart(false)} {
		opt(cfg)
	}
	if cfg.Rack == nil || !*cfg.Rack || cfg.Hystart == nil || *cfg.Hystart {
		t.Fatalf("rack %v hystart %v, want true and false, both set", cfg.Rack, cfg.Hystart)
	}
}

func TestCongestionControlAndPacingOptions(t *testing.T) {
	cfg := &tcpemuv1.TcpConfig{}
	for _, opt := range []tcpemu.TCPOption{tcpemu.CongestionControl(tcpemu.BBR), tcpemu.Pacing(true)} {
		opt(cfg)
	}
	if cfg.CongestionControl != tcpemuv1.CongestionControl_CONGESTION_CONTROL_BBR || cfg.Pacing == nil || !*cfg.Pacing {
		t.Fatalf("congestion control %v pacing %v, want BBR and true", cfg.CongestionControl, cfg.Pacing)
	}
}

func TestECNOption(t *testing.T) {
	cfg := &tcpemuv1.TcpConfig{}
	if cfg.Ecn != nil {
		t.Fatal("ecn set by default")
	}
	tcpemu.ECN(true)(cfg)
	if cfg.Ecn == nil || !*cfg.Ecn {
		t.Fatalf("ecn %v, want true", cfg.Ecn)
	}
}

func TestStackChoiceOptions(t *testing.T) {
	cfg := &tcpemuv1.TcpConfig{}
	if cfg.WindowScale != nil || cfg.Rfc5961Rst != nil || cfg.Rfc5961Syn != nil || cfg.EcnSynRetries != nil {
		t.Fatal("stack choices set by default")
	}
	for _, opt := range []tcpemu.TCPOption{tcpemu.WindowScale(0), tcpemu.Flavor(tcpemu.FreeBSD),
		tcpemu.RFC5961(false, true), tcpemu.ECNSynRetries(1)} {
		opt(cfg)
	}
	if cfg.GetWindowScale() != 0 || cfg.WindowScale == nil {
		t.Errorf("window_scale %v, want 0", cfg.WindowScale)
	}
	if cfg.Flavor != tcpemuv1.StackFlavor_STACK_FLAVOR_FREEBSD {
		t.Errorf("flavor %v, want FreeBSD", cfg.Flavor)
	}
	if cfg.Rfc5961Rst == nil || *cfg.Rfc5961Rst || cfg.Rfc5961Syn == nil || !*cfg.Rfc5961Syn {
		t.Errorf("rfc5961 rst %v syn %v, want false and true", cfg.Rfc5961Rst, cfg.Rfc5961Syn)
	}
	if cfg.EcnSynRetries == nil || *cfg.EcnSynRetries != 1 {
		t.Errorf("ecn_syn_retries %v, want 1", cfg.EcnSynRetries)
	}
}

// The shift each end offers is the one the other end applies; a shift or an
// ECN SYN retry count out of range is refused naming the field.
func TestWindowScaleReachesTheDaemon(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	net, err := c.CreateNetwork(ctx, tcpemu.Virtual(), tcpemu.WithSeed(5))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Delete(context.Background())
	link, err := net.CreateLink(ctx, tcpemu.WithDelay(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.OpenSession(ctx, link,
		tcpemu.WithClientTCP(tcpemu.WindowScale(9), tcpemu.Flavor(tcpemu.FreeBSD), tcpemu.RFC5961(false, false)),
		tcpemu.WithServerTCP(tcpemu.WindowScale(2), tcpemu.ECN(true), tcpemu.ECNSynRetries(1)))
	if err != nil {
		t.Fatal(err)
	}
	var snap *tcpemuv1.Session
	for snap.GetServer().GetTcb().GetState() != tcpemuv1.TcpState_TCP_STATE_ESTABLISHED {
		if _, err := net.Advance(ctx, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if snap, err = s.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cl, sv := snap.GetClient().GetTcb(), snap.GetServer().GetTcb()
	if cl.GetRcvWscale() != 9 || cl.GetSndWscale() != 2 || sv.GetRcvWscale() != 2 || sv.GetSndWscale() != 9 {
		t.Errorf("client rcv/snd wscale %d/%d, server %d/%d; want 9/2 and 2/9",
			cl.GetRcvWscale(), cl.GetSndWscale(), sv.GetRcvWscale(), sv.GetSndWscale())
	}
	for _, bad := range []struct {
		opt  tcpemu.TCPOption
		want string
	}{
		{tcpemu.WindowScale(15), "client.window_scale 15 out of range [-1, 14]"},
		{tcpemu.ECNSynRetries(256), "client.ecn_syn_retries 256 out of range [0, 255]"},
	} {
		_, err := c.OpenSession(ctx, link, tcpemu.WithClientTCP(bad.opt))
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("OpenSession = %v, want InvalidArgument with %q", err, bad.want)
		}
	}
}

// Both endpoints with ECN: they negotiate it, and the data leaves ECN-capable
// (no CE marks on this path, so no ECE and no reduction); with it on one end
// only, ECN is not used.
func TestECNNegotiated(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	net, err := c.CreateNetwork(ctx, tcpemu.Virtual(), tcpemu.WithSeed(3))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Delete(context.Background())
	link, err := net.CreateLink(ctx, tcpemu.WithDelay(5*time.Millisecond), tcpemu.WithRate(50_000_000))
	if err != nil {
		t.Fatal(err)
	}
	for _, serverECN := range []bool{true, false} {
		s, err := c.OpenSession(ctx, link, tcpemu.WithClientTCP(tcpemu.ECN(true)),
			tcpemu.WithServerTCP(tcpemu.ECN(serverECN)))
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.WriteFill(ctx, 100_000); err != nil || n != 100_000 {
			t.Fatalf("WriteFill = %d, %v", n, err)
		}
		var snap *tcpemuv1.Session
		for snap.GetServer().GetBytesRead() < 100_000 {
			if _, err := net.Advance(ctx, 50*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if snap, err = s.Snapshot(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := snap.GetClient().GetTcb().GetEcnOk(); got != serverECN {
			t.Errorf("server ecn %v: client ecn_ok %v", serverECN, got)
		}
		if got := snap.GetServer().GetTcb().GetEcnOk(); got != serverECN {
			t.Errorf("server ecn %v: server ecn_ok %v", serverECN, got)
		}
		if n := snap.GetClient().GetCounters().GetEcnReductions(); n != 0 {
			t.Errorf("ecn_reductions %d without marks", n)
		}
		if _, err := s.Close(ctx, tcpemu.EndpointClient); err != nil {
			t.Fatal(err)
		}
	}
}

// A BBR sender on a 20 Mbit/s path with a 40 ms round trip: its snapshot
// shows a BBR phase, a pacing rate, and estimates near the path's rate and
// round trip; the events' TCBs carry the same fields.
func TestBBRSnapshotShowsItsModel(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	net, err := c.CreateNetwork(ctx, tcpemu.Virtual(), tcpemu.WithSeed(5))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Delete(context.Background())
	link, err := net.CreateLink(ctx, tcpemu.WithDelay(20*time.Millisecond), tcpemu.WithRate(20_000_000))
	if err != nil {
		t.Fatal(err)
	}
	const size = 4_000_000
	s, err := c.OpenSession(ctx, link, tcpemu.WithClientTCP(tcpemu.SendBuffer(size),
		tcpemu.CongestionControl(tcpemu.BBR)))
	if err != nil {
		t.Fatal(err)
	}
	events, err := net.Events(ctx, tcpemu.WithReplay(true), tcpemu.OnlySessions(s.ID),
		tcpemu.OnlyEndpoint(tcpemu.EndpointClient), tcpemu.OnlyKinds(tcpemu.KindSegmentSent))
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	if err := events.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.WriteFill(ctx, size); err != nil || n != size {
		t.Fatalf("WriteFill = %d, %v", n, err)
	}
	var snap *tcpemuv1.Session
	for snap.GetServer().GetBytesRead() < size {
		if _, err := net.Advance(ctx, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if snap, err = s.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tcb := snap.GetClient().GetTcb()
	switch tcb.GetCcPhase() {
	case tcpemu.CCPhaseStartup, tcpemu.CCPhaseDrain, tcpemu.CCPhaseProbeBW, tcpemu.CCPhaseProbeRTT:
	default:
		t.Errorf("cc_phase %v, want one of BBR's", tcb.GetCcPhase())
	}
	if rtt := time.Duration(tcb.GetMinRttNs()); rtt < 40*time.Millisecond || rtt >= 45*time.Millisecond {
		t.Errorf("min_rtt %v, want about 40ms", rtt)
	}
	// 20 Mbit/s is 2.5 MB/s on the wire.
	if bw := tcb.GetBandwidthEstimate(); bw < 2_000_000 || bw > 2_625_000 {
		t.Errorf("bandwidth_estimate %d bytes/s, want about 2.4e6", bw)
	}
	if tcb.GetPacingRate() == 0 {
		t.Error("pacing_rate 0: BBR always paces")
	}
	if _, err := s.Close(ctx, tcpemu.EndpointClient); err != nil {
		t.Fatal(err)
	}
	if _, err := net.AdvanceUntilIdle(ctx); err != nil {
		t.Fatal(err)
	}
	phases := map[tcpemu.CCPhase]bool{}
	paced := false
	for events.Next() {
		ev := events.Event()
		if ev.Segment.Flags&tcpemu.FlagFIN != 0 {
			break
		}
		if !ev.HasTCB || ev.Segment.Len == 0 {
			continue
		}
		phases[ev.TCB.CCPhase] = true
		paced = paced || ev.TCB.PacingRate > 0
	}
	if !phases[tcpemu.CCPhaseStartup] || !phases[tcpemu.CCPhaseProbeBW] || !paced {
		t.Errorf("data segments' phases %v, paced %v: want startup and probe_bw, paced", phases, paced)
	}
}

// On a lossy path the server's ACKs report, in SACK blocks, the client's data
// it holds beyond the cumulative ACK; every segment carries timestamps and a
// window scaled by the shift its sender announced. RACK-TLP and HyStart++ are
// on, and the data arrives intact.
func TestSACKBlocksTimestampsAndScaledWindows(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	net, err := c.CreateNetwork(ctx, tcpemu.Virtual(), tcpemu.WithSeed(3))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Delete(context.Background())
	link, err := net.CreateLink(ctx, tcpemu.WithDelay(5*time.Millisecond), tcpemu.WithLoss(0.05))
	if err != nil {
		t.Fatal(err)
	}
	const size = 300_000
	s, err := c.OpenSession(ctx, link, tcpemu.WithDigest(), tcpemu.WithTCP(tcpemu.MSL(10*time.Millisecond),
		tcpemu.SendBuffer(size), tcpemu.Rack(true), tcpemu.HyStart(true), tcpemu.CongestionControl(tcpemu.Cubic)))
	if err != nil {
		t.Fatal(err)
	}
	events, err := net.Events(ctx, tcpemu.WithReplay(true), tcpemu.OnlySessions(s.ID),
		tcpemu.OnlyEndpoint(tcpemu.EndpointServer), tcpemu.OnlyKinds(tcpemu.KindSegmentSent))
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	if err := events.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.WriteFill(ctx, size); err != nil || n != size {
		t.Fatalf("WriteFill = %d, %v", n, err)
	}
	for {
		if _, err := net.Advance(ctx, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		snap, err := s.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if snap.GetServer().GetBytesRead() == size {
			for _, ep := range []*tcpemuv1.EndpointState{snap.GetClient(), snap.GetServer()} {
				if tcb := ep.GetTcb(); !tcb.GetTsOk() || !tcb.GetSackOk() || tcb.GetRcvWscale() == 0 {
					t.Errorf("TCB without timestamps, SACK or window scaling: %v", tcb)
				}
			}
			if snap.GetClient().GetTcb().GetSndWscale() != snap.GetServer().GetTcb().GetRcvWscale() {
				t.Errorf("the client scales the server's window by %d, the server by %d",
					snap.GetClient().GetTcb().GetSndWscale(), snap.GetServer().GetTcb().GetRcvWscale())
			}
			if !bytes.Equal(snap.GetServer().GetReadSha256(), snap.GetClient().GetWriteSha256()) {
				t.Error("the bytes read differ from those written")
			}
			break
		}
	}
	if _, err := s.Close(ctx, tcpemu.EndpointClient); err != nil {
		t.Fatal(err)
	}
	if _, err := net.AdvanceUntilIdle(ctx); err != nil {
		t.Fatal(err)
	}
	var shift uint32
	var acks, above int
	var lastTS uint32
	for events.Next() {
		ev := events.Event()
		seg := &ev.Segment
		if seg.Flags&tcpemu.FlagSYN != 0 {
			if !seg.HasOptWScale || seg.WindowBytes != seg.Window {
				t.Fatalf("SYN-ACK: %+v", seg)
			}
			shift = seg.OptWScale
			continue
		}
		if seg.Flags&tcpemu.FlagRST != 0 {
			break
		}
		acks++
		if seg.WindowBytes != seg.Window<<shift {
			t.Fatalf("window %d scaled by %d is not %d", seg.Window, shift, seg.WindowBytes)
		}
		if !seg.HasTS || (acks > 1 && int32(seg.TSVal-lastTS) < 0) {
			t.Fatalf("timestamps missing or going back (after %d): %+v", lastTS, seg)
		}
		lastTS = seg.TSVal
		if uint32(seg.NumSACK) != seg.OptSACKBlocks {
			t.Fatalf("%d SACK blocks, the option has %d", seg.NumSACK, seg.OptSACKBlocks)
		}
		for _, b := range seg.SACKBlocks() {
			if b.RelLeft != b.Left-ev.TCB.IRS || b.RelRight != b.Right-ev.TCB.IRS || b.RelLeft >= b.RelRight {
				t.Fatalf("SACK block %+v, IRS %d", b, ev.TCB.IRS)
			}
			if b.RelLeft > seg.RelAck {
				above++
			}
		}
		if ev.Segment.Flags&tcpemu.FlagFIN != 0 {
			break
		}
	}
	if acks == 0 || above == 0 {
		t.Fatalf("%d segments from the server, %d SACK blocks beyond the ACK", acks, above)
	}
}
