// Command lossy sends data across a lossy emulated link and shows TCP
// recovering: each retransmission as it happens, then the totals and a check
// that the receiver read exactly the bytes written.
//
//	go run ./examples/lossy -target 127.0.0.1:50051
//
// By default the network has a virtual clock, so the transfer takes no wall
// time and the same -seed gives the same run; -realtime uses the daemon's
// default REALTIME network instead.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/tcpemu/tcpemu/clients/go/tcpemu"
)

type config struct {
	target   string
	bytes    int
	delay    time.Duration
	loss     float64
	seed     uint64
	realtime bool
	timeout  time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.target, "target", "127.0.0.1:50051", "tcpemud gRPC address")
	flag.IntVar(&cfg.bytes, "bytes", 1<<20, "bytes to send")
	flag.DurationVar(&cfg.delay, "delay", 50*time.Millisecond, "one-way delay of the link")
	flag.Float64Var(&cfg.loss, "loss", 0.01, "loss probability in each direction")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the virtual network")
	flag.BoolVar(&cfg.realtime, "realtime", false, "use the default REALTIME network")
	flag.DurationVar(&cfg.timeout, "timeout", 2*time.Minute, "give up after this long")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "lossy:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	c, err := tcpemu.Dial(ctx, cfg.target)
	if err != nil {
		return err
	}
	defer c.Close()

	var net *tcpemu.Network
	if cfg.realtime {
		net, err = c.GetNetwork(ctx, 0)
	} else {
		net, err = c.CreateNetwork(ctx, tcpemu.Virtual(), tcpemu.WithSeed(cfg.seed))
		if err == nil {
			defer net.Delete(context.Background())
		}
	}
	if err != nil {
		return err
	}
	link, err := net.CreateLink(ctx, tcpemu.WithDelay(cfg.delay), tcpemu.WithLoss(cfg.loss))
	if err != nil {
		return err
	}
	defer link.Delete(context.Background())
	s, err := c.OpenSession(ctx, link, tcpemu.WithDigest(),
		tcpemu.WithClientTCP(tcpemu.SendBuffer(uint32(cfg.bytes))),
		tcpemu.WithTCP(tcpemu.MSL(time.Second)))
	if err != nil {
		return err
	}
	defer s.Delete(context.Background())
	opened, err := s.Snapshot(ctx)
	if err != nil {
		return err
	}
	start := opened.GetOpenedAt().AsDuration()
	fmt.Fprintf(out, "session %d: %v delay and %g%% loss each way, %s clock\n",
		s.ID, cfg.delay, cfg.loss*100, name(net.Clock.String(), "CLOCK_KIND_"))

	// Drops are link events, which carry no session id: watch the link's
	// network for them and for this session's retransmissions.
	events, err := net.Events(ctx, tcpemu.WithReplay(true), tcpemu.OnlyKinds(
		tcpemu.KindSegmentSent, tcpemu.KindSegmentDropped, tcpemu.KindSessionDestroyed))
	if err != nil {
		return err
	}
	defer events.Close()
	// The replayed SYN shows that the stream is live before time moves.
	if !events.Next() {
		return events.Err()
	}

	data := make([]byte, cfg.bytes)
	rnd := rand.New(rand.NewPCG(cfg.seed, 0))
	for i := range data {
		data[i] = byte(rnd.Uint32())
	}
	if n, err := s.Write(ctx, data, tcpemu.WithPush()); err != nil {
		return err
	} else if n != len(data) {
		return fmt.Errorf("the send buffer took %d of %d bytes", n, len(data))
	}
	if _, err := s.Close(ctx, tcpemu.EndpointClient); err != nil {
		return err
	}

	type totals struct{ fast, rto, drops int }
	done := make(chan totals, 1)
	go func() {
		var t totals
		defer func() { done <- t }()
		for events.Next() {
			ev := events.Event()
			if ev.LostBefore > 0 {
				fmt.Fprintf(out, "  (%d events lost: this reader fell behind)\n", ev.LostBefore)
			}
			switch {
			case ev.Kind == tcpemu.KindSessionDestroyed && ev.SessionID == s.ID:
				return
			case ev.Kind == tcpemu.KindSegmentDropped && ev.LinkID == link.ID:
				t.drops++
			case ev.IsRetransmission() && ev.SessionID == s.ID:
				if ev.Reason == "retransmit_fast" {
					t.fast++
				} else {
					t.rto++
				}
				fmt.Fprintf(out, "  %8.3fs %-15s %s seq=%d len=%d cwnd=%d\n",
					(ev.Time - start).Seconds(), ev.Reason, name(ev.Endpoint.String(), "ENDPOINT_"),
					ev.Segment.RelSeq, ev.Segment.Len, ev.TCB.Cwnd)
			}
		}
	}()

	if cfg.realtime {
		err = s.WaitFor(ctx, tcpemu.StateClosed, tcpemu.EndpointClient)
	} else {
		_, err = net.AdvanceUntilIdle(ctx)
	}
	if err != nil {
		return err
	}
	var t totals
	select {
	case t = <-done:
	case <-ctx.Done():
		return fmt.Errorf("waiting for the session's end: %w", ctx.Err())
	}
	if err := events.Err(); err != nil {
		return err
	}

	snap, err := s.Snapshot(ctx)
	if err != nil {
		return err
	}
	took := snap.GetDestroyedAt().AsDuration() - start
	fmt.Fprintf(out, "session over after %.3fs: %d retransmissions (%d fast, %d after RTO), %d segments dropped\n",
		took.Seconds(), t.fast+t.rto, t.fast, t.rto, t.drops)
	sum := sha256.Sum256(data)
	read := snap.GetServer().GetBytesRead()
	if read != uint64(len(data)) || !bytes.Equal(snap.GetServer().GetReadSha256(), sum[:]) {
		return errors.New("the server did not read exactly the bytes written")
	}
	fmt.Fprintf(out, "server read %d bytes; SHA-256 matches what was written\n", read)
	return nil
}

// name turns an enum's name into a word: ENDPOINT_CLIENT is "client".
func name(enum, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(enum, prefix))
}
