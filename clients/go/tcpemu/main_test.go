package tcpemu_test

import (
	"context"
	"os"
	"testing"

	"github.com/tcpemu/tcpemu/clients/go/internal/testdaemon"
	"github.com/tcpemu/tcpemu/clients/go/tcpemu"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(peerEnv); mode != "" {
		os.Exit(runPeer(mode)) // a kernel TCP peer in a network namespace
	}
	os.Exit(testdaemon.Main(m))
}

// dial connects to the test daemon, or skips t when there is none.
func dial(t testing.TB) *tcpemu.Client {
	t.Helper()
	addr := testdaemon.Addr(t)
	c, err := tcpemu.Dial(context.Background(), addr)
	if err != nil {
		t.Fatalf("Dial(%s): %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
