package config

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/qinqing/station/kiosk/tv"
)

// TV is a [[tv]]: a TV whose sessions go into the TV register
// (电视播放节目记录), switched by a relay or HDMI-CEC.
type TV struct {
	// Name identifies the TV in the admin API and kioskctl ("tv1");
	// letters, digits, "-" and "_"; unique among TVs. Required.
	Name string `toml:"name"`
	// Relay names a [[devices.relay]] that powers the TV; used by no other
	// TV. Default "" (none).
	Relay string `toml:"relay"`
	// CEC says whether to switch the TV over HDMI-CEC with cec-client
	// (Debian package cec-utils): true (prefer CEC; a warning when it is
	// missing), false (never), or "auto" (CEC when cec-client finds an
	// adapter). Without CEC the relay is used, else nothing switches and
	// only the register is kept. Default "auto". Read it with CECMode.
	CEC any `toml:"cec"`
	// Curfew is the latest local time the TV may run, "HH:MM" (24-hour,
	// "24:00" for midnight): a session still running then is ended and
	// the TV turned off, journaled as ended by curfew, and no session may
	// start after it that day. "none" disables it. Default "21:00".
	Curfew string `toml:"curfew"`
	// Booth is the [[booth]] id the TV stands at, if any. Default "".
	Booth string `toml:"booth"`
	// Room is where the TV stands, for the register and console
	// ("活动室"). Default "": the booth id.
	Room string `toml:"room"`
	// Programmes are the channels or programmes the kiosk's staff screen
	// offers as buttons when a teacher starts a session ("CCTV-少儿",
	// "新闻联播"); the teacher may type another. At most MaxTVProgrammes,
	// each 1 to tv.MaxProgramme characters, no duplicates. Default none.
	Programmes []string `toml:"programmes"`
}

// MaxTVProgrammes bounds a [[tv]]'s programmes: buttons on a 1024x600
// screen.
const MaxTVProgrammes = 12

// CEC modes returned by TV.CECMode.
const (
	CECAuto = "auto"
	CECOn   = "on"
	CECOff  = "off"
)

// DefaultTVCurfew is the curfew of a [[tv]] that sets none.
const DefaultTVCurfew = "21:00"

// CECMode returns CECOn for true, CECOff for false, CECAuto for "auto" or
// an unset key, and "" for anything else (Validate reports it).
func (t TV) CECMode() string {
	switch v := t.CEC.(type) {
	case nil:
		return CECAuto
	case bool:
		if v {
			return CECOn
		}
		return CECOff
	case string:
		if v == CECAuto {
			return CECAuto
		}
	}
	return ""
}

// CurfewTime returns the parsed curfew: DefaultTVCurfew when unset, zero
// (none) for "none". An invalid curfew gives zero (Validate reports it).
func (t TV) CurfewTime() tv.Curfew {
	s := t.Curfew
	switch s {
	case "":
		s = DefaultTVCurfew
	case "none":
		return 0
	}
	c, _ := tv.ParseCurfew(s)
	return c
}

// Place returns Room, or the booth id when Room is unset.
func (t TV) Place() string {
	if t.Room != "" {
		return t.Room
	}
	return t.Booth
}

// tvs checks the [[tv]] tables: names are ids and unique; a relay exists
// among [[devices.relay]] and serves one TV; cec is a bool or "auto"; the
// curfew parses; a booth exists.
func (v *validator) tvs() {
	relays := map[string]bool{}
	for _, r := range v.c.Devices.Relays {
		relays[r.Name] = true
	}
	booths := map[string]bool{}
	for _, b := range v.c.Booths {
		booths[b.ID] = true
	}
	names, used := map[string]bool{}, map[string]string{}
	for i, t := range v.c.TVs {
		k := fmt.Sprintf("tv[%d]", i)
		switch {
		case t.Name == "":
			v.add(k+".name", "missing; want an id such as \"tv1\"")
		case !idRE.MatchString(t.Name):
			v.add(k+".name", "%q: want 1 to 32 letters, digits, \"-\" or \"_\"", t.Name)
		case names[t.Name]:
			v.add(k+".name", "%q is used by another [[tv]]", t.Name)
		}
		names[t.Name] = true
		if t.Relay != "" {
			switch {
			case !relays[t.Relay]:
				v.add(k+".relay", "no [[devices.relay]] named %q", t.Relay)
			case used[t.Relay] != "":
				v.add(k+".relay", "relay %q already switches tv %q", t.Relay, used[t.Relay])
			default:
				used[t.Relay] = t.Name
			}
		}
		if t.CECMode() == "" {
			v.add(k+".cec", "want true, false or \"auto\", not %v", t.CEC)
		}
		if t.Curfew != "" && t.Curfew != "none" {
			if _, err := tv.ParseCurfew(t.Curfew); err != nil {
				v.add(k+".curfew", "%v (or \"none\")", err)
			}
		}
		if t.Booth != "" && !booths[t.Booth] {
			v.add(k+".booth", "no [[booth]] with id %q", t.Booth)
		}
		v.tvProgrammes(k, t.Programmes)
	}
}

// tvProgrammes checks a [[tv]]'s programmes (key k): how many, each's
// length, duplicates.
func (v *validator) tvProgrammes(k string, ps []string) {
	if len(ps) > MaxTVProgrammes {
		v.add(k+".programmes", "%d programmes: at most %d fit on the kiosk screen", len(ps), MaxTVProgrammes)
	}
	seen := map[string]bool{}
	for _, p := range ps {
		n := utf8.RuneCountInString(strings.TrimSpace(p))
		switch {
		case n == 0:
			v.add(k+".programmes", "an empty programme")
		case n > tv.MaxProgramme:
			v.add(k+".programmes", "%q is longer than %d characters", p, tv.MaxProgramme)
		case seen[strings.TrimSpace(p)]:
			v.add(k+".programmes", "%q is listed twice", p)
		}
		seen[strings.TrimSpace(p)] = true
	}
}
