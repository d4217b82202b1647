package kiosk

// Reason is the policy's reason code for a decision. The ledger keeps it
// for denied attempts and the screen shows it in a child's words (Words).
type Reason string

const (
	ReasonOK             Reason = "ok"
	ReasonHelp           Reason = "help"             // help or emergency call, always allowed
	ReasonCardUnknown    Reason = "card_unknown"     // no child has this card
	ReasonCardDisabled   Reason = "card_disabled"    // the card was reported lost
	ReasonChildInactive  Reason = "child_inactive"   // the child left the school
	ReasonNotApproved    Reason = "not_approved"     // number or slot is not an approved contact
	ReasonModeNotAllowed Reason = "mode_not_allowed" // contact not approved for phone/video
	ReasonClosed         Reason = "closed"           // outside opening hours or a closure
	ReasonQuotaMinutes   Reason = "quota_minutes"    // weekly minutes used up
	ReasonQuotaCalls     Reason = "quota_calls"      // weekly calls used up
	ReasonCallActive     Reason = "call_active"      // the child is already in a call
	ReasonLineBusy       Reason = "line_busy"        // every line busy: queued
	ReasonNotIdentified  Reason = "not_identified"   // handset dialled without a card tap
	ReasonBoothBusy      Reason = "booth_busy"       // the booth is in a call
	ReasonDeviceFault    Reason = "device_fault"     // the booth cannot call now
	ReasonParentOffline  Reason = "parent_offline"   // video: the parent's page is not open
)

// Words is what the screen says for a reason, in words a child of 6 to 15
// understands.
type Words struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

var reasonWords = map[Reason]Words{
	ReasonOK:             {"可以打电话了", "You can call now"},
	ReasonHelp:           {"正在为你接通老师", "Calling your teacher for help"},
	ReasonCardUnknown:    {"这张卡还不认识，请找老师", "We don't know this card. Please see your teacher"},
	ReasonCardDisabled:   {"这张卡已经停用，请找老师", "This card is switched off. Please see your teacher"},
	ReasonChildInactive:  {"请找老师帮忙", "Please see your teacher"},
	ReasonNotApproved:    {"这个号码还没有登记，请找老师", "This number is not on your list. Please see your teacher"},
	ReasonModeNotAllowed: {"这位家人还不能用这种方式通话", "This family member can't take this kind of call yet"},
	ReasonClosed:         {"现在不是开放时间", "The phone room is closed now"},
	ReasonQuotaMinutes:   {"这周的通话时间用完了，下周一再来吧", "Your call time for this week is used up. Come back on Monday"},
	ReasonQuotaCalls:     {"这周的通话次数用完了，下周一再来吧", "Your calls for this week are used up. Come back on Monday"},
	ReasonCallActive:     {"你正在通话中", "You are already on a call"},
	ReasonLineBusy:       {"电话线路忙，请稍等，马上轮到你", "The line is busy. Please wait, your turn is coming"},
	ReasonNotIdentified:  {"请先刷卡", "Please tap your card first"},
	ReasonBoothBusy:      {"这台电话正在使用", "This phone is in use"},
	ReasonDeviceFault:    {"这台电话暂时不能用，请用另一台", "This phone is not working. Please use another one"},
	ReasonParentOffline:  {"家人现在不在线，可以打电话试试", "Your family member is not online now. Try a phone call"},
}

// Words returns the child-facing words for r; unknown reasons get a
// generic "please see your teacher".
func (r Reason) Words() Words {
	if w, ok := reasonWords[r]; ok {
		return w
	}
	return Words{"请找老师帮忙", "Please see your teacher"}
}
