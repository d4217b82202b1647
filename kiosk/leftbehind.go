package kiosk

import (
	"strings"

	"golang.org/x/text/width"
)

// LeftBehindKind is the kind of left-behind child (留守类型) the roster
// records for a child, for the quarterly report's totals by kind.
//
// It follows the definition of 农村留守儿童 that the Ministry of Civil
// Affairs counts by (国务院《关于加强农村留守儿童关爱保护工作的意见》,
// 国发〔2016〕13号, the basis of the Ministry's census of left-behind
// children): a minor under 16 whose parents both work away from home, or
// one of them works away and the other cannot act as guardian. A school
// writes which parent is away (父亲外出, 母亲外出) or only that one is
// (单亲外出); children cared for by someone else for another reason (an
// orphan, a child living with relatives) are "other".
//
// The zero value, LeftBehindUnknown, means not recorded.
type LeftBehindKind string

const (
	// LeftBehindUnknown: not recorded (the roster or form left it blank).
	LeftBehindUnknown LeftBehindKind = ""
	// LeftBehindBoth: both parents away (父母均外出).
	LeftBehindBoth LeftBehindKind = "both_away"
	// LeftBehindFather: the father away, the mother at home (父亲外出).
	LeftBehindFather LeftBehindKind = "father_away"
	// LeftBehindMother: the mother away, the father at home (母亲外出).
	LeftBehindMother LeftBehindKind = "mother_away"
	// LeftBehindOne: one parent away, not said which (单亲外出).
	LeftBehindOne LeftBehindKind = "one_away"
	// LeftBehindOther: cared for by a guardian for another reason (其他:
	// an orphan, a child living with relatives).
	LeftBehindOther LeftBehindKind = "other"
)

// LeftBehindKinds lists the recorded kinds in the order pages and
// reports show them (LeftBehindUnknown not included).
var LeftBehindKinds = []LeftBehindKind{LeftBehindBoth, LeftBehindFather, LeftBehindMother, LeftBehindOne, LeftBehindOther}

// leftBehindWords maps the words schools write, folded (see
// foldLeftBehind), to a kind. The first Chinese word of each kind is
// its Label.
var leftBehindWords = map[string]LeftBehindKind{
	"父母均外出": LeftBehindBoth, "双亲外出": LeftBehindBoth, "父母双方外出": LeftBehindBoth,
	"父母双方均外出": LeftBehindBoth, "父母都外出": LeftBehindBoth, "父母均外出务工": LeftBehindBoth,
	"双亲外出务工": LeftBehindBoth, "父母双方外出务工": LeftBehindBoth,
	"both_away": LeftBehindBoth, "both away": LeftBehindBoth, "both parents away": LeftBehindBoth, "both": LeftBehindBoth,

	"父亲外出": LeftBehindFather, "父外出": LeftBehindFather, "父亲外出务工": LeftBehindFather, "仅父亲外出": LeftBehindFather,
	"father_away": LeftBehindFather, "father away": LeftBehindFather,

	"母亲外出": LeftBehindMother, "母外出": LeftBehindMother, "母亲外出务工": LeftBehindMother, "仅母亲外出": LeftBehindMother,
	"mother_away": LeftBehindMother, "mother away": LeftBehindMother,

	"单亲外出": LeftBehindOne, "父母一方外出": LeftBehindOne, "一方外出": LeftBehindOne, "单亲外出务工": LeftBehindOne,
	"父母一方外出务工": LeftBehindOne,
	"one_away": LeftBehindOne, "one away": LeftBehindOne, "one parent away": LeftBehindOne,

	"其他": LeftBehindOther, "其它": LeftBehindOther, "其他情况": LeftBehindOther, "监护人": LeftBehindOther,
	"other": LeftBehindOther,

	"未知": LeftBehindUnknown, "不详": LeftBehindUnknown, "未登记": LeftBehindUnknown, "unknown": LeftBehindUnknown,
}

// foldLeftBehind folds s for lookup: trimmed, full-width letters made
// ASCII, lower case, runs of spaces, '-' and '_' between English words as
// one space ("Both-Away" is "both away"), and the known codes kept.
func foldLeftBehind(s string) string {
	s = strings.ToLower(width.Fold.String(strings.TrimSpace(s)))
	if _, ok := leftBehindWords[s]; ok {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '-' || r == '_' }), " ")
}

// ParseLeftBehind reads the kind of left-behind as a school writes it in
// a roster's 留守类型 column, in Chinese or English: 父母均外出 (also
// 双亲外出, 父母双方外出), 父亲外出, 母亲外出, 单亲外出 (also 父母一方外出;
// one parent away when the file does not say which), 其他 (also 其它,
// 监护人); both_away, father_away, mother_away, one_away, other, with
// spaces or '-' for '_' ("both away"), any case, full-width letters
// allowed; the words with 务工 ("to work") appended. Blank, 未知, 不详,
// 未登记 and unknown are LeftBehindUnknown. Anything else is an EINVALID
// *Error whose message, in Chinese then English, lists the words.
func ParseLeftBehind(s string) (LeftBehindKind, error) {
	k, ok := leftBehindWords[foldLeftBehind(s)]
	if !ok && strings.TrimSpace(s) != "" {
		return LeftBehindUnknown, Errorf(EINVALID, "留守类型无法识别，应为 父母均外出、父亲外出、母亲外出、单亲外出、其他 或留空。 unknown kind of left-behind: want both_away, father_away, mother_away, one_away, other or blank")
	}
	return k, nil
}

// Valid reports whether k is LeftBehindUnknown or one of LeftBehindKinds.
func (k LeftBehindKind) Valid() bool {
	if k == LeftBehindUnknown {
		return true
	}
	for _, x := range LeftBehindKinds {
		if k == x {
			return true
		}
	}
	return false
}

// Label is the kind in the Chinese a school writes (父母均外出, 父亲外出,
// 母亲外出, 单亲外出, 其他), ParseLeftBehind's first word for it; "" for
// LeftBehindUnknown or an invalid kind.
func (k LeftBehindKind) Label() string {
	switch k {
	case LeftBehindBoth:
		return "父母均外出"
	case LeftBehindFather:
		return "父亲外出"
	case LeftBehindMother:
		return "母亲外出"
	case LeftBehindOne:
		return "单亲外出"
	case LeftBehindOther:
		return "其他"
	}
	return ""
}

// OneAway reports whether k is one parent away: the father, the mother,
// or not said which. The quarterly report totals these together.
func (k LeftBehindKind) OneAway() bool {
	return k == LeftBehindFather || k == LeftBehindMother || k == LeftBehindOne
}
