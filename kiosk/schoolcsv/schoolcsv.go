// Package schoolcsv holds what the parsers of the school's spreadsheet
// files share: decoding the bytes Excel exports, reading CSV records with
// the line of every field, and reporting problems by line and column.
//
// Files are CSV as in RFC 4180 (quoted fields may span lines), in one of
// the encodings Excel writes: UTF-8 with a byte order mark ("CSV UTF-8"),
// UTF-8 without one, or GB18030 (what Excel on Chinese Windows writes for
// "CSV"). UTF-16 ("Unicode text") is refused with a hint. The first
// non-blank record is a header row; rows whose fields are all blank are
// skipped. Callers (such as rostercsv and books) give the columns their
// meaning.
package schoolcsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/qinqing/station/kiosk"
)

// Decode returns the text of a file: UTF-8 (a leading byte order mark is
// dropped) or, when the bytes are not valid UTF-8, GB18030 decoded to
// UTF-8. It returns an EINVALID *kiosk.Error for UTF-16 text (either byte
// order mark), for a UTF-8 byte order mark followed by invalid UTF-8, and
// for bytes that are neither UTF-8 nor GB18030. Messages do not name the
// file: callers prefix them with what the file is.
func Decode(b []byte) (string, error) {
	if bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
		b = b[3:]
		if !utf8.Valid(b) {
			return "", kiosk.Errorf(kiosk.EINVALID, "starts with a UTF-8 byte order mark but is not valid UTF-8")
		}
		return string(b), nil
	}
	if bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF}) {
		return "", kiosk.Errorf(kiosk.EINVALID, "UTF-16 text: in Excel, save as \"CSV UTF-8\" or \"CSV\"")
	}
	if utf8.Valid(b) {
		return string(b), nil
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	if err != nil {
		return "", kiosk.Errorf(kiosk.EINVALID, "neither UTF-8 nor GB18030 text: %v", err)
	}
	if bytes.ContainsRune(out, utf8.RuneError) {
		return "", kiosk.Errorf(kiosk.EINVALID, "neither UTF-8 nor GB18030 text")
	}
	return strings.TrimPrefix(string(out), "\uFEFF"), nil
}

// Problem is one thing wrong in a file.
type Problem struct {
	// Line is the physical line of the file (the header is line 1) where
	// the offending field starts; 0 when unknown.
	Line int
	// Column is the header of the offending column as written in the file,
	// or "" when the problem is about the whole row or file.
	Column  string
	Message string
}

// String returns "line N: column: message", or "line N: message" when
// Column is "".
func (p Problem) String() string {
	if p.Column == "" {
		return fmt.Sprintf("line %d: %s", p.Line, p.Message)
	}
	return fmt.Sprintf("line %d: %s: %s", p.Line, p.Column, p.Message)
}

// ParseError lists every problem found in a file, sorted by line (see
// NewParseError). It unwraps to a *kiosk.Error with code EINVALID, so that
// transports map it like any invalid input; use errors.As to get the list.
type ParseError struct {
	// File says what the file is in the unwrapped message, such as
	// "roster file"; "" means "file".
	File     string
	Problems []Problem
}

// NewParseError returns a *ParseError for file (see ParseError.File) with
// problems sorted by line; problems on the same line keep their order.
// It sorts problems in place.
func NewParseError(file string, problems []Problem) *ParseError {
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
	return &ParseError{File: file, Problems: problems}
}

// Error returns one "line N: column: problem" per line.
func (e *ParseError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns a *kiosk.Error with code EINVALID whose message is
// "<file>: N problem(s), first: <first problem>" ("none" when empty).
func (e *ParseError) Unwrap() error {
	file := e.File
	if file == "" {
		file = "file"
	}
	first := "none"
	if len(e.Problems) > 0 {
		first = e.Problems[0].String()
	}
	return kiosk.Errorf(kiosk.EINVALID, "%s: %d problem(s), first: %s", file, len(e.Problems), first)
}

// NewReader returns a csv.Reader over text that allows a different number
// of fields on each row (FieldsPerRecord = -1); its FieldPos gives the
// line of each field for Problems.
func NewReader(text string) *csv.Reader {
	cr := csv.NewReader(strings.NewReader(text))
	cr.FieldsPerRecord = -1
	return cr
}

// Read reads every record of cr, skipping records whose fields are all
// blank: it calls header with the first one and row with each later one.
// If header returns false Read stops (the rows cannot be read without a
// valid header). During a call, cr.FieldPos gives the lines of rec's
// fields.
//
// Read returns its own problems, for the caller to add to its list: a CSV
// syntax error (at its line; later lines are not read), and, when the file
// has no non-blank record, "empty file: want a header row (<wantHeader>)"
// at line 1.
func Read(cr *csv.Reader, wantHeader string, header func(rec []string) bool, row func(rec []string)) []Problem {
	var problems []Problem
	first := true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				problems = append(problems, Problem{Line: pe.Line, Message: fmt.Sprintf("CSV syntax: %v (check the quotes); lines after it were not checked", pe.Err)})
			} else {
				problems = append(problems, Problem{Message: fmt.Sprintf("CSV: %v", err)})
			}
			break
		}
		if blank(rec) {
			continue
		}
		if first {
			first = false
			if !header(rec) {
				return problems
			}
			continue
		}
		row(rec)
	}
	if first {
		problems = append(problems, Problem{Line: 1, Message: fmt.Sprintf("empty file: want a header row (%s)", wantHeader)})
	}
	return problems
}

// blank reports whether every field of rec is blank.
func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}
