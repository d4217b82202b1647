package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/register"
	"github.com/qinqing/station/kiosk/sqlite"
)

// The overdue books list: a count on Today and, per class, a list the
// class teacher prints (the second rung of the books reminder ladder).
// Manager, principal and inspector; the list holds the reader's name and
// class only, so an inspector sees the same as the others. Every view and
// print is audited (view_overdue, print_overdue).

func init() {
	pageNames = append(pageNames, "overdue", "overdue_print")
}

// overdueRoutes lists the overdue list's route; console.go appends it.
func (c *Console) overdueRoutes() []route {
	return []route{{"GET", "/console/loans/overdue", children, true, c.overduePage}}
}

// overdueBook is one book out past its due date.
type overdueBook struct {
	No             int // 序号 in the list shown
	Child, Class   string
	Barcode, Title string
	Lent, Due      string // YYYY-MM-DD
	Days           int
}

// overdueBooks returns the books out past their due date as at now, most
// overdue first (then class, then name), from the loans register; ok is
// false when the store keeps no library.
func (c *Console) overdueBooks(ctx context.Context) (out []overdueBook, ok bool, err error) {
	rs, ok := c.store.(RegisterStore)
	if !ok {
		return nil, false, nil
	}
	var rows []register.BookLoan
	if os, open := c.store.(openLoanStore); open {
		// The loans still out, from the loans table: the register of
		// every loan since the library opened took 0.5 s at a decade's
		// 1,000,000 journal entries, on every Today page.
		loans, err := os.OverdueLoans(ctx, c.rulesFor)
		if err != nil {
			return nil, true, fmt.Errorf("overdue books: %w", err)
		}
		for _, l := range loans {
			rows = append(rows, register.BookLoan{ChildName: l.ChildName, Class: l.Class, Barcode: l.Copy.Barcode,
				Title: l.Copy.Title.Title, Lent: l.Lent, Due: l.Due, OverdueDays: l.OverdueDays})
		}
	} else if rows, err = rs.LoanRegister(ctx, time.Time{}, time.Time{}, c.rulesFor); err != nil {
		return nil, true, fmt.Errorf("overdue books: %w", err)
	}
	for _, r := range overdueRows(rows) {
		out = append(out, overdueBook{Child: r.ChildName, Class: r.Class, Barcode: r.Barcode, Title: r.Title,
			Lent: r.Lent.In(c.loc).Format(time.DateOnly), Due: r.Due.Format(time.DateOnly), Days: r.OverdueDays})
	}
	return out, true, nil
}

// openLoanStore reads the loans still out past their due date, each by
// the rules of its borrower's class; kiosk/sqlite's *DB implements it.
type openLoanStore interface {
	OverdueLoans(ctx context.Context, rules books.RulesByClass) ([]sqlite.BookLoan, error)
}

// overdueRows keeps the loans still out (not returned, not lost) with
// overdue days, most overdue first, then by class and name.
func overdueRows(rows []register.BookLoan) []register.BookLoan {
	var out []register.BookLoan
	for _, r := range rows {
		if r.Returned.IsZero() && !r.Lost && r.OverdueDays > 0 {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b register.BookLoan) int {
		if a.OverdueDays != b.OverdueDays {
			return b.OverdueDays - a.OverdueDays
		}
		if a.Class != b.Class {
			if a.Class < b.Class {
				return -1
			}
			return 1
		}
		if a.ChildName < b.ChildName {
			return -1
		}
		if a.ChildName > b.ChildName {
			return 1
		}
		return 0
	})
	return out
}

type overdueData struct {
	Class     string
	Classes   []string
	Books     []overdueBook
	Date      string // as at, YYYY-MM-DD
	PrintedAt string
	PrintHref string
	BackHref  string
}

// overduePage serves /console/loans/overdue?class=..[&print=1]: the
// overdue books, of one class when class is given; print=1 is the A4
// list for the class teacher.
func (c *Console) overduePage(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	ctx := r.Context()
	list, ok, err := c.overdueBooks(ctx)
	if err != nil {
		c.internal(w, r, "overdue", err)
		return
	}
	if !ok {
		c.errorPage(w, r, s, http.StatusNotImplemented, "此台账不可用 Not available")
		return
	}
	q := r.URL.Query()
	class := q.Get("class")
	print := q.Get("print") == "1"
	now := c.now().In(c.loc)
	d := overdueData{Class: class, Date: now.Format(time.DateOnly), PrintedAt: now.Format("2006-01-02 15:04")}
	for _, b := range list {
		if class == "" || b.Class == class {
			b.No = len(d.Books) + 1
			d.Books = append(d.Books, b)
		}
	}
	v := url.Values{}
	if class != "" {
		v.Set("class", class)
	}
	d.BackHref = "/console/loans/overdue"
	if len(v) > 0 {
		d.BackHref += "?" + v.Encode()
	}
	v.Set("print", "1")
	d.PrintHref = "/console/loans/overdue?" + v.Encode()
	if !print {
		if d.Classes, err = c.store.Classes(ctx); err != nil {
			c.internal(w, r, "classes", err)
			return
		}
	}
	action := "view_overdue"
	if print {
		action = "print_overdue"
	}
	if !c.audit(w, r, s, action, "class="+strconv.Quote(class)+" rows="+strconv.Itoa(len(d.Books))) {
		return
	}
	if print {
		c.render(w, r, s, http.StatusOK, "overdue_print", "逾期未还图书名单", true, d)
		return
	}
	c.render(w, r, s, http.StatusOK, "overdue", "逾期未还图书 Overdue books", false, d)
}
