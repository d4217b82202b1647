package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// SettingsStore is what the Settings page needs beside Store: the
// console's overrides of the config file's policy settings; kiosk/sqlite's
// *DB implements it. A Store that does not implement it gets 501 on the
// page.
type SettingsStore interface {
	// Settings returns the overrides, ordered by key.
	Settings(ctx context.Context) ([]sqlite.Setting, error)
	// SetSettings stores and journals changes in one transaction (all or
	// none); EINVALID for a bad key or value.
	SetSettings(ctx context.Context, actor string, changes []sqlite.SettingChange) (int, error)
}

// SettingsOpts configures the Settings page (Opts.Settings). The zero
// value shows the built-in defaults as the file's values and applies
// changes nowhere.
type SettingsOpts struct {
	// File is the policy the config file gives (config.Config.Policy),
	// before the console's overrides; its time zone and closures are shown,
	// not edited.
	File kiosk.Policy
	// Apply, if set, is called with the new effective policy after each
	// saved change (kioskd: kiosk.Station.SetPolicy), so that it applies
	// at once without a restart.
	Apply func(ctx context.Context, p kiosk.Policy)
	// Reserved are numbers the help code must not be: the booth phones'
	// SIP users (a booth dialling another booth is not help).
	Reserved []string
}

// Limits of the settings, as the config file's (config.Validate).
const (
	maxCallLimit  = time.Hour
	maxHelpLimit  = 2 * time.Hour
	maxQuotaMins  = 7 * 24 * 60
	maxQuotaCalls = 1000
)

// settingDef is one editable setting: its key (named after the config
// file's), its words, and how it reads from and writes to a policy. get
// returns the canonical text form, which is what the store keeps, the
// form shows and the journal records; set parses a value typed in the
// console (or stored) into p, with an error in the user's words.
type settingDef struct {
	key, group, label, hint string
	get                     func(p kiosk.Policy) string
	set                     func(p *kiosk.Policy, v string) error
}

var weekdays = []struct {
	day        time.Weekday
	key, words string
}{
	{time.Monday, "mon", "周一 Mon"}, {time.Tuesday, "tue", "周二 Tue"}, {time.Wednesday, "wed", "周三 Wed"},
	{time.Thursday, "thu", "周四 Thu"}, {time.Friday, "fri", "周五 Fri"}, {time.Saturday, "sat", "周六 Sat"},
	{time.Sunday, "sun", "周日 Sun"},
}

// settingDefs lists the settings in page order; keys are stable (stored).
var settingDefs = func() []settingDef {
	var defs []settingDef
	for i, wd := range weekdays {
		hint := "" // said once, on Monday
		if i == 0 {
			hint = "如 16:30-18:00，多段用逗号分隔，可跨午夜（20:00-01:00）；留空为不开放 e.g. 16:30-18:00,19:00-20:00; empty: closed"
		}
		defs = append(defs, settingDef{key: "hours." + wd.key, group: "开放时间 Opening hours", label: wd.words, hint: hint,
			get: func(p kiosk.Policy) string { return dayWindows(p.Hours, wd.day) },
			set: func(p *kiosk.Policy, v string) error { return setDayWindows(&p.Hours, wd.day, wd.key, v) }})
	}
	return append(defs,
		settingDef{key: "limits.call", group: "通话限制 Limits", label: "每次通话时长 Call limit",
			hint: "如 5m、90s；最长 1h e.g. 5m; at most 1h",
			get:  func(p kiosk.Policy) string { return shortDuration(p.DefaultLimit()) },
			set: func(p *kiosk.Policy, v string) (err error) {
				p.Limit, err = parseLimit(v, maxCallLimit)
				return err
			}},
		settingDef{key: "limits.warnings", group: "通话限制 Limits", label: "结束前提醒 Warnings before the end",
			hint: "如 2m, 1m；须短于通话时长；留空为不提醒 e.g. 2m, 1m; empty: none",
			get:  func(p kiosk.Policy) string { return joinDurations(warnings(p)) },
			set: func(p *kiosk.Policy, v string) (err error) {
				p.Warnings, err = parseWarnings(v)
				return err
			}},
		settingDef{key: "help.limit", group: "通话限制 Limits", label: "求助通话时长 Help call limit",
			hint: "最长 2h at most 2h",
			get:  func(p kiosk.Policy) string { return shortDuration(p.HelpCallLimit()) },
			set: func(p *kiosk.Policy, v string) (err error) {
				p.HelpLimit, err = parseLimit(v, maxHelpLimit)
				return err
			}},
		settingDef{key: "limits.quota_minutes", group: "每周配额 Weekly quota", label: "每周分钟数 Minutes a week",
			hint: "每个孩子，周一 0 点起算；0 为不限 per child, from Monday 00:00; 0: unlimited",
			get:  func(p kiosk.Policy) string { return strconv.Itoa(p.Quota.Minutes) },
			set: func(p *kiosk.Policy, v string) (err error) {
				p.Quota.Minutes, err = parseCount(v, maxQuotaMins)
				return err
			}},
		settingDef{key: "limits.quota_calls", group: "每周配额 Weekly quota", label: "每周通话次数 Calls a week",
			hint: "0 为不限 0: unlimited",
			get:  func(p kiosk.Policy) string { return strconv.Itoa(p.Quota.Calls) },
			set: func(p *kiosk.Policy, v string) (err error) {
				p.Quota.Calls, err = parseCount(v, maxQuotaCalls)
				return err
			}},
		settingDef{key: "help.code", group: "求助 Help", label: "求助短号 Help code",
			hint: "话机拨此号求助；1 至 6 位 0-9 * #，不能是 1-5 the booth phone dials it for help",
			get:  func(p kiosk.Policy) string { return p.HelpCode },
			set:  setHelpCode},
		settingDef{key: "help.numbers", group: "求助 Help", label: "求助电话 Help numbers",
			hint: "按拨打顺序，第一个接求助短号和求助按钮；逗号分隔 in dialling order, the first answers the help code",
			get:  func(p kiosk.Policy) string { return strings.Join(p.HelpNumbers, ", ") },
			set:  setHelpNumbers},
	)
}()

func settingDefByKey(key string) (settingDef, bool) {
	i := slices.IndexFunc(settingDefs, func(d settingDef) bool { return d.key == key })
	if i < 0 {
		return settingDef{}, false
	}
	return settingDefs[i], true
}

// SettingProblem is a setting that does not parse or does not fit the
// others: its key, its label and what is wrong, in the user's words.
type SettingProblem struct {
	Key, Label, Message string
}

func (p SettingProblem) String() string { return p.Label + "：" + p.Message }

// ApplySettings returns base with the console's overrides applied, keyed
// as the Settings page stores them (sqlite.Setting; "hours.mon",
// "limits.call", "help.numbers"...), and a problem for each override
// that does not parse (skipped, base's value kept) or has an unknown key
// (ignored). Cross-setting rules (CheckPolicy) are not applied: kioskd
// starts with what parses. The time zone and closures are base's.
func ApplySettings(base kiosk.Policy, overrides []sqlite.Setting) (kiosk.Policy, []SettingProblem) {
	p := base
	var probs []SettingProblem
	for _, o := range overrides {
		d, ok := settingDefByKey(o.Key)
		if !ok {
			probs = append(probs, SettingProblem{Key: o.Key, Label: o.Key, Message: "未知的设置 unknown setting, ignored"})
			continue
		}
		q := p // set writes only q's own fields, never the slices' elements
		if err := d.set(&q, o.Value); err != nil {
			probs = append(probs, SettingProblem{Key: d.key, Label: d.label, Message: err.Error()})
			continue
		}
		p = q
	}
	return p, probs
}

// CheckPolicy reports what is wrong with an effective policy as a whole,
// as config.Validate would for the file: no opening window in the week,
// windows that overlap (kiosk.CheckOverlap: a day's window crossing
// midnight into the next day's), a warning not shorter than the call limit, a help code that is a booth
// phone's number (reserved) or no help number.
func CheckPolicy(p kiosk.Policy, reserved []string) []SettingProblem {
	var probs []SettingProblem
	add := func(key, format string, args ...any) {
		d, _ := settingDefByKey(key)
		probs = append(probs, SettingProblem{Key: key, Label: d.label, Message: fmt.Sprintf(format, args...)})
	}
	if len(p.Hours.Windows) == 0 {
		add("hours.mon", "一周都不开放，孩子将无法通话（求助仍可） no opening window in the week: calls would never be allowed")
	}
	if err := kiosk.CheckOverlap(p.Hours.Windows); err != nil {
		// Name the day of the later window, in page order (Monday first).
		day := "mon"
		for _, wd := range weekdays {
			if kiosk.CheckOverlap(windowsThrough(p.Hours.Windows, wd.day)) != nil {
				day = wd.key
				break
			}
		}
		add("hours."+day, "时段重叠 opening windows overlap: %v", err)
	}
	limit := p.DefaultLimit()
	for _, w := range warnings(p) {
		if w >= limit {
			add("limits.warnings", "提醒 %s 不短于通话时长 %s warning %s is not shorter than the call limit %s",
				shortDuration(w), shortDuration(limit), shortDuration(w), shortDuration(limit))
		}
	}
	if p.HelpCode != "" && slices.Contains(reserved, p.HelpCode) {
		add("help.code", "%q 是话机分机号 is a booth phone's number", p.HelpCode)
	}
	if len(p.HelpNumbers) == 0 {
		add("help.numbers", "至少需要一个求助电话 at least one help number is needed")
	}
	return probs
}

// windowsThrough returns the windows of ws on Monday to last, in the
// page's order (Monday first, Sunday last).
func windowsThrough(ws []kiosk.Window, last time.Weekday) []kiosk.Window {
	var out []kiosk.Window
	for _, w := range ws {
		if (w.Day+6)%7 <= (last+6)%7 {
			out = append(out, w)
		}
	}
	return out
}

// dayWindows is the canonical form of day's windows: "16:30-18:00" ranges
// in start order, comma-separated; "" when closed all day.
func dayWindows(h kiosk.Hours, day time.Weekday) string {
	var ws []kiosk.Window
	for _, w := range h.Windows {
		if w.Day == day {
			ws = append(ws, w)
		}
	}
	slices.SortFunc(ws, func(a, b kiosk.Window) int { return int(a.Start - b.Start) })
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.Start.String() + "-" + w.End.String()
	}
	return strings.Join(parts, ",")
}

// setDayWindows replaces day's windows by v, ranges in kiosk.ParseWindow's
// form without the days ("16:30-18:00,19:00-20:00"); full-width commas and
// colons, spaces and "~" are accepted. An empty v closes the day.
func setDayWindows(h *kiosk.Hours, day time.Weekday, name, v string) error {
	v = strings.NewReplacer("，", ",", "、", ",", "：", ":", "~", "-", "～", "-", "－", "-", "—", "-", " ", "", "\t", "", "\u3000", "").Replace(v)
	v = strings.Trim(v, ",")
	var ws []kiosk.Window
	if v != "" {
		var err error
		var oe *kiosk.OverlapError
		if ws, err = kiosk.ParseWindow(name + " " + v); errors.As(err, &oe) {
			return fmt.Errorf("时段重叠 opening windows overlap: %s-%s, %s-%s", oe.A.Start, oe.A.End, oe.B.Start, oe.B.End)
		} else if err != nil {
			return fmt.Errorf("时段写法不对 want HH:MM-HH:MM[,HH:MM-HH:MM]: %w", err)
		}
	}
	// A new slice: h.Windows may be shared with the policy in use.
	out := make([]kiosk.Window, 0, len(h.Windows)+len(ws))
	for _, w := range h.Windows {
		if w.Day != day {
			out = append(out, w)
		}
	}
	h.Windows = append(out, ws...)
	return nil
}

// parseDuration reads a Go duration ("5m", "90s", "1m30s"), also with
// Chinese units (分钟, 秒) or a bare number of minutes ("5").
func parseDuration(v string) (time.Duration, error) {
	v = strings.ReplaceAll(strings.TrimSpace(v), " ", "")
	v = strings.NewReplacer("分钟", "m", "分", "m", "秒", "s", "小时", "h").Replace(v)
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Minute, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q 不是时长，如 5m 或 90s not a duration such as 5m or 90s", v)
	}
	return d, nil
}

func parseLimit(v string, max time.Duration) (time.Duration, error) {
	d, err := parseDuration(v)
	switch {
	case err != nil:
		return 0, err
	case d <= 0:
		return 0, fmt.Errorf("须大于 0 must be positive")
	case d > max:
		return 0, fmt.Errorf("%s 超过上限 %s is longer than the maximum %s", shortDuration(d), shortDuration(max), shortDuration(max))
	}
	return d, nil
}

// parseWarnings reads comma-separated durations, each positive and
// named once; "" is no warnings (an empty, non-nil slice: nil would mean
// kiosk.DefaultWarnings). Longest first.
func parseWarnings(v string) ([]time.Duration, error) {
	out := []time.Duration{}
	for _, f := range splitList(v) {
		d, err := parseDuration(f)
		switch {
		case err != nil:
			return nil, err
		case d <= 0:
			return nil, fmt.Errorf("提醒须大于 0 a warning must be positive")
		case slices.Contains(out, d):
			return nil, fmt.Errorf("%s 重复 is listed twice", shortDuration(d))
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b time.Duration) int { return int(b - a) })
	return out, nil
}

func parseCount(v string, max int) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q 不是整数 not a whole number", strings.TrimSpace(v))
	case n < 0:
		return 0, fmt.Errorf("不能为负数（0 为不限） must not be negative (0 means unlimited)")
	case n > max:
		return 0, fmt.Errorf("%d 超过上限 %d is more than the maximum %d", n, max, max)
	}
	return n, nil
}

// setHelpCode checks the code as config.Validate does: 1 to 6 of 0-9, *
// and #, and not a speed-dial digit 1..5.
func setHelpCode(p *kiosk.Policy, v string) error {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return fmt.Errorf("不能为空，如 0 empty; want a short code such as 0")
	case len(v) > 6 || strings.Trim(v, "0123456789*#") != "":
		return fmt.Errorf("%q 须为 1 至 6 位 0-9 * # want 1 to 6 of 0-9, * and #", v)
	case len(v) == 1 && v >= "1" && v <= "5":
		return fmt.Errorf("%q 是快速拨号键（1-5 拨孩子的亲人） is a speed-dial digit", v)
	}
	p.HelpCode = v
	return nil
}

// setHelpNumbers reads the help numbers in dialling order, checked as
// config's help numbers and the roster's phones (kiosk.ParseHelpNumber): a
// short service number (12355, 110) or a mobile, landline with area code
// or international number; separators are dropped, duplicates (also
// "13800000001" and "+8613800000001") refused, at least one.
func setHelpNumbers(p *kiosk.Policy, v string) error {
	var out, seen []string
	for _, f := range splitList(v) {
		n, err := kiosk.ParseHelpNumber(f)
		if err != nil {
			return fmt.Errorf("%q 不是有效的电话号码 not a valid number: %s", f, kiosk.ErrorMessage(err))
		}
		same := n
		if e, err := kiosk.ParsePhone(n); err == nil {
			same = e
		}
		if slices.Contains(seen, same) {
			return fmt.Errorf("%q 重复 is listed twice", f)
		}
		out, seen = append(out, n), append(seen, same)
	}
	if len(out) == 0 {
		return fmt.Errorf("至少需要一个求助电话 at least one help number is needed")
	}
	p.HelpNumbers = out
	return nil
}

// splitList splits on commas (also full-width), semicolons, 、 and line
// breaks, dropping empty items.
func splitList(v string) []string {
	f := strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == '，' || r == ';' || r == '；' || r == '、' || r == '\n' || r == '\r'
	})
	out := f[:0]
	for _, s := range f {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// warnings are p's effective warnings: kiosk.DefaultWarnings when nil.
func warnings(p kiosk.Policy) []time.Duration {
	if p.Warnings == nil {
		return kiosk.DefaultWarnings
	}
	return p.Warnings
}

func joinDurations(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = shortDuration(d)
	}
	return strings.Join(parts, ", ")
}

// shortDuration writes d without zero units: "5m", "1h", "1m30s", "90ms".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// --- the page

// settingRow is one setting as the page shows it.
type settingRow struct {
	Key, Group, Label, Hint string
	// Value is the effective value, or what was typed after a refused
	// save; Shown is the effective value in words; File the file's.
	Value, Shown, File string
	// Console: the value is the console's override, set By at At.
	Console   bool
	By, At    string
	Reset     bool // the reset box was ticked (refused save)
	Problem   string
	GroupHead bool // first row of its group
}

type settingsData struct {
	Rows      []settingRow
	CanEdit   bool
	Problems  []string
	Message   string
	Zone      string
	Closures  []string
	Overrides int
}

// settingsPage serves /console/settings; mu orders saves, so the policy
// applied last is the one stored last.
type settingsPage struct {
	c    *Console
	opts SettingsOpts
	mu   sync.Mutex
}

func init() {
	pageNames = append(pageNames, "settings")
}

// settingsRoutes lists the Settings page's routes; New appends them. Who
// may use them is decided in the handlers: managers change; principals
// and technicians (devices and config) read, and a save by them is told
// so; inspectors get 403.
func (c *Console) settingsRoutes(opts SettingsOpts) []route {
	sp := &settingsPage{c: c, opts: opts}
	return []route{
		{"GET", "/console/settings", anyone, false, sp.get},
		{"POST", "/console/settings", anyone, false, sp.post},
	}
}

func (sp *settingsPage) store(w http.ResponseWriter, r *http.Request, s *kiosk.Session) (SettingsStore, bool) {
	st, ok := sp.c.store.(SettingsStore)
	if !ok {
		sp.c.errorPage(w, r, s, http.StatusNotImplemented, "设置不可用 Settings not available")
	}
	return st, ok
}

// load returns the stored overrides by key, the effective policy and the
// stored overrides that do not parse (skipped: the file's value applies).
func (sp *settingsPage) load(ctx context.Context, st SettingsStore) (map[string]sqlite.Setting, kiosk.Policy, []SettingProblem, error) {
	list, err := st.Settings(ctx)
	if err != nil {
		return nil, kiosk.Policy{}, nil, err
	}
	byKey := make(map[string]sqlite.Setting, len(list))
	for _, o := range list {
		byKey[o.Key] = o
	}
	eff, skipped := ApplySettings(sp.opts.File, list)
	return byKey, eff, skipped, nil
}

func (sp *settingsPage) get(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	if s.User.Role == kiosk.RoleInspector {
		sp.c.errorPage(w, r, s, http.StatusForbidden, "无权访问 Forbidden: 您的角色不能查看此页面。")
		return
	}
	st, ok := sp.store(w, r, s)
	if !ok {
		return
	}
	over, eff, skipped, err := sp.load(r.Context(), st)
	if err != nil {
		sp.c.internal(w, r, "settings", err)
		return
	}
	sp.render(w, r, s, http.StatusOK, sp.data(s, over, eff, nil, nil, "", skipped...))
}

// post saves the form (managers only): for each setting, its field (the
// new value; a field left out is unchanged) or reset.KEY=1 (back to the
// file's value). Every problem is listed and nothing is saved when there
// is one (400); otherwise the changes are stored and journaled, the new
// policy applied (SettingsOpts.Apply) and the page shown with what was
// saved.
func (sp *settingsPage) post(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	switch s.User.Role {
	case kiosk.RoleManager:
	case kiosk.RoleInspector:
		sp.c.errorPage(w, r, s, http.StatusForbidden, "无权访问 Forbidden: 您的角色不能查看此页面。")
		return
	default:
		sp.c.errorPage(w, r, s, http.StatusForbidden, "您可以查看设置，但不能修改；只有管理员可以修改设置。 You may view the settings but not change them: managers only.")
		return
	}
	st, ok := sp.store(w, r, s)
	if !ok {
		return
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	ctx := r.Context()
	over, eff, _, err := sp.load(ctx, st)
	if err != nil {
		sp.c.internal(w, r, "settings", err)
		return
	}
	typed := map[string]string{}
	resets := map[string]bool{}
	next := make([]sqlite.Setting, 0, len(over))
	for _, o := range over {
		next = append(next, o)
	}
	slices.SortFunc(next, func(a, b sqlite.Setting) int { return strings.Compare(a.Key, b.Key) })
	var probs []SettingProblem
	for _, d := range settingDefs {
		if r.PostFormValue("reset."+d.key) == "1" {
			resets[d.key] = true
			next = slices.DeleteFunc(next, func(o sqlite.Setting) bool { return o.Key == d.key })
			continue
		}
		v, present := r.PostForm[d.key]
		if !present {
			continue
		}
		typed[d.key] = v[0]
		q := eff
		if err := d.set(&q, v[0]); err != nil {
			probs = append(probs, SettingProblem{Key: d.key, Label: d.label, Message: err.Error()})
			continue
		}
		switch val := d.get(q); {
		case val == d.get(sp.opts.File):
			// Back to the file's value: clear the override, if any,
			// rather than store one that repeats the file.
			next = slices.DeleteFunc(next, func(o sqlite.Setting) bool { return o.Key == d.key })
		case val != d.get(eff):
			next = slices.DeleteFunc(next, func(o sqlite.Setting) bool { return o.Key == d.key })
			next = append(next, sqlite.Setting{Key: d.key, Value: val})
		}
	}
	var np kiosk.Policy
	if len(probs) == 0 {
		var skipped []SettingProblem
		np, skipped = ApplySettings(sp.opts.File, next)
		probs = append(probs, skipped...)
		probs = append(probs, CheckPolicy(np, sp.opts.Reserved)...)
	}
	if len(probs) > 0 {
		sp.render(w, r, s, http.StatusBadRequest, sp.data(s, over, eff, typed, resets, "", probs...))
		return
	}
	var changes []sqlite.SettingChange
	for _, d := range settingDefs {
		i := slices.IndexFunc(next, func(o sqlite.Setting) bool { return o.Key == d.key })
		old, had := over[d.key]
		switch {
		case i < 0 && had:
			changes = append(changes, sqlite.SettingChange{Key: d.key, Clear: true, Old: d.get(eff), New: d.get(np)})
		case i >= 0 && (!had || old.Value != next[i].Value):
			changes = append(changes, sqlite.SettingChange{Key: d.key, Value: next[i].Value, Old: d.get(eff), New: d.get(np)})
		}
	}
	n, err := st.SetSettings(ctx, s.User.Username, changes)
	if kiosk.ErrorCode(err) == kiosk.EINVALID {
		sp.c.errorPage(w, r, s, http.StatusBadRequest, kiosk.ErrorMessage(err))
		return
	} else if err != nil {
		sp.c.internal(w, r, "save settings", err)
		return
	}
	msg := "没有修改。 Nothing changed."
	if n > 0 {
		if sp.opts.Apply != nil {
			sp.opts.Apply(context.WithoutCancel(ctx), np)
		}
		sp.c.log.Info("settings saved", "changes", n)
		msg = fmt.Sprintf("已保存 %d 项，立即生效。 Saved %d change(s); they apply now.", n, n)
	}
	over, eff, skipped, err := sp.load(ctx, st)
	if err != nil {
		sp.c.internal(w, r, "settings", err)
		return
	}
	sp.render(w, r, s, http.StatusOK, sp.data(s, over, eff, nil, nil, msg, skipped...))
}

// data builds the page: every setting's effective value and source; after
// a refused save, the typed values, ticked resets and problems.
func (sp *settingsPage) data(s *kiosk.Session, over map[string]sqlite.Setting, eff kiosk.Policy,
	typed map[string]string, resets map[string]bool, msg string, probs ...SettingProblem) settingsData {
	d := settingsData{CanEdit: s.User.Role == kiosk.RoleManager, Message: msg, Zone: sp.opts.File.Hours.Location().String(),
		Overrides: len(over)}
	for _, p := range probs {
		d.Problems = append(d.Problems, p.String())
	}
	group := ""
	for _, def := range settingDefs {
		row := settingRow{Key: def.key, Group: def.group, Label: def.label, Hint: def.hint,
			Value: def.get(eff), File: shownSetting(def.key, def.get(sp.opts.File)), GroupHead: def.group != group,
			Reset: resets[def.key]}
		group = def.group
		row.Shown = shownSetting(def.key, row.Value)
		if o, ok := over[def.key]; ok {
			row.Console, row.By, row.At = true, o.By, o.At.In(sp.c.loc).Format("2006-01-02 15:04")
		}
		if v, ok := typed[def.key]; ok {
			row.Value = v
		}
		for _, p := range probs {
			if p.Key == def.key {
				row.Problem = p.Message
			}
		}
		d.Rows = append(d.Rows, row)
	}
	for _, c := range sp.opts.File.Hours.Closures {
		cl := c.From.In(sp.opts.File.Hours.Location()).Format("2006-01-02") + " 至 " +
			c.To.In(sp.opts.File.Hours.Location()).Add(-time.Nanosecond).Format("2006-01-02")
		if c.Note != "" {
			cl += " " + c.Note
		}
		d.Closures = append(d.Closures, cl)
	}
	return d
}

// shownSetting is a setting's canonical value in words for the table.
func shownSetting(key, v string) string {
	switch {
	case strings.HasPrefix(key, "hours.") && v == "":
		return "不开放 closed"
	case key == "limits.warnings" && v == "":
		return "不提醒 none"
	case strings.HasPrefix(key, "limits.quota_") && v == "0":
		return "不限 unlimited"
	}
	return v
}

func (sp *settingsPage) render(w http.ResponseWriter, r *http.Request, s *kiosk.Session, status int, d settingsData) {
	sp.c.render(w, r, s, status, "settings", settingsTitle, false, d)
}

// settingsTitle is the page's title; base.html marks the nav link active
// by it.
const settingsTitle = "设置 Settings"
