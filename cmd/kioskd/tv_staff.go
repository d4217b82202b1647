package main

import (
	"context"
	"strings"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/tv"
)

// tvControl adapts the tv.Service to the station's TV panel (the staff
// screen, kiosk.TVControl), with each TV's configured programmes.
type tvControl struct {
	svc        *tv.Service
	programmes map[string][]string // TV name -> presets
}

var _ kiosk.TVControl = tvControl{}

func newTVControl(svc *tv.Service, tvs []config.TV) tvControl {
	c := tvControl{svc: svc, programmes: map[string][]string{}}
	for _, t := range tvs {
		for _, p := range t.Programmes {
			if p = strings.TrimSpace(p); p != "" {
				c.programmes[t.Name] = append(c.programmes[t.Name], p)
			}
		}
	}
	return c
}

func (c tvControl) TVs() []kiosk.TVState {
	var out []kiosk.TVState
	for _, st := range c.svc.Status() {
		s := kiosk.TVState{Name: st.Name, Room: st.Room, Curfew: st.Curfew, PowerError: st.PowerError != "",
			Programmes: append([]string(nil), c.programmes[st.Name]...)}
		if ses := st.Session; ses != nil {
			s.Running, s.Started = true, ses.Started
			s.Programme, s.Category, s.Class, s.Headcount, s.Teacher = ses.Programme, ses.Category, ses.Class, ses.Headcount, ses.Teacher
		}
		out = append(out, s)
	}
	return out
}

func (c tvControl) StartTV(ctx context.Context, r kiosk.TVStart) error {
	_, err := c.svc.Start(ctx, tv.Request{TV: r.TV, Programme: r.Programme, Category: r.Category, Class: r.Class,
		Headcount: r.Headcount, Teacher: r.Teacher})
	return err
}

func (c tvControl) StopTV(ctx context.Context, name string) error {
	_, err := c.svc.Stop(ctx, name)
	return err
}

// StartTV and StopTV are the staff screen's TV messages (ui.StaffTV).
func (s stationUI) StartTV(ctx context.Context, booth string, r kiosk.TVStart) error {
	return s.m.station.StartTV(ctx, booth, r)
}

func (s stationUI) StopTV(ctx context.Context, booth, name string) error {
	return s.m.station.StopTV(ctx, booth, name)
}
