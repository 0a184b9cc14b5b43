package tcpemu_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tcpemu/tcpemu/clients/go/tcpemu"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestOpenSessionsOpensInOrder(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	net, err := c.CreateNetwork(ctx, tcpemu.Virtual(), tcpemu.WithSeed(1))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Delete(context.Background())
	var links []*tcpemu.Link
	for i := 0; i < 2; i++ {
		l, err := net.CreateLink(ctx, tcpemu.WithDelay(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		links = append(links, l)
	}
	var specs []tcpemu.SessionSpec
	for i := 0; i < 10; i++ {
		specs = append(specs, tcpemu.SessionSpec{
			Link:    links[i%2],
			Options: []tcpemu.SessionOption{tcpemu.WithPorts(0, uint16(7000+i))},
		})
	}
	sessions, err := c.OpenSessions(ctx, specs, tcpemu.WithClientTCP(tcpemu.Timestamps(false)))
	if err != nil {
		t.Fatal(err)
	}
	if len(sessions) != len(specs) {
		t.Fatalf("%d sessions, want %d", len(sessions), len(specs))
	}
	if _, err := net.Advance(ctx, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for i, s := range sessions {
		if s.LinkID != links[i%2].ID {
			t.Errorf("sessions[%d] on link %d, want %d", i, s.LinkID, links[i%2].ID)
		}
		snap, err := s.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := snap.GetServer().GetPort(); got != uint32(7000+i) {
			t.Errorf("sessions[%d] server port %d, want %d", i, got, 7000+i)
		}
		if st := snap.GetClient().GetTcb().GetState().String(); st != "TCP_STATE_ESTABLISHED" {
			t.Errorf("sessions[%d] client %s, want ESTABLISHED", i, st)
		}
		// The common option reached every item: no timestamps, full MSS.
		if snap.GetClient().GetMss() != 1460 {
			t.Errorf("sessions[%d] mss %d, want 1460", i, snap.GetClient().GetMss())
		}
	}
}

func TestOpenSessionsAllOrNothing(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	net, err := c.CreateNetwork(ctx, tcpemu.Virtual(), tcpemu.WithSeed(2))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Delete(context.Background())
	link, err := net.CreateLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	specs := []tcpemu.SessionSpec{
		{Link: link, Options: []tcpemu.SessionOption{tcpemu.WithPorts(41000, 7100)}},
		{Link: link, Options: []tcpemu.SessionOption{tcpemu.WithPorts(41000, 7100)}},
	}
	_, err = c.OpenSessions(ctx, specs)
	if status.Code(err) != codes.AlreadyExists || !strings.Contains(err.Error(), "sessions[1]: a session with client_port 41000") {
		t.Fatalf("duplicate ports: %v, want ALREADY_EXISTS naming sessions[1]", err)
	}
	// Nothing stayed open: the first spec opens alone.
	if _, err := c.OpenSessions(ctx, specs[:1]); err != nil {
		t.Fatalf("after the refused batch: %v", err)
	}
	tooMany := make([]tcpemu.SessionSpec, tcpemu.MaxOpenSessionsBatch+1)
	for i := range tooMany {
		tooMany[i].Link = link
	}
	_, err = c.OpenSessions(ctx, tooMany)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "allowed [1, 1000]") {
		t.Fatalf("1001 specs: %v, want INVALID_ARGUMENT with the range", err)
	}
}
