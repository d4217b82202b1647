package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/qinqing/station/callbridge/sip/sipdemo"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// demoRoster is the -demo roster: three fictional children, two approved
// contacts each, on fictional numbers. The demo trunk answers any number.
var demoRoster = []kiosk.RosterEntry{
	{Child: kiosk.Child{ExternalID: "demo-1", Name: "王小明", Gender: "男", Class: "三年级1班", Status: kiosk.ChildActive},
		Cards: []string{"DE000001"},
		Contacts: []kiosk.Contact{
			{Slot: 1, Name: "王建国", Relation: "父亲", Phone: "+8613800000101", Modes: []kiosk.Mode{kiosk.ModePhone, kiosk.ModeVideo}},
			{Slot: 2, Name: "李秀英", Relation: "母亲", Phone: "+8613800000102", Modes: []kiosk.Mode{kiosk.ModePhone, kiosk.ModeVideo}},
		}},
	{Child: kiosk.Child{ExternalID: "demo-2", Name: "张小红", Gender: "女", Class: "四年级2班", Status: kiosk.ChildActive},
		Cards: []string{"DE000002"},
		Contacts: []kiosk.Contact{
			{Slot: 1, Name: "张伟", Relation: "母亲", Phone: "+8613800000201", Modes: []kiosk.Mode{kiosk.ModePhone, kiosk.ModeVideo}},
			{Slot: 2, Name: "张德福", Relation: "爷爷", Phone: "+8613800000202", Modes: []kiosk.Mode{kiosk.ModePhone}},
		}},
	{Child: kiosk.Child{ExternalID: "demo-3", Name: "刘阳", Gender: "男", Class: "五年级1班", Status: kiosk.ChildActive},
		Cards: []string{"DE000003"},
		Contacts: []kiosk.Contact{
			{Slot: 1, Name: "刘军", Relation: "父亲", Phone: "+8613800000301", Modes: []kiosk.Mode{kiosk.ModePhone}},
			{Slot: 2, Name: "陈桂兰", Relation: "外婆", Phone: "+8613800000302", Modes: []kiosk.Mode{kiosk.ModePhone}},
		}},
}

// seedDemoRoster applies the demo roster; re-applying it changes nothing.
func seedDemoRoster(ctx context.Context, db *sqlite.DB) error {
	if _, err := db.ApplyRoster(ctx, demoRoster, false); err != nil {
		return fmt.Errorf("demo roster: %w", err)
	}
	return nil
}

// demoPeers are the -demo's SIP peers: a trunk standing in for the
// carrier (rings 2 s, answers, plays a tone) and one booth phone per
// booth (registers with digest auth, auto-answers). Both are real SIP user
// agents on loopback.
type demoPeers struct {
	trunk    *sipdemo.Trunk
	trunkURI string
	phones   []*sipdemo.Phone
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

func startDemoTrunk(ctx context.Context, log *slog.Logger) (*demoPeers, error) {
	t, err := sipdemo.NewTrunk(sipdemo.TrunkConfig{Listen: "127.0.0.1:0", RingDelay: 2 * time.Second},
		sipdemo.Opts{Logger: log.With("component", "demo-trunk")})
	if err != nil {
		return nil, fmt.Errorf("demo trunk: %w", err)
	}
	return &demoPeers{trunk: t, trunkURI: t.URI()}, nil
}

// startPhones registers one demo phone per booth extension and keeps the
// registrations fresh.
func (d *demoPeers) startPhones(ctx context.Context, m *Main, log *slog.Logger) error {
	server := m.bridge.Addr("udp")
	for _, e := range m.Config.SIP.Extensions {
		p, err := sipdemo.NewPhone(sipdemo.PhoneConfig{Ext: e.User, Password: e.Password, Server: server,
			Listen: "127.0.0.1:0", Expires: 10 * time.Minute}, sipdemo.Opts{Logger: log.With("component", "demo-phone")})
		if err != nil {
			return fmt.Errorf("demo phone %s: %w", e.User, err)
		}
		d.phones = append(d.phones, p)
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		code, err := p.Register(rctx)
		cancel()
		if err != nil || code != 200 {
			return fmt.Errorf("demo phone %s: register: code %d: %v", e.User, code, err)
		}
	}
	ctx, d.cancel = context.WithCancel(ctx)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTicker(5 * time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for _, p := range d.phones {
					rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					if _, err := p.Register(rctx); err != nil {
						log.Warn("demo phone re-register", "err", err)
					}
					cancel()
				}
			}
		}
	}()
	return nil
}

func (d *demoPeers) close() {
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
	for _, p := range d.phones {
		p.Close()
	}
	d.trunk.Close()
}
