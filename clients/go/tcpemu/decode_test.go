package tcpemu

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// randomEvent sets every field, including extremes, or leaves it unset.
func randomEvent(r *rand.Rand) *tcpemuv1.Event {
	u32 := func() uint32 {
		switch r.IntN(4) {
		case 0:
			return 0
		case 1:
			return math.MaxUint32
		default:
			return r.Uint32()
		}
	}
	i64 := func() int64 {
		switch r.IntN(4) {
		case 0:
			return 0
		case 1:
			return math.MinInt64
		case 2:
			return -r.Int64N(1 << 40)
		default:
			return r.Int64()
		}
	}
	reasons := []string{"", "in_order", "retransmit_rto", "loss", "nagle_release", "x"}
	e := &tcpemuv1.Event{
		TimeNs:    i64(),
		Kind:      tcpemuv1.EventKind(r.IntN(15)),
		NetworkId: u32(),
		SessionId: u32(),
		LinkId:    u32(),
		Endpoint:  tcpemuv1.Endpoint(r.IntN(3)),
		Reason:    reasons[r.IntN(len(reasons))],
		OldState:  tcpemuv1.TcpState(r.IntN(12)),
		NewState:  tcpemuv1.TcpState(r.IntN(12) - r.IntN(2)), // -1 too
		A:         i64(),
		B:         i64(),
	}
	if r.IntN(3) > 0 {
		e.Segment = &tcpemuv1.Segment{
			Seq: u32(), Ack: u32(), RelSeq: u32(), RelAck: u32(), Len: u32(),
			Window: u32(), Flags: u32() & 0xff, OptMss: u32(),
			OptSackPermitted: r.IntN(2) == 0, OptSackBlocks: u32(), OptTimestamp: r.IntN(2) == 0,
			SrcPort: u32() & 0xffff, DstPort: u32() & 0xffff,
		}
		if r.IntN(2) == 0 {
			e.Segment.OptWscale = proto.Uint32(uint32(r.IntN(15)))
		}
		// Up to one more block than TCP can carry.
		for range r.IntN(6) {
			e.Segment.SackBlocks = append(e.Segment.SackBlocks, &tcpemuv1.SackBlock{
				Left: u32(), Right: u32(), RelLeft: u32(), RelRight: u32(),
			})
		}
		if r.IntN(2) == 0 {
			e.Segment.TsVal = proto.Uint32(u32())
		}
		if r.IntN(2) == 0 {
			e.Segment.TsEcr = proto.Uint32(u32())
		}
		e.Segment.WindowBytes = u32()
	}
	if r.IntN(3) > 0 {
		e.Tcb = &tcpemuv1.Tcb{
			State: tcpemuv1.TcpState(r.IntN(12)), Iss: u32(), Irs: u32(),
			SndUna: u32(), SndNxt: u32(), SndWnd: u32(), RcvNxt: u32(), RcvWnd: u32(),
			Cwnd: u32(), Ssthresh: u32(), BytesInFlight: u32(),
			SrttNs: i64(), RttvarNs: i64(), RtoNs: i64(),
			SndWscale: u32() & 15, RcvWscale: u32() & 15, TsOk: r.IntN(2) == 0,
			SackOk: r.IntN(2) == 0, TsRecent: u32(), SackedBytes: u32(), LostBytes: u32(),
			RetransBytes: u32(), Pipe: u32(), PacingRate: r.Uint64(),
			CcPhase:           tcpemuv1.CcPhase(r.IntN(9)),
			BandwidthEstimate: r.Uint64(), MinRttNs: i64(),
		}
	}
	return e
}

func TestDecoderAgreesWithProto(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		batch := &tcpemuv1.EventBatch{EventsLost: uint64(r.IntN(3)) * r.Uint64()}
		for range r.IntN(40) {
			batch.Events = append(batch.Events, randomEvent(r))
		}
		wire, err := proto.Marshal(batch)
		if err != nil {
			t.Fatal(err)
		}
		// Split the message across buffers the way the transport may.
		var data mem.BufferSlice
		for rest := wire; len(rest) > 0; {
			n := min(len(rest), 1+r.IntN(300))
			data = append(data, mem.SliceBuffer(rest[:n]))
			rest = rest[n:]
		}
		got := newEventBatch()
		if err := (eventsCodec{}).Unmarshal(data, got); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got.lost != batch.EventsLost {
			t.Fatalf("round %d: lost %d, want %d", round, got.lost, batch.EventsLost)
		}
		if len(got.events) != len(batch.Events) {
			t.Fatalf("round %d: %d events, want %d", round, len(got.events), len(batch.Events))
		}
		for i, p := range batch.Events {
			if want := eventFromProto(p); !reflect.DeepEqual(got.events[i], want) {
				t.Fatalf("round %d event %d:\n got %+v\nwant %+v\nfrom %v", round, i, got.events[i], want, p)
			}
		}
	}
}

func TestDecoderSkipsUnknownFieldsAndMergesRepeats(t *testing.T) {
	var ev []byte
	ev = protowire.AppendTag(ev, 2, protowire.VarintType)
	ev = protowire.AppendVarint(ev, uint64(KindSegmentSent))
	ev = protowire.AppendTag(ev, 99, protowire.BytesType) // a field added later
	ev = protowire.AppendBytes(ev, []byte("future"))
	ev = protowire.AppendTag(ev, 4, protowire.Fixed32Type) // wrong wire type: unknown
	ev = protowire.AppendFixed32(ev, 7)
	seg1, _ := proto.Marshal(&tcpemuv1.Segment{Seq: 5, Len: 100})
	seg2, _ := proto.Marshal(&tcpemuv1.Segment{Ack: 9})
	ev = protowire.AppendTag(ev, 12, protowire.BytesType)
	ev = protowire.AppendBytes(ev, seg1)
	ev = protowire.AppendTag(ev, 12, protowire.BytesType)
	ev = protowire.AppendBytes(ev, seg2)
	var batch []byte
	batch = protowire.AppendTag(batch, 1, protowire.BytesType)
	batch = protowire.AppendBytes(batch, ev)
	batch = protowire.AppendTag(batch, 7, protowire.VarintType)
	batch = protowire.AppendVarint(batch, 1)

	var want tcpemuv1.EventBatch
	if err := proto.Unmarshal(batch, &want); err != nil {
		t.Fatal(err)
	}
	got := newEventBatch()
	if err := got.decode(batch); err != nil {
		t.Fatal(err)
	}
	if len(got.events) != 1 || !reflect.DeepEqual(got.events[0], eventFromProto(want.Events[0])) {
		t.Fatalf("got %+v, want %+v", got.events, eventFromProto(want.Events[0]))
	}
	if s := got.events[0].Segment; s.Seq != 5 || s.Len != 100 || s.Ack != 9 {
		t.Fatalf("repeated segment not merged: %+v", s)
	}
}

func TestDecoderReadsSACKBlocksTimestampsAndScoreboard(t *testing.T) {
	p := &tcpemuv1.Event{
		Kind: tcpemuv1.EventKind_EVENT_KIND_SEGMENT_SENT, Reason: "ack",
		Segment: &tcpemuv1.Segment{
			Seq: 5001, Ack: 2461, RelAck: 1461, Flags: 16, Window: 501, WindowBytes: 501 << 7,
			OptSackBlocks: 2, OptTimestamp: true, TsVal: proto.Uint32(0), TsEcr: proto.Uint32(77),
			SackBlocks: []*tcpemuv1.SackBlock{
				{Left: 1001, Right: 2461, RelLeft: 1, RelRight: 1461},
				{Left: 3921, Right: 5381, RelLeft: 2921, RelRight: 4381},
			},
		},
		Tcb: &tcpemuv1.Tcb{
			SndWscale: 7, RcvWscale: 9, TsOk: true, SackOk: true, TsRecent: 1 << 31,
			SackedBytes: 2920, LostBytes: 1460, RetransBytes: 1400, Pipe: 4380,
			PacingRate: 1 << 40, CcPhase: tcpemuv1.CcPhase_CC_PHASE_PROBE_RTT, BandwidthEstimate: 12_100_000,
			MinRttNs: 40_123_456,
		},
	}
	wire, err := proto.Marshal(&tcpemuv1.EventBatch{Events: []*tcpemuv1.Event{p}})
	if err != nil {
		t.Fatal(err)
	}
	b := newEventBatch()
	if err := b.decode(wire); err != nil {
		t.Fatal(err)
	}
	s := b.events[0].Segment
	want := []SACKBlock{{1001, 2461, 1, 1461}, {3921, 5381, 2921, 4381}}
	if got := s.SACKBlocks(); !reflect.DeepEqual(got, want) {
		t.Errorf("SACK blocks %+v, want %+v", got, want)
	}
	// A zero TSval is a timestamp all the same.
	if !s.HasTS || s.TSVal != 0 || s.TSEcr != 77 || s.WindowBytes != 64128 {
		t.Errorf("timestamps and window: %+v", s)
	}
	tcb := b.events[0].TCB
	if tcb.SndWScale != 7 || tcb.RcvWScale != 9 || !tcb.TSOK || !tcb.SACKOK || tcb.TSRecent != 1<<31 ||
		tcb.SACKedBytes != 2920 || tcb.LostBytes != 1460 || tcb.RetransBytes != 1400 || tcb.Pipe != 4380 ||
		tcb.PacingRate != 1<<40 || tcb.CCPhase != CCPhaseProbeRTT || tcb.BandwidthEstimate != 12_100_000 ||
		tcb.MinRTT != 40_123_456 {
		t.Errorf("TCB %+v", tcb)
	}
	p.Segment.SackBlocks, p.Segment.TsVal, p.Segment.TsEcr = nil, nil, nil
	wire, _ = proto.Marshal(&tcpemuv1.EventBatch{Events: []*tcpemuv1.Event{p}})
	if err := b.decode(wire); err != nil {
		t.Fatal(err)
	}
	if s := b.events[0].Segment; s.NumSACK != 0 || s.HasTS || s.TSEcr != 0 {
		t.Errorf("stale SACK blocks or timestamps after reuse: %+v", s)
	}
}

func TestDecoderRejectsTruncatedInput(t *testing.T) {
	wire, err := proto.Marshal(&tcpemuv1.EventBatch{Events: []*tcpemuv1.Event{
		{Kind: tcpemuv1.EventKind_EVENT_KIND_SEGMENT_SENT, Reason: "full_mss", Segment: &tcpemuv1.Segment{
			Seq: 1 << 31, TsVal: proto.Uint32(1 << 30),
			SackBlocks: []*tcpemuv1.SackBlock{{Left: 1 << 31, Right: 1<<31 + 1460, RelLeft: 1, RelRight: 1461}},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n < len(wire); n++ {
		b := newEventBatch()
		if err := b.decode(wire[:n]); err == nil && proto.Unmarshal(wire[:n], &tcpemuv1.EventBatch{}) != nil {
			t.Fatalf("decode of %d of %d bytes succeeded where proto.Unmarshal fails", n, len(wire))
		}
	}
}

func TestDecoderReusesBatchStorage(t *testing.T) {
	wire, err := proto.Marshal(&tcpemuv1.EventBatch{Events: []*tcpemuv1.Event{
		{Kind: tcpemuv1.EventKind_EVENT_KIND_SEGMENT_SENT, Reason: "full_mss", Segment: &tcpemuv1.Segment{
			Seq: 1, TsVal: proto.Uint32(9), SackBlocks: []*tcpemuv1.SackBlock{{Left: 1, Right: 2}, {Left: 3, Right: 4}},
		}, Tcb: &tcpemuv1.Tcb{Cwnd: 1, Pipe: 1}},
		{Kind: tcpemuv1.EventKind_EVENT_KIND_RTT_SAMPLE, Reason: "", A: 5},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b := newEventBatch()
	if err := b.decode(wire); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := b.decode(wire); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("decoding a batch again allocates %.1f times, want 0", allocs)
	}
	// A reused slot must not keep the previous event's fields.
	short, _ := proto.Marshal(&tcpemuv1.EventBatch{Events: []*tcpemuv1.Event{{A: 1}}})
	if err := b.decode(short); err != nil {
		t.Fatal(err)
	}
	if e := b.events[0]; e.HasSegment || e.HasTCB || e.Reason != "" || e.Kind != 0 {
		t.Fatalf("stale fields after reuse: %+v", e)
	}
}

// BenchmarkDecodeEventBatch measures the client's decoding alone: batches of
// 1024 events shaped like a bulk transfer's (segment events with a segment
// and a TCB, the rest with a TCB).
func BenchmarkDecodeEventBatch(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 9))
	batch := &tcpemuv1.EventBatch{}
	for i := range 1024 {
		e := &tcpemuv1.Event{
			TimeNs: int64(i) * 12_345, NetworkId: 3, SessionId: 7, LinkId: 4,
			Endpoint: tcpemuv1.Endpoint(1 + i%2),
			Tcb: &tcpemuv1.Tcb{
				State: tcpemuv1.TcpState_TCP_STATE_ESTABLISHED, Iss: r.Uint32(), Irs: r.Uint32(),
				SndUna: r.Uint32(), SndNxt: r.Uint32(), SndWnd: 262144, RcvNxt: r.Uint32(), RcvWnd: 262144,
				Cwnd: 146000, Ssthresh: 1 << 31, BytesInFlight: 87600,
				SrttNs: 10_200_000, RttvarNs: 1_500_000, RtoNs: 200_000_000,
			},
		}
		switch i % 4 {
		case 0, 1:
			e.Kind = tcpemuv1.EventKind(1 + i%2)
			e.Reason = []string{"full_mss", "in_order"}[i%2]
			e.Segment = &tcpemuv1.Segment{Seq: r.Uint32(), Ack: r.Uint32(), RelSeq: r.Uint32() >> 8,
				RelAck: 1, Len: 1460, Window: 32768, Flags: 16}
		case 2:
			e.Kind, e.A = tcpemuv1.EventKind_EVENT_KIND_TIMER_ARMED, 1_000_000_000
			e.Reason = "rto"
		case 3:
			e.Kind, e.A, e.B = tcpemuv1.EventKind_EVENT_KIND_CWND_CHANGED, 146000, 147460
		}
		batch.Events = append(batch.Events, e)
	}
	wire, err := proto.Marshal(batch)
	if err != nil {
		b.Fatal(err)
	}
	data := mem.BufferSlice{mem.SliceBuffer(wire)}
	got := newEventBatch()
	b.SetBytes(int64(len(wire)))
	b.ResetTimer()
	for range b.N {
		if err := (eventsCodec{}).Unmarshal(data, got); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1024/b.Elapsed().Seconds(), "events/s")
}
