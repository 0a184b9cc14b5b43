package tcpemu_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
	"github.com/tcpemu/tcpemu/clients/go/tcpemu"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// echoServer listens on loopback and sends back what each connection sends,
// then half-closes once the connection's FIN has come.
func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				io.Copy(conn, conn)
				conn.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	return l.Addr().String()
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

var proxyCount atomic.Int64

// proxyName gives each proxy of the test run a name of its own.
func proxyName(t *testing.T) string {
	base := regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(t.Name(), "-")
	if len(base) > 48 {
		base = base[:48]
	}
	return fmt.Sprintf("%s-%d", base, proxyCount.Add(1))
}

// newProxy creates a proxy to upstream on a free loopback port, deleted
// with its sessions when the test ends.
func newProxy(ctx context.Context, t *testing.T, c *tcpemu.Client, upstream string, opts ...tcpemu.ProxyOption) *tcpemu.Proxy {
	t.Helper()
	p, err := c.CreateProxy(ctx, proxyName(t), "127.0.0.1:0", upstream, opts...)
	if err != nil {
		t.Fatalf("CreateProxy: %v", err)
	}
	t.Cleanup(func() { deleteProxy(t, p) })
	return p
}

func deleteProxy(t *testing.T, p *tcpemu.Proxy) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sessions, err := p.Sessions(ctx)
	if err != nil && status.Code(err) != codes.NotFound {
		t.Errorf("Sessions of proxy %q: %v", p.Name, err)
	}
	if err := p.Delete(ctx); err != nil && status.Code(err) != codes.NotFound {
		t.Errorf("Delete proxy %q: %v", p.Name, err)
	}
	for _, s := range sessions {
		if err := s.Delete(ctx); err != nil && status.Code(err) != codes.NotFound {
			t.Errorf("Delete session %d: %v", s.ID, err)
		}
	}
}

// connect opens a connection to the proxy; it is closed when the test ends.
func connect(ctx context.Context, t *testing.T, p *tcpemu.Proxy) *net.TCPConn {
	t.Helper()
	if p.ListenAddress() == "" {
		t.Fatalf("proxy %q has no listen address (enabled %v)", p.Name, p.Enabled())
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.ListenAddress())
	if err != nil {
		t.Fatalf("dial proxy %q at %s: %v", p.Name, p.ListenAddress(), err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn.(*net.TCPConn)
}

// roundTrip writes msg and reads it back from the echo server, and returns
// how long that took.
func roundTrip(t *testing.T, conn net.Conn, msg []byte) time.Duration {
	t.Helper()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	start := time.Now()
	if _, err := conn.Write(msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(conn, got); err != nil {
		t.Fatalf("read the echo of %q: %v", msg, err)
	}
	el := time.Since(start)
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo %q, want %q", got, msg)
	}
	return el
}

// minRoundTrip is the shortest of n round trips.
func minRoundTrip(t *testing.T, conn net.Conn, n int) time.Duration {
	t.Helper()
	least := time.Duration(1<<63 - 1)
	for i := range n {
		least = min(least, roundTrip(t, conn, []byte(fmt.Sprintf("request %d", i))))
	}
	return least
}

// waitProxy polls the proxy's state until cond holds.
func waitProxy(ctx context.Context, t *testing.T, p *tcpemu.Proxy, what string, cond func(*tcpemuv1.Proxy) bool) *tcpemuv1.Proxy {
	t.Helper()
	for {
		info, err := p.Info(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if cond(info) {
			return info
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no %s before the deadline; proxy %v", what, info)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestToxicConstructors(t *testing.T) {
	for _, tc := range []struct {
		toxic    *tcpemu.Toxic
		typ      string
		stream   tcpemu.ToxicStream
		toxicity float64
		check    func(*tcpemu.Toxic) bool
	}{
		{tcpemu.Latency(50*time.Millisecond, tcpemu.Jitter(5*time.Millisecond)), "latency", 0, 1,
			func(x *tcpemu.Toxic) bool {
				return x.GetLatency().GetLatency().AsDuration() == 50*time.Millisecond &&
					x.GetLatency().GetJitter().AsDuration() == 5*time.Millisecond
			}},
		{tcpemu.Bandwidth(64_000, tcpemu.Stream(tcpemu.Upstream)), "bandwidth", tcpemu.Upstream, 1,
			func(x *tcpemu.Toxic) bool { return x.GetBandwidth().GetRateBps() == 64_000 }},
		{tcpemu.SlowClose(time.Second, tcpemu.Toxicity(0.25)), "slow_close", 0, 0.25,
			func(x *tcpemu.Toxic) bool { return x.GetSlowClose().GetDelay().AsDuration() == time.Second }},
		{tcpemu.Timeout(0, tcpemu.Stream(tcpemu.Downstream)), "timeout", tcpemu.Downstream, 1,
			func(x *tcpemu.Toxic) bool {
				return x.GetTimeout() != nil && x.GetTimeout().GetTimeout().AsDuration() == 0
			}},
		{tcpemu.ResetPeer(2 * time.Second), "reset_peer", 0, 1,
			func(x *tcpemu.Toxic) bool { return x.GetResetPeer().GetTimeout().AsDuration() == 2*time.Second }},
		{tcpemu.LimitData(1000), "limit_data", 0, 1,
			func(x *tcpemu.Toxic) bool { return x.GetLimitData().GetBytes() == 1000 }},
		{tcpemu.Slicer(100, 10, time.Millisecond, tcpemu.ToxicName("small")), "slicer", 0, 1,
			func(x *tcpemu.Toxic) bool {
				s := x.GetSlicer()
				return x.GetName() == "small" && s.GetAverageSize() == 100 && s.GetSizeVariation() == 10 &&
					s.GetDelay().AsDuration() == time.Millisecond
			}},
	} {
		x := tc.toxic
		toxicity := 1.0
		if x.Toxicity != nil {
			toxicity = x.GetToxicity()
		}
		if tcpemu.ToxicType(x) != tc.typ || x.GetStream() != tc.stream || toxicity != tc.toxicity || !tc.check(x) {
			t.Errorf("%s: %v", tc.typ, x)
		}
	}
}

// 1 MiB of random bytes through a proxy to an echo server comes back
// intact; the application's half-close reaches the upstream host and the
// host's comes back. The proxy's session names both peers and the counters
// add up.
func TestProxyRelaysBytesIntact(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	upstream := echoServer(t)
	p := newProxy(ctx, t, c, upstream, tcpemu.WithProxyPath(tcpemu.WithDelay(2*time.Millisecond)))
	if !p.OwnsLink || p.LinkID == 0 || !p.Enabled() || p.Upstream() != upstream || p.Listen() != "127.0.0.1:0" {
		t.Fatalf("proxy %+v: enabled %v, upstream %q, listen %q", p, p.Enabled(), p.Upstream(), p.Listen())
	}
	conn := connect(ctx, t, p)
	conn.SetDeadline(time.Now().Add(90 * time.Second))

	data := make([]byte, 1<<20)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rnd.Uint32())
	}
	werr := make(chan error, 1)
	go func() {
		_, err := conn.Write(data)
		if err == nil {
			err = conn.CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(conn) // until the echo server's FIN
	if err != nil {
		t.Fatalf("read after %d bytes: %v", len(got), err)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if len(got) != len(data) || sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("read %d bytes, SHA-256 equal %v; want the %d written", len(got), sha256.Sum256(got) == sha256.Sum256(data), len(data))
	}

	sessions, err := p.Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 1 {
		t.Fatalf("%d sessions, want 1", len(sessions))
	}
	s := sessions[0]
	if s.DownstreamPeer != conn.LocalAddr().String() || s.UpstreamPeer != upstream || s.LinkID != p.LinkID {
		t.Fatalf("session %d: downstream %q upstream %q link %d; want %s, %s, %d", s.ID,
			s.DownstreamPeer, s.UpstreamPeer, s.LinkID, conn.LocalAddr(), upstream, p.LinkID)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.GetProxyId() != p.ID || snap.GetClient().GetBytesRead() != uint64(len(data)) ||
		snap.GetServer().GetBytesRead() != uint64(len(data)) {
		t.Fatalf("session: proxy %d, client read %d, server read %d; want %d and %d each way",
			snap.GetProxyId(), snap.GetClient().GetBytesRead(), snap.GetServer().GetBytesRead(), p.ID, len(data))
	}
	n := uint64(len(data))
	info := waitProxy(ctx, t, p, "counters of 1 MiB each way", func(i *tcpemuv1.Proxy) bool {
		k := i.GetCounters()
		return k.GetBytesUpstream() == n && k.GetBytesDownstream() == n
	})
	if k := info.GetCounters(); k.GetConnectionsAccepted() != 1 || k.GetUpstreamFailures() != 0 {
		t.Fatalf("counters %v: want 1 connection, no upstream failure", k)
	}
}

// A request/response through a proxy over a link of 25 ms each way takes at
// least 50 ms; a latency toxic adds its latency in its direction.
func TestProxyLatencyLowerBound(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const oneWay = 25 * time.Millisecond
	p := newProxy(ctx, t, c, echoServer(t), tcpemu.WithProxyPath(tcpemu.WithDelay(oneWay)))
	conn := connect(ctx, t, p)
	roundTrip(t, conn, []byte("hello")) // the upstream connect is done
	if rtt := minRoundTrip(t, conn, 5); rtt < 2*oneWay {
		t.Fatalf("round trip %v through a link of %v each way", rtt, oneWay)
	}

	down, err := p.AddToxic(ctx, tcpemu.Latency(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if down.GetName() != "latency_downstream" || down.GetStream() == tcpemu.Upstream {
		t.Fatalf("toxic stored as %v", down)
	}
	if rtt := minRoundTrip(t, conn, 3); rtt < 2*oneWay+100*time.Millisecond {
		t.Fatalf("round trip %v with 100ms downstream latency on %v each way", rtt, oneWay)
	}
	if _, err := p.AddToxic(ctx, tcpemu.Latency(60*time.Millisecond, tcpemu.Jitter(10*time.Millisecond),
		tcpemu.Stream(tcpemu.Upstream), tcpemu.ToxicName("up"))); err != nil {
		t.Fatal(err)
	}
	// Both directions, the upstream one with jitter of up to 10 ms.
	if rtt := minRoundTrip(t, conn, 3); rtt < 2*oneWay+150*time.Millisecond {
		t.Fatalf("round trip %v with 100ms down and 60±10ms up", rtt)
	}
	// A connection opened now gets the toxics from its start.
	fresh := connect(ctx, t, p)
	if rtt := roundTrip(t, fresh, []byte("new")); rtt < 2*oneWay+150*time.Millisecond {
		t.Fatalf("first round trip %v of a new connection", rtt)
	}
}

// A timeout toxic black-holes the stream: nothing comes back while it is
// there; once it is removed, TCP retransmits and the echo arrives.
func TestProxyToxicRemovedLetsDataThrough(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := newProxy(ctx, t, c, echoServer(t), tcpemu.WithProxyPath(tcpemu.WithDelay(time.Millisecond)))
	conn := connect(ctx, t, p)
	roundTrip(t, conn, []byte("before"))

	hole, err := p.AddToxic(ctx, tcpemu.Timeout(0))
	if err != nil {
		t.Fatal(err)
	}
	if hole.GetName() != "timeout_downstream" || len(p.Toxics()) != 1 {
		t.Fatalf("toxic %v, toxics %v", hole, p.Toxics())
	}
	if _, err := conn.Write([]byte("into the hole")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	buf := make([]byte, 64)
	if n, err := conn.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read through a black hole = %q, %v; want nothing until the deadline", buf[:n], err)
	}
	if err := p.RemoveToxic(ctx, hole.GetName()); err != nil {
		t.Fatal(err)
	}
	if len(p.Toxics()) != 0 {
		t.Fatalf("toxics after RemoveToxic: %v", p.Toxics())
	}
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	got := make([]byte, len("into the hole"))
	if _, err := io.ReadFull(conn, got); err != nil || string(got) != "into the hole" {
		t.Fatalf("read after the toxic went = %q, %v", got, err)
	}
	roundTrip(t, conn, []byte("after"))
}

// Disabling a proxy closes its connections and stops it listening;
// enabling it listens again.
func TestProxyDisableClosesConnections(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := newProxy(ctx, t, c, echoServer(t))
	conn := connect(ctx, t, p)
	roundTrip(t, conn, []byte("ping"))
	addr := p.ListenAddress()

	if err := p.Disable(ctx); err != nil {
		t.Fatal(err)
	}
	if p.Enabled() || p.ListenAddress() != "" {
		t.Fatalf("after Disable: enabled %v, listen address %q", p.Enabled(), p.ListenAddress())
	}
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	n, err := conn.Read(make([]byte, 16))
	if n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after Disable = %d bytes, %v; want the connection closed", n, err)
	}
	if c2, err := net.DialTimeout("tcp", addr, 10*time.Second); err == nil {
		c2.Close()
		t.Fatalf("a disabled proxy still accepts at %s", addr)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial a disabled proxy = %v, want connection refused", err)
	}

	if err := p.Enable(ctx); err != nil {
		t.Fatal(err)
	}
	if !p.Enabled() || p.ListenAddress() == "" {
		t.Fatalf("after Enable: enabled %v, listen address %q", p.Enabled(), p.ListenAddress())
	}
	roundTrip(t, connect(ctx, t, p), []byte("again"))
}

// An upstream that refuses the connection makes the proxy reset the
// application's.
func TestProxyRefusedUpstreamResetsApplication(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := newProxy(ctx, t, c, closedPort(t))
	// The reset may come before the kernel's connect returns.
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.ListenAddress())
	n := 0
	if err == nil {
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(60 * time.Second))
		n, err = conn.Read(make([]byte, 16))
	}
	if n != 0 || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("connection to a proxy whose upstream refuses: %d bytes, %v; want connection reset", n, err)
	}
	waitProxy(ctx, t, p, "an upstream failure", func(i *tcpemuv1.Proxy) bool {
		return i.GetCounters().GetUpstreamFailures() == 1
	})
}

// Toxics are added, replaced and removed by name; the list keeps its
// order.
func TestProxyToxicEdits(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := newProxy(ctx, t, c, echoServer(t), tcpemu.WithToxics(
		tcpemu.Latency(10*time.Millisecond),
		tcpemu.SlowClose(time.Second, tcpemu.Stream(tcpemu.Upstream))))
	names := func() []string {
		var out []string
		for _, x := range p.Toxics() {
			out = append(out, x.GetName())
		}
		return out
	}
	if got := names(); !slices.Equal(got, []string{"latency_downstream", "slow_close_upstream"}) {
		t.Fatalf("toxics at creation: %v", got)
	}
	if _, err := p.AddToxic(ctx, tcpemu.Latency(time.Millisecond)); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("AddToxic of a name taken = %v, want AlreadyExists", err)
	}
	lim, err := p.AddToxic(ctx, tcpemu.LimitData(4096, tcpemu.Toxicity(0.5), tcpemu.ToxicName("cap")))
	if err != nil {
		t.Fatal(err)
	}
	if lim.GetName() != "cap" || lim.GetLimitData().GetBytes() != 4096 || lim.GetToxicity() != 0.5 {
		t.Fatalf("stored %v", lim)
	}
	upd, err := p.UpdateToxic(ctx, "latency_downstream", tcpemu.Latency(30*time.Millisecond, tcpemu.Jitter(time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	if upd.GetName() != "latency_downstream" || upd.GetLatency().GetLatency().AsDuration() != 30*time.Millisecond ||
		upd.GetLatency().GetJitter().AsDuration() != time.Millisecond {
		t.Fatalf("updated %v", upd)
	}
	if got := names(); !slices.Equal(got, []string{"latency_downstream", "slow_close_upstream", "cap"}) {
		t.Fatalf("toxics after edits: %v", got)
	}
	if _, err := p.UpdateToxic(ctx, "nope", tcpemu.Timeout(0)); status.Code(err) != codes.NotFound {
		t.Fatalf("UpdateToxic of no toxic = %v, want NotFound", err)
	}
	if err := p.RemoveToxic(ctx, "nope"); status.Code(err) != codes.NotFound {
		t.Fatalf("RemoveToxic of no toxic = %v, want NotFound", err)
	}
	if err := p.RemoveToxic(ctx, "slow_close_upstream"); err != nil {
		t.Fatal(err)
	}
	// Another client sees the same list.
	same, err := c.GetProxy(ctx, p.Name)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range same.Toxics() {
		got = append(got, x.GetName())
	}
	if !slices.Equal(got, []string{"latency_downstream", "cap"}) {
		t.Fatalf("toxics read back: %v", got)
	}
	if err := p.Update(ctx, tcpemu.WithToxics()); err != nil {
		t.Fatal(err)
	}
	if len(p.Toxics()) != 0 {
		t.Fatalf("toxics after WithToxics(): %v", p.Toxics())
	}
}

// Get, ByID and List find proxies; a proxy deletes the link it made but not
// one it was given.
func TestProxyGetListDelete(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	upstream := echoServer(t)
	link, err := c.CreateLink(ctx, tcpemu.WithDelay(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer link.Delete(context.Background())
	own := newProxy(ctx, t, c, upstream)
	given := newProxy(ctx, t, c, upstream, tcpemu.WithProxyLink(link), tcpemu.Disabled(),
		tcpemu.WithRelayBuffer(8192), tcpemu.WithUpstreamTCP(tcpemu.NoDelay(true)))
	if given.LinkID != link.ID || given.OwnsLink || given.Enabled() || given.ListenAddress() != "" {
		t.Fatalf("proxy on link %d: %+v, enabled %v", link.ID, given, given.Enabled())
	}
	info, err := given.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.GetRelayBuffer() != 8192 || !info.GetUpstreamTcp().GetNodelay() {
		t.Fatalf("relay buffer %d, upstream TCP %v", info.GetRelayBuffer(), info.GetUpstreamTcp())
	}

	byName, err := c.GetProxy(ctx, own.Name)
	if err != nil {
		t.Fatal(err)
	}
	byID, err := c.ProxyByID(ctx, own.ID)
	if err != nil {
		t.Fatal(err)
	}
	if byName.ID != own.ID || byID.Name != own.Name || byID.LinkID != own.LinkID {
		t.Fatalf("GetProxy %+v, ProxyByID %+v; want %+v", byName, byID, own)
	}
	def, err := c.GetNetwork(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, list := range []func(context.Context) ([]*tcpemu.Proxy, error){c.ListProxies, def.ListProxies} {
		all, err := list(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, x := range all {
			if x.ID == own.ID || x.ID == given.ID {
				found++
			}
		}
		if found != 2 {
			t.Fatalf("listed %d of the 2 proxies among %d", found, len(all))
		}
	}

	if err := own.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetProxy(ctx, own.Name); status.Code(err) != codes.NotFound {
		t.Fatalf("GetProxy after Delete = %v", err)
	}
	if _, err := c.GetLink(ctx, own.LinkID); status.Code(err) != codes.NotFound {
		t.Fatalf("the link the proxy made outlived it: %v", err)
	}
	if err := given.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := link.Info(ctx); err != nil {
		t.Fatalf("the link given to the proxy went with it: %v", err)
	}
}

// Proxy.Events reports the proxy's connections, not other sessions of the
// network.
func TestProxyEventsKeepItsConnections(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := newProxy(ctx, t, c, echoServer(t), tcpemu.WithProxyPath(tcpemu.WithDelay(time.Millisecond)))
	events, err := p.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	if err := events.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	// A session of the same network, active while the stream runs.
	link, err := c.CreateLink(ctx, tcpemu.WithDelay(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer link.Delete(context.Background())
	other, err := c.OpenSession(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Delete(context.Background())
	if err := other.WaitFor(ctx, tcpemu.StateEstablished, tcpemu.EndpointClient); err != nil {
		t.Fatal(err)
	}

	conn := connect(ctx, t, p)
	msg := []byte("watched")
	roundTrip(t, conn, msg)
	sessions, err := p.Sessions(ctx)
	if err != nil || len(sessions) != 1 {
		t.Fatalf("Sessions = %d, %v; want 1", len(sessions), err)
	}
	id := sessions[0].ID
	// The application's bytes leave the client endpoint, the echo the server
	// endpoint.
	sent := map[tcpemu.Endpoint]uint32{}
	for sent[tcpemu.EndpointClient] < uint32(len(msg)) || sent[tcpemu.EndpointServer] < uint32(len(msg)) {
		if !events.Next() {
			t.Fatalf("stream ended: %v", events.Err())
		}
		ev := events.Event()
		if ev.SessionID != id && !(ev.SessionID == 0 && ev.LinkID == p.LinkID) {
			t.Fatalf("event of session %d link %d in the stream of proxy session %d link %d: %+v",
				ev.SessionID, ev.LinkID, id, p.LinkID, ev)
		}
		if ev.Kind == tcpemu.KindSegmentSent && ev.SessionID == id {
			sent[ev.Endpoint] += ev.Segment.Len
		}
	}
	// After Close, Next hands out what was received already, then ends
	// without an error.
	events.Close()
	for events.Next() {
	}
	if err := events.Err(); err != nil || events.Event() != nil {
		t.Fatalf("after Close: Err = %v, event %+v", err, events.Event())
	}
}

func TestProxyErrors(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	upstream := echoServer(t)
	p := newProxy(ctx, t, c, upstream)
	virt, err := c.CreateNetwork(ctx, tcpemu.Virtual())
	if err != nil {
		t.Fatal(err)
	}
	defer virt.Delete(context.Background())
	create := func(name, listen, upstream string, opts ...tcpemu.ProxyOption) func() error {
		return func() error {
			q, err := c.CreateProxy(ctx, name, listen, upstream, opts...)
			if err == nil {
				deleteProxy(t, q)
			}
			return err
		}
	}
	fresh := proxyName(t)
	for _, tc := range []struct {
		name string
		call func() error
		code codes.Code
		want []string // in the message
	}{
		{"duplicate name", create(p.Name, "127.0.0.1:0", upstream), codes.AlreadyExists,
			[]string{"tcpemu: CreateProxy", p.Name}},
		{"bad name", create("no spaces", "127.0.0.1:0", upstream), codes.InvalidArgument, []string{"name"}},
		{"upstream not allowed", create(fresh, "127.0.0.1:0", "192.0.2.1:80"), codes.PermissionDenied,
			[]string{"--proxy_upstream_allow"}},
		{"listen not allowed", create(fresh, "192.0.2.1:0", upstream), codes.PermissionDenied,
			[]string{"--proxy_listen_allow"}},
		{"relay buffer too small", create(fresh, "127.0.0.1:0", upstream, tcpemu.WithRelayBuffer(100)),
			codes.InvalidArgument, []string{"relay_buffer"}},
		{"toxicity above 1", create(fresh, "127.0.0.1:0", upstream,
			tcpemu.WithToxics(tcpemu.Latency(time.Millisecond, tcpemu.Toxicity(1.5)))),
			codes.InvalidArgument, []string{"toxicity"}},
		{"virtual network", create(fresh, "127.0.0.1:0", upstream, tcpemu.WithProxyNetwork(virt)),
			codes.FailedPrecondition, []string{"REALTIME"}},
		{"unknown link", create(fresh, "127.0.0.1:0", upstream, tcpemu.WithProxyLink(&tcpemu.Link{ID: 987654})),
			codes.NotFound, []string{"link_id 987654"}},
		{"unknown name", func() error {
			_, err := c.GetProxy(ctx, "no-such-proxy")
			return err
		}, codes.NotFound, []string{"tcpemu: GetProxy", `proxy "no-such-proxy" not found`}},
		{"unknown id", func() error {
			_, err := c.ProxyByID(ctx, 4_000_000_000)
			return err
		}, codes.NotFound, []string{"proxy_id 4000000000 not found"}},
		{"bandwidth on a share of connections", func() error {
			_, err := p.AddToxic(ctx, tcpemu.Bandwidth(1_000_000, tcpemu.Toxicity(0.5)))
			return err
		}, codes.InvalidArgument, []string{"toxicity"}},
		{"update nothing", func() error { return p.Update(ctx) }, codes.InvalidArgument, []string{"no option"}},
		{"update the path", func() error {
			return p.Update(ctx, tcpemu.WithProxyPath(tcpemu.WithDelay(time.Millisecond)))
		}, codes.InvalidArgument, []string{"WithProxyPath", "Link().Update"}},
		{"remove no toxic", func() error { return p.RemoveToxic(ctx, "none") }, codes.NotFound,
			[]string{"tcpemu: RemoveToxic", `no toxic named "none"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if status.Code(err) != tc.code {
				t.Fatalf("error %v: code %s, want %s", err, status.Code(err), tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
		})
	}
	if err := p.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Refresh(ctx); status.Code(err) != codes.NotFound {
		t.Fatalf("Refresh of a deleted proxy = %v, want NotFound", err)
	}
}
