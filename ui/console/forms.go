package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/qinqing/station/kiosk"
)

// maxMultipartMemory is how much of a multipart form (the roster upload)
// is kept in memory before spilling to temporary files; the body itself
// is bounded by postLimit.
const maxMultipartMemory = 8 << 20

// sizeWords says a body limit in bytes as "5 MB" or "64 KB".
func sizeWords(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", (n+1023)>>10)
}

// bodyTooLarge reads a POST's form and, when its body is over its limit
// (postLimit; headers puts the http.MaxBytesReader in place), answers
// 413 Content Too Large (RFC 9110, 15.5.14) with a page saying the limit,
// and returns true. Without this the form would read as empty and the
// request be refused for a missing CSRF token. Other read errors are left
// to the handler, which sees the form as it could be read.
func (c *Console) bodyTooLarge(w http.ResponseWriter, r *http.Request, s *kiosk.Session) bool {
	if r.Method != http.MethodPost {
		return false
	}
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(maxMultipartMemory)
	} else {
		err = r.ParseForm()
	}
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) {
		return false
	}
	limit := sizeWords(mbe.Limit)
	msg := fmt.Sprintf("提交的内容太大，最大 %s。 The form is too large: at most %s.", limit, limit)
	if r.URL.Path == rosterUploadPath {
		msg = fmt.Sprintf("文件太大，最大 %s。一所学校的名册通常只有几十 KB，请检查是否选错了文件。 The file is too large: at most %s; a school's roster is usually tens of kilobytes.", limit, limit)
	}
	c.log.Info("post body too large", "path", r.URL.Path, "limit", mbe.Limit)
	c.errorPage(w, r, s, http.StatusRequestEntityTooLarge, msg)
	return true
}

// notices are the messages a page shows after a form was handled and the
// browser was sent back to it (Post/Redirect/Get, see seeOther), by the
// code in the query parameter "done". Only these fixed texts are shown,
// so a link cannot make a page say anything else.
var notices = map[string]string{
	"card_added":        "卡已添加并启用。 The card was added and enabled.",
	"card_disabled":     "卡已停用（记录保留）。 The card was disabled; it stays on record.",
	"link_revoked":      "链接已撤销。 The link was revoked.",
	"child_left":        "已标记为离校；记录全部保留，此后刷卡不能拨打。 Marked as left; all history is kept and the station refuses the child's calls.",
	"child_active":      "已恢复为在校。 The child is active again.",
	"consent_recorded":  "已登记监护人同意。 Consent recorded.",
	"consent_withdrawn": "已登记撤回同意。 Withdrawal recorded.",
	"help_noted":        "已记录跟进。 Follow-up recorded.",
	"help_closed":       "已结案。 Case closed.",
	// books.go; the copy events' codes are their audit actions.
	"book_added":     "图书已添加，馆藏见下表。 The title was added; its copies are listed below.",
	"book_saved":     "已保存。 Saved.",
	"book_unchanged": "没有改动。 Nothing changed.",
	"copies_added":   "馆藏已添加，见下表。 Copies added; see the list below.",
	"book_write_off": "已登记注销。 The copy was written off.",
	"book_lost":      "已登记遗失，按原价赔偿。 Recorded lost: replace at the original price.",
	"book_damaged":   "已登记破损，按原价赔偿。 Recorded damaged: replace at the original price.",
	"stock_reset":    "已清空，可以重新开始盘点。 Started again.",
	// tv.go
	"tv_started":         "已开始播放。 Session started.",
	"tv_started_by_hand": "已开始播放，但电视开机失败，请手动打开。 Session started, but the TV did not switch on: switch it on by hand.",
	"tv_stopped":         "已结束播放。 Session stopped.",
	"tv_stopped_by_hand": "已结束播放，但电视关机失败，请手动关闭。 Session stopped, but the TV did not switch off: switch it off by hand.",
}

// notice is the message for the request's "done" parameter; "" when it
// has none or an unknown one.
func notice(r *http.Request) string {
	if r == nil || r.URL == nil {
		return ""
	}
	return notices[r.URL.Query().Get("done")]
}

// seeOther ends a form that changed something: 303 See Other to path
// (with its query, if any) plus done=code, so that reloading the page
// the browser lands on shows it again instead of posting the form twice.
func seeOther(w http.ResponseWriter, r *http.Request, path, code string) {
	u, err := url.Parse(path)
	if err != nil {
		u = &url.URL{Path: "/console/today"}
	}
	q := u.Query()
	q.Set("done", code)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}
