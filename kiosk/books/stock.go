package books

import "sort"

// Status is where a copy is.
type Status string

const (
	StatusShelf      Status = "shelf"       // in the library (在架)
	StatusLent       Status = "lent"        // with a reader (借出)
	StatusLost       Status = "lost"        // reported lost (遗失)
	StatusWrittenOff Status = "written_off" // removed from stock (注销)
)

// Condition is a copy's state, recorded at each loan and return.
type Condition string

const (
	ConditionGood    Condition = "good"    // 完好
	ConditionWorn    Condition = "worn"    // 有磨损
	ConditionDamaged Condition = "damaged" // 破损
)

var conditionWords = map[Condition]string{ConditionGood: "完好", ConditionWorn: "有磨损", ConditionDamaged: "破损"}

// ParseCondition accepts a condition in English or Chinese; "" is good.
func ParseCondition(s string) (Condition, bool) {
	if s == "" {
		return ConditionGood, true
	}
	for c, w := range conditionWords {
		if s == string(c) || s == w {
			return c, true
		}
	}
	return "", false
}

// ZH returns the condition's Chinese word, or the condition itself when
// unknown.
func (c Condition) ZH() string {
	if w, ok := conditionWords[c]; ok {
		return w
	}
	return string(c)
}

// Copy is one copy as the stock-take sees it.
type Copy struct {
	Barcode string // canonical, see Barcode.Code
	ISBN    ISBN
	Title   string
	Status  Status
}

// StockResult is the outcome of TakeStock. Every list is sorted by
// barcode (Unknown and Ambiguous by the scanned text).
type StockResult struct {
	// Counted is how many distinct copies were scanned and found.
	Counted int
	// Missing are copies recorded on the shelf that were not scanned.
	Missing []Copy
	// Misplaced are copies scanned on the shelf while recorded as lent,
	// lost or written off: their record needs a look.
	Misplaced []Copy
	// Unknown are scans that name no copy (or do not parse).
	Unknown []string
	// Ambiguous are cover ISBN scans of titles with several copies left
	// to count: scan the library label instead.
	Ambiguous []string
}

// TakeStock compares the copies in the catalogue with the barcodes
// scanned on the shelves (in any order; repeats count once). A cover
// ISBN scan counts as the title's one copy not yet counted when there is
// exactly one; otherwise it is Ambiguous.
func TakeStock(copies []Copy, scanned []string) StockResult {
	byCode := make(map[string]Copy, len(copies))
	byISBN := map[ISBN][]string{}
	for _, c := range copies {
		byCode[c.Barcode] = c
		if c.Status != StatusWrittenOff {
			byISBN[c.ISBN] = append(byISBN[c.ISBN], c.Barcode)
		}
	}
	seen := map[string]bool{}
	var res StockResult
	var covers []string
	for _, s := range scanned {
		b, err := ParseBarcode(s)
		if err != nil {
			res.Unknown = append(res.Unknown, s)
			continue
		}
		if b.Kind == BarcodeISBN {
			if _, ok := byCode[b.Code]; !ok {
				covers = append(covers, b.Code)
				continue
			}
		}
		if _, ok := byCode[b.Code]; !ok {
			res.Unknown = append(res.Unknown, s)
			continue
		}
		seen[b.Code] = true
	}
	// Cover scans last, so that labels scanned after them still count.
	for _, code := range covers {
		var left []string
		for _, bc := range byISBN[ISBN(code)] {
			if !seen[bc] {
				left = append(left, bc)
			}
		}
		switch {
		case len(byISBN[ISBN(code)]) == 0:
			res.Unknown = append(res.Unknown, code)
		case len(left) == 1:
			seen[left[0]] = true
		case len(left) > 1:
			res.Ambiguous = append(res.Ambiguous, code)
		}
	}
	for code, c := range byCode {
		switch {
		case seen[code]:
			res.Counted++
			if c.Status != StatusShelf {
				res.Misplaced = append(res.Misplaced, c)
			}
		case c.Status == StatusShelf:
			res.Missing = append(res.Missing, c)
		}
	}
	for _, l := range [][]Copy{res.Missing, res.Misplaced} {
		sort.Slice(l, func(i, j int) bool { return l[i].Barcode < l[j].Barcode })
	}
	sort.Strings(res.Unknown)
	sort.Strings(res.Ambiguous)
	return res
}
