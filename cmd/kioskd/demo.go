package main

import (
	"context"
	"fmt"

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
