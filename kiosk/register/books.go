package register

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"
)

// BookLoan is one row of the book loans register (图书借阅登记表): one loan,
// from its lend entry in the journal, with what later entries (renewals,
// the return, a loss) said about it.
type BookLoan struct {
	// Seq is the journal seq of the loan's lend entry; LoanID the loan.
	Seq    int64
	LoanID int64
	Lent   time.Time
	// ChildName and Class are the reader as at the loan.
	ChildName string
	Class     string
	Barcode   string
	Title     string
	Author    string
	// Due is the civil date (midnight UTC of the day, see books.Date) the
	// book is due back by, after any renewals.
	Due time.Time
	// Returned is when the book came back; zero while it is out or lost.
	Returned time.Time
	// OverdueDays is the days late at the return, or as at the export for
	// a book still out; 0 when on time.
	OverdueDays int
	// ConditionOut and ConditionIn are the copy's condition in Chinese
	// (完好, 有磨损, 破损) at the loan and the return ("" while out).
	ConditionOut string
	ConditionIn  string
	// Handler is who lent it ("自助" for the kiosk) and, when someone else
	// took it back, " / " and who did.
	Handler string
	// Renewals counts renewals; Lost is set when the book was reported
	// lost, with PriceCents its replacement price in fen.
	Renewals   int
	Lost       bool
	PriceCents int64
	// Note is free text from the manager (return or loss).
	Note string
	// ClockSynced is false when the lend entry's clock was not synced.
	ClockSynced bool
}

// BookLoansHeader is the book loans register's CSV header, in column
// order; 读者 is split into 读者姓名 and 班级 so that a spreadsheet can sort
// by class.
var BookLoansHeader = []string{"序号", "借阅日期", "读者姓名", "班级", "图书条码", "书名", "作者", "应还日期", "归还日期", "逾期天数", "借出时状况", "归还时状况", "经手人", "备注"}

// WriteBookLoansCSV writes rows as the register's CSV: a UTF-8 BOM, the
// BookLoansHeader line, then one CRLF-terminated line per row in the given
// order. 序号 counts from 1; 借阅日期 and 归还日期 are dates in loc
// (time.Local when nil); 应还日期 is the due date as stored; 逾期天数 is
// empty when 0; 备注 says 未还 for a book still out, 续借N次, 遗失（按原价
// ¥x.xx赔偿）, 时钟未校准, then the manager's note. Text cells that start
// with = + - or @ get a leading apostrophe.
func WriteBookLoansCSV(w io.Writer, rows []BookLoan, loc *time.Location) error {
	if loc == nil {
		loc = time.Local
	}
	if _, err := io.WriteString(w, bom); err != nil {
		return fmt.Errorf("write book loans csv: bom: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(BookLoansHeader); err != nil {
		return fmt.Errorf("write book loans csv: header: %w", err)
	}
	for i, r := range rows {
		if err := cw.Write(bookRow(i+1, r, loc)); err != nil {
			return fmt.Errorf("write book loans csv: row %d: %w", i+1, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write book loans csv: flush: %w", err)
	}
	return nil
}

func bookRow(n int, r BookLoan, loc *time.Location) []string {
	date := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format(time.DateOnly)
	}
	due := ""
	if !r.Due.IsZero() {
		due = r.Due.UTC().Format(time.DateOnly)
	}
	overdue := ""
	if r.OverdueDays > 0 {
		overdue = fmt.Sprint(r.OverdueDays)
	}
	var notes []string
	if r.Returned.IsZero() && !r.Lost {
		notes = append(notes, "未还")
	}
	if r.Renewals > 0 {
		notes = append(notes, fmt.Sprintf("续借%d次", r.Renewals))
	}
	if r.Lost {
		notes = append(notes, fmt.Sprintf("遗失（按原价¥%d.%02d赔偿）", r.PriceCents/100, r.PriceCents%100))
	}
	if !r.ClockSynced {
		notes = append(notes, "时钟未校准")
	}
	if r.Note != "" {
		notes = append(notes, cell(r.Note))
	}
	return []string{
		fmt.Sprint(n),
		date(r.Lent),
		cell(r.ChildName),
		cell(r.Class),
		cell(r.Barcode),
		cell(r.Title),
		cell(r.Author),
		due,
		date(r.Returned),
		overdue,
		r.ConditionOut,
		r.ConditionIn,
		cell(r.Handler),
		strings.Join(notes, "；"),
	}
}
