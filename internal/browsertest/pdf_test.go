package browsertest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPDFText(t *testing.T) {
	// A trimmed PDF as Chromium writes it: a page tree, two pages, and the
	// title 青山 as a hex UTF-16BE text string (FEFF 9752 5C71).
	pdf := []byte("%PDF-1.4\n1 0 obj <</Type /Pages /Count 2>>\n2 0 obj <</Type /Page /Parent 1 0 R>>\n" +
		"3 0 obj <</Type/Page/Parent 1 0 R>>\n4 0 obj <</Title <feff97525c71>>>\n")
	assert.Equal(t, 2, PDFPages(pdf), "two page objects; the page tree is not one")
	assert.Equal(t, 0, PDFPages([]byte("%PDF-1.4\n<</Type /Pages>>\n")))
	for _, tc := range []struct {
		name, s string
		want    bool
	}{
		{"hex title, lower-case digits", "青山", true},
		{"written as is", "Parent", true},
		{"absent", "希望", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, PDFHasText(pdf, tc.s))
		})
	}
}
