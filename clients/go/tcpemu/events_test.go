package tcpemu_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tcpemu/tcpemu/clients/go/internal/testdaemon"
	"github.com/tcpemu/tcpemu/clients/go/tcpemu"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// startTransfer opens a session on a new virtual network and gives it data
// to send; nothing moves until the network is advanced.
func startTransfer(ctx context.Context, t *testing.T, c *tcpemu.Client, bytes int64) (*tcpemu.Network, *tcpemu.Session) {
	t.Helper()
	net, err := c.CreateNetwork(ctx, tcpemu.Virtual(), tcpemu.WithSeed(5))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { net.Delete(context.Background()) })
	link, err := net.CreateLink(ctx, tcpemu.WithDelay(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.OpenSession(ctx, link, tcpemu.WithClientTCP(tcpemu.SendBuffer(uint32(bytes))))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.WriteFill(ctx, bytes); err != nil || n != bytes {
		t.Fatalf("WriteFill = %d, %v", n, err)
	}
	return net, s
}

func TestEventsEndOnCancel(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	net, s := startTransfer(ctx, t, c, 1<<20)

	sctx, stop := context.WithCancel(ctx)
	events, err := s.Events(sctx)
	if err != nil {
		t.Fatal(err)
	}
	if !events.Next() {
		t.Fatalf("no replayed event: %v", events.Err())
	}
	if _, err := net.Advance(ctx, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ended := make(chan int, 1)
	go func() {
		n := 1
		for events.Next() {
			n++
			if n == 50 {
				stop() // cancel while events are still flowing
			}
		}
		ended <- n
	}()
	select {
	case n := <-ended:
		if n < 50 {
			t.Fatalf("stream ended after %d events, before the cancel: %v", n, events.Err())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return after the context was cancelled")
	}
	err = events.Err()
	if !errors.Is(err, context.Canceled) || status.Code(err) != codes.Canceled {
		t.Fatalf("Err() = %v; want context.Canceled for errors.Is and status.Code", err)
	}
	if events.Next() {
		t.Fatal("Next after the end returned true")
	}
}

func TestEventsRangeEndsOnCancelAndCloseIsClean(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, s := startTransfer(ctx, t, c, 1000)

	// A range loop waiting for events that never come (time stands still)
	// ends when its context does, and yields the reason last.
	sctx, stop := context.WithTimeout(ctx, 300*time.Millisecond)
	defer stop()
	events, err := s.Events(sctx, tcpemu.OnlyKinds(tcpemu.KindStateChanged))
	if err != nil {
		t.Fatal(err)
	}
	var seen []tcpemu.Event
	var last error
	for ev, err := range events.All() {
		if err != nil {
			last = err
			break
		}
		seen = append(seen, ev)
	}
	if !errors.Is(last, context.DeadlineExceeded) {
		t.Fatalf("range ended with %v, want DeadlineExceeded", last)
	}
	// The replayed history: server LISTEN and client SYN_SENT, in order of
	// occurrence, whatever the order.
	states := map[tcpemu.Endpoint]tcpemu.State{}
	for _, ev := range seen {
		states[ev.Endpoint] = ev.NewState
	}
	if len(seen) != 2 || states[tcpemu.EndpointClient] != tcpemu.StateSynSent || states[tcpemu.EndpointServer] != tcpemu.StateListen {
		t.Fatalf("replayed %+v", seen)
	}

	// Close from another goroutine: Next returns false and Err stays nil.
	events, err = s.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		events.Close()
	}()
	for events.Next() {
	}
	if err := events.Err(); err != nil {
		t.Fatalf("Err() after Close = %v", err)
	}
}

func TestEventsRejectBadFilter(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events, err := c.Events(ctx, tcpemu.OnlyKinds(tcpemu.EventKind(99)))
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	if events.Next() {
		t.Fatalf("an event from a bad filter: %+v", events.Event())
	}
	if err := events.Err(); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Err() = %v, want InvalidArgument", err)
	}
	unknown, err := c.Events(ctx, tcpemu.OnlyNetwork(1<<30))
	if err != nil {
		t.Fatal(err)
	}
	defer unknown.Close()
	if unknown.Next() || status.Code(unknown.Err()) != codes.NotFound {
		t.Fatalf("stream of an unknown network: %v", unknown.Err())
	}
}

func TestEventsCarryDecodedFields(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	net, s := startTransfer(ctx, t, c, 50_000)
	events, err := net.Events(ctx, tcpemu.WithReplay(true), tcpemu.OnlySessions(s.ID))
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	if !events.Next() {
		t.Fatal(events.Err())
	}
	if _, err := net.Advance(ctx, 20*time.Millisecond); err != nil { // the handshake
		t.Fatal(err)
	}
	if _, err := s.Close(ctx, tcpemu.EndpointClient); err != nil {
		t.Fatal(err)
	}
	if _, err := net.AdvanceUntilIdle(ctx); err != nil {
		t.Fatal(err)
	}
	var (
		sentBytes   uint32
		rtts        int
		lastTime    time.Duration
		transitions = map[tcpemu.Endpoint][]tcpemu.State{}
	)
	for {
		ev := events.Event()
		if ev.NetworkID != net.ID || ev.SessionID != s.ID || ev.LinkID != s.LinkID {
			t.Fatalf("event of another network/session/link: %+v", ev)
		}
		if ev.Time < lastTime {
			t.Fatalf("time went back: %v after %v", ev.Time, lastTime)
		}
		lastTime = ev.Time
		switch ev.Kind {
		case tcpemu.KindSegmentSent:
			if !ev.HasSegment || !ev.HasTCB || ev.Reason == "" {
				t.Fatalf("SEGMENT_SENT without segment, TCB or reason: %+v", ev)
			}
			if ev.Endpoint == tcpemu.EndpointClient && !ev.IsRetransmission() {
				sentBytes += ev.Segment.Len
			}
		case tcpemu.KindRTTSample:
			rtts++
			if ev.A < int64(10*time.Millisecond) {
				t.Fatalf("RTT sample %v below the link's 10ms round trip", time.Duration(ev.A))
			}
		case tcpemu.KindStateChanged:
			transitions[ev.Endpoint] = append(transitions[ev.Endpoint], ev.NewState)
		}
		if ev.Kind == tcpemu.KindSessionDestroyed {
			break
		}
		if !events.Next() {
			t.Fatal(events.Err())
		}
	}
	if sentBytes != 50_000 || rtts == 0 {
		t.Fatalf("client sent %d payload bytes (want 50000), %d RTT samples", sentBytes, rtts)
	}
	want := []tcpemu.State{tcpemu.StateSynSent, tcpemu.StateEstablished, tcpemu.StateFinWait1,
		tcpemu.StateFinWait2, tcpemu.StateTimeWait, tcpemu.StateClosed}
	if got := transitions[tcpemu.EndpointClient]; !slices.Equal(got, want) {
		t.Fatalf("client went through %v, want %v", got, want)
	}
}

// A stream read too slowly loses its oldest events; the gap is reported on
// the event that follows it.
func TestEventsReportGaps(t *testing.T) {
	testdaemon.Addr(t) // skips without a daemon binary
	bin, err := testdaemon.Binary()
	if err != nil {
		t.Fatal(err)
	}
	d, err := testdaemon.Start(bin, "--event_queue", "64")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := d.Stop(); err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := tcpemu.Dial(ctx, d.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	net, s := startTransfer(ctx, t, c, 4<<20)
	events, err := s.Events(ctx, tcpemu.WithMaxBatch(16))
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	if !events.Next() {
		t.Fatal(events.Err())
	}
	if _, err := s.Close(ctx, tcpemu.EndpointClient); err != nil {
		t.Fatal(err)
	}
	// Tens of thousands of events while nobody reads.
	if _, err := net.AdvanceUntilIdle(ctx); err != nil {
		t.Fatal(err)
	}
	var gaps, lost, after uint64
	for events.Next() {
		ev := events.Event()
		if ev.LostBefore > 0 {
			gaps++
			lost += ev.LostBefore
			after = 0
		} else {
			after++
		}
		if ev.Kind == tcpemu.KindSessionDestroyed {
			break
		}
	}
	if err := events.Err(); err != nil {
		t.Fatal(err)
	}
	if gaps == 0 || lost < 1000 || lost != events.Lost() {
		t.Fatalf("%d gaps of %d events in all, Lost() = %d; want gaps summing to Lost()", gaps, lost, events.Lost())
	}
	if after == 0 {
		t.Fatal("no event after the last gap: the newest events should survive")
	}
	t.Logf("%d events lost in %d gaps; %d events after the last gap", lost, gaps, after)
}

// WaitSubscribed makes a live stream (no replay) see everything after it,
// and reports a refused stream's error.
func TestEventsWaitSubscribed(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	net, err := c.CreateNetwork(ctx, tcpemu.Virtual(), tcpemu.WithSeed(9))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Delete(context.Background())
	events, err := net.Events(ctx, tcpemu.OnlyKinds(tcpemu.KindSegmentSent))
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	if err := events.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	link, err := net.CreateLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.OpenSession(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	if !events.Next() {
		t.Fatal(events.Err())
	}
	if ev := events.Event(); ev.SessionID != s.ID || ev.Segment.Flags != tcpemu.FlagSYN {
		t.Fatalf("first event %+v, want the SYN of session %d", ev, s.ID)
	}

	refused, err := c.Events(ctx, tcpemu.OnlyNetwork(4_000_000_000))
	if err != nil {
		t.Fatal(err)
	}
	if err := refused.WaitSubscribed(ctx); status.Code(err) != codes.NotFound {
		t.Fatalf("WaitSubscribed on an unknown network = %v, want NotFound", err)
	}
}
