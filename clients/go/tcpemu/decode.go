package tcpemu

// Event batches are decoded straight from the wire into reused Event values
// rather than through generated messages: the stream carries about a million
// events a second, and the generic path allocates three messages per event.
// The field numbers below are those of tcpemu.v1.EventBatch, Event, Segment,
// SackBlock and Tcb; decode_test.go checks this decoder against
// proto.Unmarshal.

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// eventsCodec marshals the WatchEvents request like the default codec and
// decodes its responses into an *eventBatch.
type eventsCodec struct{}

func (eventsCodec) Name() string { return "proto" }

func (eventsCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("tcpemu: cannot marshal %T", v)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (eventsCodec) Unmarshal(data mem.BufferSlice, v any) error {
	b, ok := v.(*eventBatch)
	if !ok {
		return fmt.Errorf("tcpemu: cannot unmarshal into %T", v)
	}
	if len(data) == 1 {
		return b.decode(data[0].ReadOnlyData())
	}
	b.raw = b.raw[:0]
	for _, buf := range data {
		b.raw = append(b.raw, buf.ReadOnlyData()...)
	}
	return b.decode(b.raw)
}

// eventBatch is one decoded EventBatch; its storage is reused from batch to
// batch.
type eventBatch struct {
	events  []Event
	lost    uint64
	raw     []byte
	reasons map[string]string
}

// maxReasons bounds the interned reason strings; the daemon uses a few dozen.
const maxReasons = 256

func newEventBatch() *eventBatch {
	return &eventBatch{reasons: make(map[string]string)}
}

var errTruncated = errors.New("tcpemu: malformed EventBatch")

// varintAt reads the varint at b[i:] and returns it with the index after
// it, or -1 when it is truncated or longer than 64 bits.
func varintAt(b []byte, i int) (uint64, int) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if i >= len(b) {
			return 0, -1
		}
		c := b[i]
		i++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			if shift == 63 && c > 1 {
				return 0, -1
			}
			return v, i
		}
	}
	return 0, -1
}

// field reads the field at b[i:]. For a varint it returns the value and
// the index after it; for a length-delimited field, the payload's length
// in v and the index of the payload; for other wire types, the index after
// the tag.
func field(b []byte, i int) (num protowire.Number, typ protowire.Type, v uint64, next int) {
	tag, j := varintAt(b, i)
	if j < 0 || tag>>3 == 0 || tag>>3 > uint64(protowire.MaxValidNumber) {
		return 0, 0, 0, -1
	}
	num, typ = protowire.Number(tag>>3), protowire.Type(tag&7)
	switch typ {
	case protowire.VarintType:
		v, j = varintAt(b, j)
	case protowire.BytesType:
		v, j = varintAt(b, j)
		if j >= 0 && v > uint64(len(b)-j) {
			j = -1
		}
	}
	return num, typ, v, j
}

// skip returns the index after the value of a field this decoder does not
// read, or -1.
func skip(b []byte, num protowire.Number, typ protowire.Type, v uint64, next int) int {
	switch typ {
	case protowire.VarintType:
		return next
	case protowire.BytesType:
		return next + int(v)
	}
	n := protowire.ConsumeFieldValue(num, typ, b[next:])
	if n < 0 {
		return -1
	}
	return next + n
}

func (b *eventBatch) decode(buf []byte) error {
	clear(b.events)
	b.events = b.events[:0]
	b.lost = 0
	for i := 0; i < len(buf); {
		num, typ, v, next := field(buf, i)
		if next < 0 {
			return errTruncated
		}
		switch {
		case num == 1 && typ == protowire.BytesType:
			b.events = append(b.events, Event{})
			if err := b.decodeEvent(buf[next:next+int(v)], &b.events[len(b.events)-1]); err != nil {
				return err
			}
			i = next + int(v)
		case num == 2 && typ == protowire.VarintType:
			b.lost = v
			i = next
		default:
			if i = skip(buf, num, typ, v, next); i < 0 {
				return errTruncated
			}
		}
	}
	return nil
}

func (b *eventBatch) decodeEvent(buf []byte, e *Event) error {
	for i := 0; i < len(buf); {
		var (
			num  protowire.Number
			typ  protowire.Type
			v    uint64
			next int
		)
		if c := buf[i]; c < 0x80 && c >= 8 && c&7 == 0 {
			num, typ = protowire.Number(c>>3), protowire.VarintType
			v, next = varintAt(buf, i+1)
		} else {
			num, typ, v, next = field(buf, i)
		}
		if next < 0 {
			return errTruncated
		}
		if typ == protowire.VarintType {
			switch num {
			case 1:
				e.Time = time.Duration(int64(v))
			case 2:
				e.Kind = EventKind(int32(v))
			case 3:
				e.NetworkID = uint32(v)
			case 4:
				e.SessionID = uint32(v)
			case 5:
				e.LinkID = uint32(v)
			case 6:
				e.Endpoint = Endpoint(int32(v))
			case 8:
				e.OldState = State(int32(v))
			case 9:
				e.NewState = State(int32(v))
			case 10:
				e.A = int64(v)
			case 11:
				e.B = int64(v)
			}
			i = next
			continue
		}
		if typ == protowire.BytesType {
			msg := buf[next : next+int(v)]
			var err error
			switch num {
			case 7:
				e.Reason = b.intern(msg)
			case 12:
				e.HasSegment = true
				err = decodeSegment(msg, &e.Segment)
			case 13:
				e.HasTCB = true
				err = b.decodeTCB(msg, &e.TCB)
			}
			if err != nil {
				return err
			}
			i = next + int(v)
			continue
		}
		if i = skip(buf, num, typ, v, next); i < 0 {
			return errTruncated
		}
	}
	return nil
}

// intern returns a reason as a string without allocating for the ones seen
// before.
func (b *eventBatch) intern(v []byte) string {
	if s, ok := b.reasons[string(v)]; ok {
		return s
	}
	s := string(v)
	if len(b.reasons) < maxReasons {
		b.reasons[s] = s
	}
	return s
}

func decodeSegment(buf []byte, s *Segment) error {
	for i := 0; i < len(buf); {
		var num protowire.Number
		var v uint64
		if c := buf[i]; c < 0x80 && c >= 8 && c&7 == 0 {
			// A one-byte tag of a varint field: every field here but the
			// SACK blocks.
			num = protowire.Number(c >> 3)
			if v, i = varintAt(buf, i+1); i < 0 {
				return errTruncated
			}
		} else {
			n, typ, val, next := field(buf, i)
			if next < 0 {
				return errTruncated
			}
			if n == 15 && typ == protowire.BytesType {
				// Blocks past the fourth (which TCP cannot carry) are dropped.
				var blk SACKBlock
				if err := decodeSACKBlock(buf[next:next+int(val)], &blk); err != nil {
					return err
				}
				if s.NumSACK < len(s.SACK) {
					s.SACK[s.NumSACK] = blk
					s.NumSACK++
				}
				i = next + int(val)
				continue
			}
			if typ != protowire.VarintType {
				if i = skip(buf, n, typ, val, next); i < 0 {
					return errTruncated
				}
				continue
			}
			num, v, i = n, val, next
		}
		switch num {
		case 1:
			s.Seq = uint32(v)
		case 2:
			s.Ack = uint32(v)
		case 3:
			s.RelSeq = uint32(v)
		case 4:
			s.RelAck = uint32(v)
		case 5:
			s.Len = uint32(v)
		case 6:
			s.Window = uint32(v)
		case 7:
			s.Flags = TCPFlag(int32(uint32(v)))
		case 8:
			s.OptMSS = uint32(v)
		case 9:
			s.OptWScale, s.HasOptWScale = uint32(v), true
		case 10:
			s.OptSACKPermitted = v != 0
		case 11:
			s.OptSACKBlocks = uint32(v)
		case 12:
			s.OptTimestamp = v != 0
		case 13:
			s.SrcPort = uint32(v)
		case 14:
			s.DstPort = uint32(v)
		case 16:
			s.TSVal, s.HasTS = uint32(v), true
		case 17:
			s.TSEcr = uint32(v)
		case 18:
			s.WindowBytes = uint32(v)
		}
	}
	return nil
}

func decodeSACKBlock(buf []byte, b *SACKBlock) error {
	for i := 0; i < len(buf); {
		num, typ, v, next := field(buf, i)
		if next < 0 {
			return errTruncated
		}
		if typ != protowire.VarintType {
			if i = skip(buf, num, typ, v, next); i < 0 {
				return errTruncated
			}
			continue
		}
		switch num {
		case 1:
			b.Left = uint32(v)
		case 2:
			b.Right = uint32(v)
		case 3:
			b.RelLeft = uint32(v)
		case 4:
			b.RelRight = uint32(v)
		}
		i = next
	}
	return nil
}

func (b *eventBatch) decodeTCB(buf []byte, t *TCB) error {
	for i := 0; i < len(buf); {
		var num protowire.Number
		var v uint64
		if c := buf[i]; c < 0x80 && c >= 8 && c&7 == 0 {
			// A one-byte tag of a varint field: every field up to 15.
			num = protowire.Number(c >> 3)
			if v, i = varintAt(buf, i+1); i < 0 {
				return errTruncated
			}
		} else {
			n, typ, val, next := field(buf, i)
			if next < 0 {
				return errTruncated
			}
			if typ != protowire.VarintType {
				if i = skip(buf, n, typ, val, next); i < 0 {
					return errTruncated
				}
				continue
			}
			num, v, i = n, val, next
		}
		switch num {
		case 1:
			t.State = State(int32(v))
		case 2:
			t.ISS = uint32(v)
		case 3:
			t.IRS = uint32(v)
		case 4:
			t.SndUna = uint32(v)
		case 5:
			t.SndNxt = uint32(v)
		case 6:
			t.SndWnd = uint32(v)
		case 7:
			t.RcvNxt = uint32(v)
		case 8:
			t.RcvWnd = uint32(v)
		case 9:
			t.Cwnd = uint32(v)
		case 10:
			t.Ssthresh = uint32(v)
		case 11:
			t.BytesInFlight = uint32(v)
		case 12:
			t.SRTT = time.Duration(int64(v))
		case 13:
			t.RTTVar = time.Duration(int64(v))
		case 14:
			t.RTO = time.Duration(int64(v))
		case 15:
			t.SndWScale = uint32(v)
		case 16:
			t.RcvWScale = uint32(v)
		case 17:
			t.TSOK = v != 0
		case 18:
			t.SACKOK = v != 0
		case 19:
			t.TSRecent = uint32(v)
		case 20:
			t.SACKedBytes = uint32(v)
		case 21:
			t.LostBytes = uint32(v)
		case 22:
			t.RetransBytes = uint32(v)
		case 23:
			t.Pipe = uint32(v)
		case 24:
			t.PacingRate = v
		case 25:
			t.CCPhase = CCPhase(int32(v))
		case 26:
			t.BandwidthEstimate = v
		case 27:
			t.MinRTT = time.Duration(int64(v))
		}
	}
	return nil
}
