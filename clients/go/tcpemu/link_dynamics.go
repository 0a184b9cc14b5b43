package tcpemu

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
)

// AQM kinds for WithAQM: the queue management of a path's bottleneck queue
// (docs/links.md).
const (
	AQMDropTail = tcpemuv1.Aqm_KIND_DROP_TAIL
	AQMRED      = tcpemuv1.Aqm_KIND_RED
	AQMCoDel    = tcpemuv1.Aqm_KIND_CODEL
	AQMFQCoDel  = tcpemuv1.Aqm_KIND_FQ_CODEL
)

// WithAQM sets the bottleneck queue's management with its defaults (RED,
// CoDel's 5 ms target and 100 ms interval, FQ-CoDel's 1024 flows); with ecn,
// ECN-capable packets are marked CE instead of dropped. WithAQMSpec sets
// every parameter.
func WithAQM(kind tcpemuv1.Aqm_Kind, ecn bool) LinkOption {
	return WithAQMSpec(&tcpemuv1.Aqm{Kind: kind, Ecn: ecn})
}

// WithAQMSpec sets the queue management from a message (zero fields take
// their defaults).
func WithAQMSpec(a *tcpemuv1.Aqm) LinkOption {
	return path(fields("aqm"), func(p *tcpemuv1.PathSpec) { p.Aqm = a })
}

// SchedulePoint is one step of a schedule: from At (after the schedule
// starts) the fields set here take these values; with Ramp they move
// linearly from the previous point's values over the interval before At.
// Nil fields keep their values.
type SchedulePoint struct {
	At      time.Duration
	Ramp    bool
	RateBps *uint64
	Delay   *time.Duration
	Jitter  *time.Duration
	Loss    *float64
	Down    *bool
}

// WithSchedule makes the path's rate, delay, jitter, loss and up/down state
// follow points, repeating every repeat (0: once).
func WithSchedule(repeat time.Duration, points ...SchedulePoint) LinkOption {
	s := &tcpemuv1.LinkSchedule{}
	if repeat > 0 {
		s.Repeat = durationpb.New(repeat)
	}
	for _, pt := range points {
		q := &tcpemuv1.SchedulePoint{At: durationpb.New(pt.At), Ramp: pt.Ramp, RateBps: pt.RateBps, Loss: pt.Loss, Down: pt.Down}
		if pt.Delay != nil {
			q.Delay = durationpb.New(*pt.Delay)
		}
		if pt.Jitter != nil {
			q.Jitter = durationpb.New(*pt.Jitter)
		}
		s.Points = append(s.Points, q)
	}
	return path(fields("schedule"), func(p *tcpemuv1.PathSpec) { p.Schedule = s })
}

// WithTrace makes the path's wire replay a Mahimahi delivery trace: the
// trace file's text (one ms timestamp per line, each an opportunity for
// 1500 bytes), named name. It replaces WithRate.
func WithTrace(name, mahimahi string) LinkOption {
	return path(fields("trace"), func(p *tcpemuv1.PathSpec) {
		p.Trace = &tcpemuv1.DeliveryTrace{Name: name, Mahimahi: mahimahi}
	})
}

// WithQueueSampling makes the bottleneck queue emit a QUEUE_SAMPLE event
// (bytes waiting, sojourn) at most every d.
func WithQueueSampling(d time.Duration) LinkOption {
	return path(fields("queue_sample_interval"), func(p *tcpemuv1.PathSpec) {
		p.QueueSampleInterval = durationpb.New(d)
	})
}

// Event kinds of links that change and of their queues.
const (
	// KindLinkChanged: a link direction's schedule changed its values; A is
	// the rate in bit/s, B the delay in ns (-1: the link is down).
	KindLinkChanged = tcpemuv1.EventKind_EVENT_KIND_LINK_CHANGED
	// KindQueueSample: a link direction's bottleneck queue, sampled; A is
	// the bytes waiting, B the sojourn in ns of the packet the wire took.
	KindQueueSample = tcpemuv1.EventKind_EVENT_KIND_QUEUE_SAMPLE
)
