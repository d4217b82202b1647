package main

import (
	"encoding/json"
	"flag"
	"io"
	"text/tabwriter"

	"github.com/qinqing/station/kiosk"
)

// What several commands share: the --json and --card-format flags, and
// how a listing prints (indented JSON, or a table for people).

// jsonFlag is a define for parse that adds --json ("print JSON") into
// asJSON.
func jsonFlag(asJSON *bool) func(fs *flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		fs.BoolVar(asJSON, "json", false, "print JSON")
	}
}

// writeJSON writes v to w as JSON indented by two spaces, followed by a
// newline: every --json and json export.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newTable returns a writer that aligns tab-separated columns, two spaces
// apart; Flush it after the last row.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// enabledWord is a listing's STATUS column: "enabled" or "disabled".
func enabledWord(enabled bool) string {
	if enabled {
		return "enabled"
	}
	return "disabled"
}

// cardFormat is the --card-format flag: how a card number is written
// (kiosk.ParseCardFormat: hex, 8h10d or reversed; default hex).
type cardFormat string

// define adds --card-format to fs.
func (f *cardFormat) define(fs *flag.FlagSet) {
	fs.StringVar((*string)(f), "card-format", "hex", "how card numbers are written (10-digit ones map to UIDs by it): hex, 8h10d, reversed")
}

// parse returns the format; a usage error naming cmd for an unknown one.
func (f cardFormat) parse(cmd string) (kiosk.CardFormat, error) {
	cf, err := kiosk.ParseCardFormat(string(f))
	if err != nil {
		return "", usageErr("%s: %v", cmd, err)
	}
	return cf, nil
}

// uid returns the UID of the card whose number is written in the format
// (kiosk.ParseCardNumber); a usage error naming cmd for a bad format or
// number.
func (f cardFormat) uid(cmd, number string) (string, error) {
	cf, err := f.parse(cmd)
	if err != nil {
		return "", err
	}
	uid, err := kiosk.ParseCardNumber(number, cf)
	if err != nil {
		return "", usageErr("%s: %s", cmd, kiosk.ErrorMessage(err))
	}
	return uid, nil
}
