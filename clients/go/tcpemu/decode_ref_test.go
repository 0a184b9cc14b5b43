package tcpemu

import (
	"time"

	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
)

// eventFromProto converts a generated Event; the decoder above must agree
// with it (decode_test.go).
func eventFromProto(p *tcpemuv1.Event) Event {
	e := Event{
		Time:      time.Duration(p.GetTimeNs()),
		Kind:      p.GetKind(),
		NetworkID: p.GetNetworkId(),
		SessionID: p.GetSessionId(),
		LinkID:    p.GetLinkId(),
		Endpoint:  p.GetEndpoint(),
		Reason:    p.GetReason(),
		OldState:  p.GetOldState(),
		NewState:  p.GetNewState(),
		A:         p.GetA(),
		B:         p.GetB(),
	}
	if s := p.GetSegment(); s != nil {
		e.HasSegment = true
		e.Segment = Segment{
			Seq: s.GetSeq(), Ack: s.GetAck(), RelSeq: s.GetRelSeq(), RelAck: s.GetRelAck(),
			Len: s.GetLen(), Window: s.GetWindow(), Flags: TCPFlag(int32(s.GetFlags())),
			OptMSS: s.GetOptMss(), OptWScale: s.GetOptWscale(), HasOptWScale: s.OptWscale != nil,
			OptSACKPermitted: s.GetOptSackPermitted(), OptSACKBlocks: s.GetOptSackBlocks(),
			OptTimestamp: s.GetOptTimestamp(), SrcPort: s.GetSrcPort(), DstPort: s.GetDstPort(),
			TSVal: s.GetTsVal(), TSEcr: s.GetTsEcr(), HasTS: s.TsVal != nil,
			WindowBytes: s.GetWindowBytes(),
		}
		for _, b := range s.GetSackBlocks() {
			if e.Segment.NumSACK == len(e.Segment.SACK) {
				break
			}
			e.Segment.SACK[e.Segment.NumSACK] = SACKBlock{
				Left: b.GetLeft(), Right: b.GetRight(), RelLeft: b.GetRelLeft(), RelRight: b.GetRelRight(),
			}
			e.Segment.NumSACK++
		}
	}
	if t := p.GetTcb(); t != nil {
		e.HasTCB = true
		e.TCB = TCB{
			State: t.GetState(), ISS: t.GetIss(), IRS: t.GetIrs(),
			SndUna: t.GetSndUna(), SndNxt: t.GetSndNxt(), SndWnd: t.GetSndWnd(),
			RcvNxt: t.GetRcvNxt(), RcvWnd: t.GetRcvWnd(),
			Cwnd: t.GetCwnd(), Ssthresh: t.GetSsthresh(), BytesInFlight: t.GetBytesInFlight(),
			SRTT: time.Duration(t.GetSrttNs()), RTTVar: time.Duration(t.GetRttvarNs()),
			RTO:       time.Duration(t.GetRtoNs()),
			SndWScale: t.GetSndWscale(), RcvWScale: t.GetRcvWscale(),
			TSOK: t.GetTsOk(), SACKOK: t.GetSackOk(), TSRecent: t.GetTsRecent(),
			SACKedBytes: t.GetSackedBytes(), LostBytes: t.GetLostBytes(),
			RetransBytes: t.GetRetransBytes(), Pipe: t.GetPipe(),
			PacingRate: t.GetPacingRate(), CCPhase: t.GetCcPhase(),
			BandwidthEstimate: t.GetBandwidthEstimate(), MinRTT: time.Duration(t.GetMinRttNs()),
		}
	}
	return e
}
