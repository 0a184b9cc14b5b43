package tcpemu_test

import (
	"context"
	"testing"
	"time"

	"github.com/tcpemu/tcpemu/clients/go/tcpemu"
	"google.golang.org/protobuf/proto"
)

// A link whose forward path has CoDel with ECN, a schedule and queue
// sampling, and whose reverse path replays a trace: the daemon keeps them,
// plays the schedule in virtual time (LINK_CHANGED events, the values in
// force in Info), and an update of another field lets the schedule play on.
func TestLinkDynamicsReachTheDaemon(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	net, err := c.CreateNetwork(ctx, tcpemu.Virtual(), tcpemu.WithSeed(7))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Delete(context.Background())
	stream, err := net.Events(ctx, tcpemu.OnlyKinds(tcpemu.KindLinkChanged))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if err := stream.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	slow := 50 * time.Millisecond
	link, err := net.CreateLink(ctx,
		tcpemu.WithRate(20_000_000),
		tcpemu.Forward(
			tcpemu.WithAQM(tcpemu.AQMCoDel, true),
			tcpemu.WithQueueSampling(10*time.Millisecond),
			tcpemu.WithSchedule(0,
				tcpemu.SchedulePoint{At: 100 * time.Millisecond, RateBps: proto.Uint64(5_000_000)},
				tcpemu.SchedulePoint{At: 200 * time.Millisecond, Delay: &slow}),
		),
		tcpemu.Reverse(tcpemu.WithTrace("12mbit", "1\n")),
	)
	if err != nil {
		t.Fatal(err)
	}
	info, err := link.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fw, rv := info.GetForward(), info.GetReverse()
	if !fw.GetAqm().GetEcn() || fw.GetAqm().GetKind() != tcpemu.AQMCoDel || len(fw.GetSchedule().GetPoints()) != 2 ||
		fw.GetQueueSampleInterval().AsDuration() != 10*time.Millisecond {
		t.Fatalf("forward %v", fw)
	}
	if rv.GetTrace().GetName() != "12mbit" || rv.GetTrace().GetOpportunities() != 1 || rv.GetTrace().GetPeriod().AsDuration() != time.Millisecond {
		t.Fatalf("reverse %v", rv)
	}
	if _, err := net.Advance(ctx, 150*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// Another field changes; the schedule plays on.
	if err := link.Update(ctx, tcpemu.Forward(tcpemu.WithLoss(0.001))); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Advance(ctx, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	info, err = link.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fw := info.GetForward(); fw.GetRateBps() != 5_000_000 || fw.GetDelay().AsDuration() != slow || fw.GetLoss().GetRandom() != 0.001 {
		t.Fatalf("after the schedule's points: forward %v", fw)
	}
	if n := info.GetForwardCounters().GetLinkChanges(); n != 2 {
		t.Fatalf("link_changes %d, want 2", n)
	}
	var times []time.Duration
	for len(times) < 2 && stream.Next() {
		e := stream.Event()
		if e.Kind == tcpemu.KindLinkChanged && e.LinkID == link.ID {
			times = append(times, e.Time)
		}
	}
	if len(times) != 2 || times[0] != 100*time.Millisecond || times[1] != 200*time.Millisecond {
		t.Fatalf("LINK_CHANGED at %v, err %v", times, stream.Err())
	}
}
