package tcpemu

import (
	"fmt"
	"time"

	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Toxic is a connection-level fault of a proxy, in toxiproxy's vocabulary:
// made by Latency, Bandwidth, SlowClose, Timeout, ResetPeer, LimitData and
// Slicer, read back with Proxy.Toxics.
type Toxic = tcpemuv1.Toxic

// ToxicStream is the way a toxic acts, in toxiproxy's terms.
type ToxicStream = tcpemuv1.ToxicStream

const (
	// Downstream is the upstream host to the application: the proxy's link's
	// REVERSE direction. It is the default.
	Downstream = tcpemuv1.ToxicStream_TOXIC_STREAM_DOWNSTREAM
	// Upstream is the application to the upstream host: the link's FORWARD
	// direction.
	Upstream = tcpemuv1.ToxicStream_TOXIC_STREAM_UPSTREAM
)

// LatencyOption configures Latency: any ToxicOption, or Jitter.
type LatencyOption interface {
	applyLatency(*Toxic)
}

// ToxicOption configures a toxic of any kind.
type ToxicOption interface {
	LatencyOption
	applyToxic(*Toxic)
}

type toxicOption func(*Toxic)

func (f toxicOption) applyLatency(t *Toxic) { f(t) }
func (f toxicOption) applyToxic(t *Toxic)   { f(t) }

// Stream chooses the way the toxic acts (default Downstream).
func Stream(s ToxicStream) ToxicOption {
	return toxicOption(func(t *Toxic) { t.Stream = s })
}

// Toxicity applies the toxic to a share p in [0, 1] of the connections,
// drawn per connection when it opens or when the toxic is added (default 1).
func Toxicity(p float64) ToxicOption {
	return toxicOption(func(t *Toxic) { t.Toxicity = proto.Float64(p) })
}

// ToxicName names the toxic, unique in its proxy (default "<type>_<stream>",
// such as "latency_downstream").
func ToxicName(name string) ToxicOption {
	return toxicOption(func(t *Toxic) { t.Name = name })
}

type jitterOption time.Duration

func (j jitterOption) applyLatency(t *Toxic) {
	if l := t.GetLatency(); l != nil {
		l.Jitter = durationpb.New(time.Duration(j))
	}
}

// Jitter adds a uniformly distributed variation of +/- d, at most the
// latency, to a Latency toxic.
func Jitter(d time.Duration) LatencyOption { return jitterOption(d) }

func newToxic(kind func(*Toxic), opts []ToxicOption) *Toxic {
	t := &Toxic{}
	kind(t)
	for _, o := range opts {
		o.applyToxic(t)
	}
	return t
}

// Latency delays every segment of the stream by d (plus Jitter), on each
// connection: a delay fault on the connection's session.
func Latency(d time.Duration, opts ...LatencyOption) *Toxic {
	t := &Toxic{Kind: &tcpemuv1.Toxic_Latency{Latency: &tcpemuv1.LatencyToxic{Latency: durationpb.New(d)}}}
	for _, o := range opts {
		o.applyLatency(t)
	}
	return t
}

// Bandwidth sets the rate of the proxy's link in the stream's direction, in
// bits per second (at least 8000), shared by the proxy's connections through
// one queue (toxiproxy limits each connection alone, in KB/s). It takes no
// Toxicity below 1.
func Bandwidth(bitsPerSecond uint64, opts ...ToxicOption) *Toxic {
	return newToxic(func(t *Toxic) {
		t.Kind = &tcpemuv1.Toxic_Bandwidth{Bandwidth: &tcpemuv1.BandwidthToxic{RateBps: bitsPerSecond}}
	}, opts)
}

// SlowClose delays the close of the socket the stream flows to by d.
func SlowClose(d time.Duration, opts ...ToxicOption) *Toxic {
	return newToxic(func(t *Toxic) {
		t.Kind = &tcpemuv1.Toxic_SlowClose{SlowClose: &tcpemuv1.SlowCloseToxic{Delay: durationpb.New(d)}}
	}, opts)
}

// Timeout is a black hole: no data and no FIN of the stream get through,
// and the connection is closed after d (0: never, until the toxic is
// removed; then the held-back segments are retransmitted).
func Timeout(d time.Duration, opts ...ToxicOption) *Toxic {
	return newToxic(func(t *Toxic) {
		t.Kind = &tcpemuv1.Toxic_Timeout{Timeout: &tcpemuv1.TimeoutToxic{Timeout: durationpb.New(d)}}
	}, opts)
}

// ResetPeer resets the connection d after it opened (or after the toxic was
// added): the upstream side aborts with an emulated RST, and the
// application's socket is reset.
func ResetPeer(d time.Duration, opts ...ToxicOption) *Toxic {
	return newToxic(func(t *Toxic) {
		t.Kind = &tcpemuv1.Toxic_ResetPeer{ResetPeer: &tcpemuv1.ResetPeerToxic{Timeout: durationpb.New(d)}}
	}, opts)
}

// LimitData closes the connection once n bytes of the stream have been
// delivered.
func LimitData(n uint64, opts ...ToxicOption) *Toxic {
	return newToxic(func(t *Toxic) {
		t.Kind = &tcpemuv1.Toxic_LimitData{LimitData: &tcpemuv1.LimitDataToxic{Bytes: n}}
	}, opts)
}

// Slicer makes the stream's sending endpoint use an MSS of averageSize
// bytes (at least 88) with Nagle off, on connections opened after the toxic
// was added. variation and delay are kept and shown, as toxiproxy's
// attributes, but segment sizes and timing follow TCP.
func Slicer(averageSize, variation uint32, delay time.Duration, opts ...ToxicOption) *Toxic {
	return newToxic(func(t *Toxic) {
		t.Kind = &tcpemuv1.Toxic_Slicer{Slicer: &tcpemuv1.SlicerToxic{
			AverageSize: averageSize, SizeVariation: variation, Delay: durationpb.New(delay),
		}}
	}, opts)
}

// ToxicType is a toxic's type in toxiproxy's words: "latency", "bandwidth",
// "slow_close", "timeout", "reset_peer", "limit_data" or "slicer"; "" for a
// toxic of no kind.
func ToxicType(t *Toxic) string {
	switch t.GetKind().(type) {
	case *tcpemuv1.Toxic_Latency:
		return "latency"
	case *tcpemuv1.Toxic_Bandwidth:
		return "bandwidth"
	case *tcpemuv1.Toxic_SlowClose:
		return "slow_close"
	case *tcpemuv1.Toxic_Timeout:
		return "timeout"
	case *tcpemuv1.Toxic_ResetPeer:
		return "reset_peer"
	case *tcpemuv1.Toxic_LimitData:
		return "limit_data"
	case *tcpemuv1.Toxic_Slicer:
		return "slicer"
	}
	return ""
}

// ToxicDefaultName is the name the daemon gives a toxic that has none:
// "<type>_<stream>", such as "latency_downstream".
func ToxicDefaultName(t *Toxic) string {
	stream := "downstream"
	if t.GetStream() == Upstream {
		stream = "upstream"
	}
	return fmt.Sprintf("%s_%s", ToxicType(t), stream)
}

// toxicName is the name a toxic has, or will have once the daemon names it.
func toxicName(t *Toxic) string {
	if t.GetName() != "" {
		return t.GetName()
	}
	return ToxicDefaultName(t)
}
