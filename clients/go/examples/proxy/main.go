// Command proxy puts a TCP service behind an emulated path with a tcpemud
// proxy.
//
// Without -upstream it shows the effect on an echo server of its own: it
// measures request/response round trips through the proxy, adds a latency
// toxic and measures again, raises the link's reverse delay live and
// measures a third time, then reports the connection's session and the
// proxy's counters.
//
//	go run ./examples/proxy -target 127.0.0.1:50051
//
// With -upstream it stands in front of a real service until interrupted,
// printing the life of each connection (state changes, drops,
// retransmissions):
//
//	go run ./examples/proxy -target 127.0.0.1:50051 \
//	    -upstream 127.0.0.1:6379 -listen 127.0.0.1:26379 -delay 50ms -loss 0.01
//	redis-cli -p 26379 ping
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tcpemu/tcpemu/clients/go/tcpemu"
)

type config struct {
	target   string
	name     string
	listen   string
	upstream string
	delay    time.Duration
	loss     float64
	latency  time.Duration
	rounds   int
	timeout  time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.target, "target", "127.0.0.1:50051", "tcpemud gRPC address")
	flag.StringVar(&cfg.name, "name", fmt.Sprintf("example-%d", os.Getpid()), "the proxy's name")
	flag.StringVar(&cfg.listen, "listen", "127.0.0.1:0", "address the proxy listens on (port 0: any free port)")
	flag.StringVar(&cfg.upstream, "upstream", "", "service to stand in front of, host:port (default: an echo server of this program, and a measurement)")
	flag.DurationVar(&cfg.delay, "delay", 20*time.Millisecond, "one-way delay of the proxy's link")
	flag.Float64Var(&cfg.loss, "loss", 0, "loss probability in each direction")
	flag.DurationVar(&cfg.latency, "latency", 50*time.Millisecond, "latency of the toxic the measurement adds")
	flag.IntVar(&cfg.rounds, "rounds", 5, "round trips per measurement")
	flag.DurationVar(&cfg.timeout, "timeout", 0, "give up after this long (default: 2m for the measurement, never in front of -upstream)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.timeout == 0 && cfg.upstream == "" {
		cfg.timeout = 2 * time.Minute
	}
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
	}
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "proxy:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	c, err := tcpemu.Dial(ctx, cfg.target)
	if err != nil {
		return err
	}
	defer c.Close()

	upstream := cfg.upstream
	if upstream == "" {
		echo, err := startEcho()
		if err != nil {
			return err
		}
		defer echo.Close()
		upstream = echo.Addr().String()
	}
	p, err := c.CreateProxy(ctx, cfg.name, cfg.listen, upstream,
		tcpemu.WithProxyPath(tcpemu.WithDelay(cfg.delay), tcpemu.WithLoss(cfg.loss)))
	if err != nil {
		return err
	}
	defer func() {
		// The sessions of its connections stay until deleted.
		sessions, _ := p.Sessions(context.Background())
		p.Delete(context.Background())
		for _, s := range sessions {
			s.Delete(context.Background())
		}
		fmt.Fprintf(out, "proxy %q deleted\n", p.Name)
	}()
	fmt.Fprintf(out, "proxy %q listening on %s, relaying to %s over %v each way, %g%% loss\n",
		p.Name, p.ListenAddress(), upstream, cfg.delay, cfg.loss*100)
	if cfg.upstream != "" {
		return watch(ctx, c, p, out)
	}
	return measure(ctx, cfg, p, out)
}

// measure times round trips to the echo server, without and with a latency
// toxic, then with the link's reverse delay raised live.
func measure(ctx context.Context, cfg config, p *tcpemu.Proxy, out io.Writer) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.ListenAddress())
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	if _, err := roundTrips(conn, 1); err != nil { // the upstream connect
		return err
	}
	least, err := roundTrips(conn, cfg.rounds)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "round trip: min %.1fms over %d (the link's round trip is %v)\n",
		ms(least), cfg.rounds, 2*cfg.delay)

	toxic, err := p.AddToxic(ctx, tcpemu.Latency(cfg.latency))
	if err != nil {
		return err
	}
	least, err = roundTrips(conn, cfg.rounds)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "with toxic %s (+%v): min %.1fms over %d\n", toxic.GetName(), cfg.latency, ms(least), cfg.rounds)

	// A live change of one field of the link: the reverse path's delay
	// doubles; its loss, the forward path and the toxic stay as they are.
	if err := p.Link().Update(ctx, tcpemu.Reverse(tcpemu.WithDelay(2*cfg.delay))); err != nil {
		return err
	}
	least, err = roundTrips(conn, cfg.rounds)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "with the reverse delay raised to %v: min %.1fms over %d\n", 2*cfg.delay, ms(least), cfg.rounds)

	sessions, err := p.Sessions(ctx)
	if err != nil {
		return err
	}
	for _, s := range sessions {
		snap, err := s.Snapshot(ctx)
		if err != nil {
			return err
		}
		k := snap.GetClient().GetCounters()
		fmt.Fprintf(out, "session %d: application %s, upstream %s; the application's endpoint sent %d segments, %d retransmitted\n",
			s.ID, s.DownstreamPeer, s.UpstreamPeer, k.GetSegmentsSent(), k.GetRetransmitsRto()+k.GetRetransmitsFast())
	}
	info, err := p.Info(ctx)
	if err != nil {
		return err
	}
	k := info.GetCounters()
	fmt.Fprintf(out, "counters: %d connection accepted, %d bytes upstream, %d bytes downstream\n",
		k.GetConnectionsAccepted(), k.GetBytesUpstream(), k.GetBytesDownstream())
	return nil
}

// roundTrips sends n requests one after another and returns the shortest
// time to its echo.
func roundTrips(conn net.Conn, n int) (time.Duration, error) {
	least := time.Duration(1<<63 - 1)
	buf := make([]byte, 64)
	for i := range n {
		msg := fmt.Appendf(nil, "request %d\n", i)
		start := time.Now()
		if _, err := conn.Write(msg); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(conn, buf[:len(msg)]); err != nil {
			return 0, err
		}
		least = min(least, time.Since(start))
		if string(buf[:len(msg)]) != string(msg) {
			return 0, fmt.Errorf("echo %q, want %q", buf[:len(msg)], msg)
		}
	}
	return least, nil
}

// watch prints the life of the proxy's connections until ctx ends.
func watch(ctx context.Context, c *tcpemu.Client, p *tcpemu.Proxy, out io.Writer) error {
	events, err := p.Events(ctx, tcpemu.OnlyKinds(tcpemu.KindStateChanged, tcpemu.KindSegmentSent,
		tcpemu.KindSegmentDropped, tcpemu.KindConnectionError))
	if err != nil {
		return err
	}
	defer events.Close()
	if err := events.WaitSubscribed(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "watching its connections; interrupt to stop")
	start := time.Duration(-1)
	seen := map[uint32]bool{}
	for events.Next() {
		ev := events.Event()
		if start < 0 {
			start = ev.Time
		}
		at := fmt.Sprintf("%9.3fs", (ev.Time - start).Seconds())
		if ev.SessionID != 0 && !seen[ev.SessionID] {
			seen[ev.SessionID] = true
			s, err := c.GetSession(ctx, ev.SessionID)
			if err != nil {
				return err
			}
			snap, err := s.Snapshot(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%s session %d: connection from %s\n", at, ev.SessionID, snap.GetDownstreamPeer())
		}
		side := "application side"
		if ev.Endpoint == tcpemu.EndpointServer {
			side = "upstream side"
		}
		switch {
		case ev.Kind == tcpemu.KindStateChanged:
			fmt.Fprintf(out, "%s session %d: %s %s\n", at, ev.SessionID, side, word(ev.NewState.String(), "TCP_STATE_"))
		case ev.Kind == tcpemu.KindSegmentDropped:
			fmt.Fprintf(out, "%s dropped (%s) from the %s: len=%d\n", at, ev.Reason, side, ev.Segment.Len)
		case ev.IsRetransmission():
			fmt.Fprintf(out, "%s session %d: %s %s seq=%d len=%d\n", at, ev.SessionID, side, ev.Reason, ev.Segment.RelSeq, ev.Segment.Len)
		case ev.Kind == tcpemu.KindConnectionError:
			fmt.Fprintf(out, "%s session %d: %s error %s\n", at, ev.SessionID, side, ev.Reason)
		}
	}
	if err := events.Err(); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func startEcho() (net.Listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				io.Copy(conn, conn)
			}()
		}
	}()
	return l, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// word turns an enum's name into a word: TCP_STATE_SYN_SENT is "syn_sent".
func word(enum, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(enum, prefix))
}
