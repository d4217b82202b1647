package ui

import (
	"context"
	"encoding/json"

	"github.com/qinqing/station/kiosk"
)

// TV message types of the screen's websocket (client -> server), sent by
// the staff screen's TV panel (kiosk.ScreenStaff):
//
//	{"v":1,"type":"tv_start","tv":"tv1","programme":"CCTV-少儿","category":"少儿","class":"三年级1班","headcount":18}
//	{"v":1,"type":"tv_stop","tv":"tv1"}
//
// The teacher is the staff member whose card opened the screen; a
// "teacher" in the message is ignored. The station accepts them only
// while the booth shows a staff screen (else an error, code "denied");
// its outcome (started, stopped, or why not: a technician may not run
// the TV, the session rules, the curfew) comes back as a new staff
// screen with a notice.
const (
	WSTVStart = "tv_start"
	WSTVStop  = "tv_stop"
)

// StaffTV is what the staff screen's TV panel needs from the station
// (kiosk.Station implements it); Opts.Station may implement it. Without
// it, tv_start and tv_stop answer EINVALID.
type StaffTV interface {
	StartTV(ctx context.Context, booth string, r kiosk.TVStart) error
	StopTV(ctx context.Context, booth, tv string) error
}

var _ StaffTV = (*kiosk.Station)(nil)

// wsTVMessage is a tv_start or tv_stop message.
type wsTVMessage struct {
	TV        string `json:"tv"`
	Programme string `json:"programme"`
	Category  string `json:"category"`
	Class     string `json:"class"`
	Headcount int    `json:"headcount"`
}

// wsStaffTV runs a tv_start or tv_stop message (data, already known to be
// JSON of the right version) at booth.
func (s *Server) wsStaffTV(ctx context.Context, booth, typ string, data []byte) error {
	st, ok := s.station.(StaffTV)
	if !ok {
		return kiosk.Errorf(kiosk.EINVALID, "the TV is not run from this screen")
	}
	var m wsTVMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return kiosk.Errorf(kiosk.EINVALID, "bad %s message", typ)
	}
	if typ == WSTVStop {
		return st.StopTV(ctx, booth, m.TV)
	}
	return st.StartTV(ctx, booth, kiosk.TVStart{TV: m.TV, Programme: m.Programme, Category: m.Category,
		Class: m.Class, Headcount: m.Headcount})
}
