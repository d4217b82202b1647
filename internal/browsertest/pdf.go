package browsertest

import (
	"bytes"
	"encoding/hex"
	"regexp"
	"unicode/utf16"
)

// pdfPage matches a page object of a PDF (ISO 32000-1 7.7.3.3: /Type
// /Page), not the page tree (/Type /Pages).
var pdfPage = regexp.MustCompile(`/Type\s*/Page\b[^s]`)

// PDFPages counts the pages of a PDF that Chromium printed
// (chromedp.PrintToPDF), by their page objects; Chromium writes them
// uncompressed.
func PDFPages(pdf []byte) int {
	return len(pdfPage.FindAllIndex(pdf, -1))
}

// PDFHasText reports whether a PDF that Chromium printed holds s where a
// test can find it without parsing fonts: as written, or as a PDF text
// string in hex (ISO 32000-1 7.9.2.2: UTF-16BE, as Chromium writes the
// document's /Title, the page's <title>), in either case of hex digit.
func PDFHasText(pdf []byte, s string) bool {
	if bytes.Contains(pdf, []byte(s)) {
		return true
	}
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return bytes.Contains(bytes.ToUpper(pdf), bytes.ToUpper([]byte(hex.EncodeToString(b))))
}
