package tcpemu

import (
	"slices"
	"testing"
	"time"
)

// The options name the fields they set in UpdateLink's field mask, in the
// paths their scope selects, each once.
func TestLinkOptionsNameTheirFieldsInTheUpdateMask(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []LinkOption
		want []string
	}{
		{"none", nil, nil},
		{"both directions", []LinkOption{WithDelay(time.Millisecond)}, []string{"forward.delay", "reverse.delay"}},
		{"scoped", []LinkOption{Forward(WithRate(1)), Reverse(WithLoss(0.1), WithGilbertElliott(0.1, 0.2, 0.3, 0.4))},
			[]string{"forward.rate_bps", "reverse.loss"}},
		{"several fields", []LinkOption{Reverse(WithReorder(0.1, 3), WithQueueLimit(5), WithQueueLimitBytes(6))},
			[]string{"reverse.reorder", "reverse.reorder_gap", "reverse.queue_limit_packets", "reverse.queue_limit_bytes"}},
		{"jitter options", []LinkOption{Forward(WithJitter(time.Millisecond), WithJitterCorrelation(0.5), WithJitterKeepOrder())},
			[]string{"forward.jitter"}},
		{"rest", []LinkOption{Forward(WithDuplicate(0.1), WithCorrupt(0.2), WithMTU(1400), WithNormalJitter(time.Millisecond))},
			[]string{"forward.duplicate", "forward.corrupt", "forward.mtu", "forward.jitter"}},
		{"whole path", []LinkOption{Reverse(WithPathSpec(nil)), Forward(ReplaceAll(), WithDelay(time.Second))},
			[]string{"reverse", "forward", "forward.delay"}},
		{"replace all", []LinkOption{ReplaceAll()}, []string{"forward", "reverse"}},
	} {
		got := newLinkConfig(tc.opts).updateRequest(7)
		if got.GetLinkId() != 7 || !slices.Equal(got.GetUpdateMask().GetPaths(), tc.want) {
			t.Errorf("%s: mask %v, want %v", tc.name, got.GetUpdateMask().GetPaths(), tc.want)
		}
	}
}
