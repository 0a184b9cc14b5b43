package tcpemu_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tcpemu/tcpemu/clients/go/internal/testdaemon"
	"github.com/tcpemu/tcpemu/clients/go/tcpemu"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestErrorsCarryCodesAndMessages(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	virt, err := c.CreateNetwork(ctx, tcpemu.Virtual())
	if err != nil {
		t.Fatal(err)
	}
	defer virt.Delete(context.Background())
	def, err := c.GetNetwork(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if def.Clock != tcpemu.ClockRealtime || def.ID == 0 {
		t.Fatalf("default network %+v", def)
	}
	link, err := virt.CreateLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gone, err := link.OpenSession(ctx, tcpemu.WithTCP(tcpemu.CongestionControl(tcpemu.Cubic)))
	if err != nil {
		t.Fatal(err)
	}
	if err := gone.Delete(ctx); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		call func() error
		code codes.Code
		want []string // in the message
	}{
		{"loss above 1", func() error {
			_, err := c.CreateLink(ctx, tcpemu.Forward(tcpemu.WithLoss(1.5)))
			return err
		}, codes.InvalidArgument, []string{"tcpemu: CreateLink", "forward.loss"}},
		{"negative delay", func() error {
			_, err := c.CreateLink(ctx, tcpemu.Reverse(tcpemu.WithDelay(-time.Millisecond)))
			return err
		}, codes.InvalidArgument, []string{"reverse.delay"}},
		{"unknown network", func() error {
			_, err := c.GetNetwork(ctx, 987654)
			return err
		}, codes.NotFound, []string{"tcpemu: GetNetwork", "network_id 987654 not found"}},
		{"advance a realtime network", func() error {
			_, err := def.Advance(ctx, time.Second)
			return err
		}, codes.FailedPrecondition, []string{"REALTIME"}},
		{"default network kept", func() error { return def.Delete(ctx) },
			codes.FailedPrecondition, []string{"default network"}},
		{"deleted session", func() error {
			_, err := gone.Write(ctx, []byte("x"))
			return err
		}, codes.NotFound, []string{"tcpemu: Write", "session_id"}},
		{"read too much", func() error {
			_, err := gone.Read(ctx, 64<<20)
			return err
		}, codes.InvalidArgument, []string{"max_bytes"}},
		{"buffer above the limit", func() error {
			_, err := link.OpenSession(ctx, tcpemu.WithServerTCP(tcpemu.RecvBuffer(1<<31)))
			return err
		}, codes.ResourceExhausted, []string{"server.recv_buffer"}},
		{"unknown congestion control", func() error {
			_, err := link.OpenSession(ctx, tcpemu.WithClientTCP(tcpemu.CongestionControl(99)))
			return err
		}, codes.InvalidArgument, []string{"client.congestion_control", "CONGESTION_CONTROL_CUBIC", "CONGESTION_CONTROL_BBR"}},
		{"negative fill", func() error {
			_, err := gone.WriteFill(ctx, -1)
			return err
		}, codes.InvalidArgument, []string{"negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if status.Code(err) != tc.code {
				t.Fatalf("error %v: code %s, want %s", err, status.Code(err), tc.code)
			}
			st, ok := status.FromError(err)
			if !ok {
				t.Fatalf("status.FromError(%v) does not see a status", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(st.Message(), w) {
					t.Errorf("message %q lacks %q", st.Message(), w)
				}
			}
		})
	}
}

func TestContextEndsCalls(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	link, err := c.CreateLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer link.Delete(context.Background())
	s, err := c.OpenSession(ctx, link, tcpemu.WithReader(tcpemu.EndpointServer, tcpemu.ReadManual))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Delete(context.Background())

	short, stop := context.WithTimeout(ctx, 200*time.Millisecond)
	defer stop()
	start := time.Now()
	_, err = s.Read(short, 10, tcpemu.WithWait(10*time.Second)) // nothing is ever written
	if !errors.Is(err, context.DeadlineExceeded) || status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("Read past its deadline = %v; want DeadlineExceeded for errors.Is and status.Code", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("Read returned after %v, not at its deadline", el)
	}

	gone, stop2 := context.WithCancel(ctx)
	stop2()
	if _, err := c.GetNetwork(gone, 0); !errors.Is(err, context.Canceled) || status.Code(err) != codes.Canceled {
		t.Fatalf("call with a cancelled context = %v", err)
	}
}

func TestDefaultTimeoutBoundsCalls(t *testing.T) {
	c := dial(t)
	addr := testdaemon.Addr(t)
	ctx := context.Background()
	if _, err := tcpemu.Dial(ctx, addr, tcpemu.WithTimeout(time.Nanosecond)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial with a 1ns timeout = %v, want DeadlineExceeded", err)
	}
	short, err := tcpemu.Dial(ctx, addr, tcpemu.WithTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	link, err := c.CreateLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer link.Delete(ctx)
	s, err := c.OpenSession(ctx, link, tcpemu.WithReader(tcpemu.EndpointServer, tcpemu.ReadManual))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Delete(ctx)
	// A daemon-side wait longer than the default timeout extends the call's
	// deadline by the wait.
	same, err := short.GetSession(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if same.ID != s.ID || same.LinkID != link.ID || same.NetworkID != link.NetworkID {
		t.Fatalf("GetSession = %+v, want %+v", same, s)
	}
	start := time.Now()
	b, err := same.Read(ctx, 10, tcpemu.WithWait(time.Second))
	if err != nil || len(b) != 0 || time.Since(start) < 900*time.Millisecond {
		t.Fatalf("Read with a 1s wait = %q, %v after %v; want nothing, after the wait", b, err, time.Since(start))
	}
	if _, err := short.GetSession(ctx, 1<<31); status.Code(err) != codes.NotFound {
		t.Fatalf("GetSession of no session = %v", err)
	}
}

func TestDialWaitsForTheDaemonUntilItsContextEnds(t *testing.T) {
	// Port 1 on loopback: nothing listens, so Dial waits until its deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	c, err := tcpemu.Dial(ctx, "127.0.0.1:1")
	if err == nil {
		c.Close()
		t.Fatal("Dial to a closed port succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) || status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("Dial = %v; want DeadlineExceeded", err)
	}
	if el := time.Since(start); el < 250*time.Millisecond || el > 5*time.Second {
		t.Fatalf("Dial returned after %v, want about its 300ms deadline", el)
	}
}
