package books_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
)

const goodCatalogue = "ISBN,书名,作者,出版社,分类,价格,册数,条码\n" +
	"978-7-02-000220-7,红楼梦,曹雪芹,人民文学出版社,文学,¥59.70,2,\n" +
	"0306406152,Measurement,\"Smith, J.\",Plenum,科普,25,,A001；A002、A003\n" +
	"9791090636071,小王子,圣埃克苏佩里,,少儿,12.5元,,\n"

func TestParseCatalogue(t *testing.T) {
	want := []books.Title{
		{ISBN: "9787020002207", Title: "红楼梦", Author: "曹雪芹", Publisher: "人民文学出版社", Category: "文学", PriceCents: 5970,
			Copies: []string{"9787020002207-1", "9787020002207-2"}, Line: 2},
		{ISBN: "9780306406157", Title: "Measurement", Author: "Smith, J.", Publisher: "Plenum", Category: "科普", PriceCents: 2500,
			Copies: []string{"A001", "A002", "A003"}, Line: 3},
		{ISBN: "9791090636071", Title: "小王子", Author: "圣埃克苏佩里", Category: "少儿", PriceCents: 1250,
			Copies: []string{"9791090636071-1"}, Line: 4},
	}
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(goodCatalogue)
	require.NoError(t, err)
	for name, text := range map[string]string{
		"UTF-8":          goodCatalogue,
		"UTF-8 with BOM": "\xEF\xBB\xBF" + goodCatalogue,
		"GB18030":        gb,
		"English headers": strings.Replace(goodCatalogue, "ISBN,书名,作者,出版社,分类,价格,册数,条码",
			"isbn,Title,author,publisher,category,price,copies,barcodes", 1),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := books.ParseCatalogue(strings.NewReader(text))
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestParseCatalogueBadRows(t *testing.T) {
	text := "ISBN,书名,作者,价格,册数,条码\n" +
		"9787020002208,红楼梦,,,,\n" + // line 2: check digit
		"9780306406157,,,,,\n" + // line 3: no title
		"9787020002207,水浒传,=cmd,abc,,\n" + // line 4: formula, price
		"978-7-02-000220-7,西游记,,,,\n" + // line 5: ISBN twice
		"9791090636071,小王子,,,3,A1;A1\n" + // line 6: barcode twice, count mismatch
		"9787532136377,三国演义,,,,9787532136377\n" + // line 7: cover ISBN as a label
		"9787543402201,骆驼祥子,,,,A1\n" + // line 8: barcode of line 6
		"9780804429573,Lamb,,,0,\n" // line 9: zero copies
	_, err := books.ParseCatalogue(strings.NewReader(text))
	require.Error(t, err)
	var pe *books.ParseError
	require.True(t, errors.As(err, &pe), "a ParseError: %v", err)
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
	lines := map[int][]string{}
	for _, p := range pe.Problems {
		lines[p.Line] = append(lines[p.Line], p.Column+": "+p.Message)
	}
	msg := err.Error()
	assert.Contains(t, msg, "line 2: ISBN: \"9787020002208\": check digit is 8, want 7")
	assert.Contains(t, msg, "line 3: 书名: missing title")
	assert.Contains(t, msg, "line 4: 作者: author starts with \"=\"")
	assert.Contains(t, msg, "line 4: 价格: price \"abc\"")
	assert.Contains(t, msg, "line 5: ISBN: ISBN 9787020002207 is already on line 4")
	assert.Contains(t, msg, "line 6: 条码: barcode A1 is already on line 6")
	assert.Contains(t, msg, "line 6: 册数: 3 copies but 2 barcodes", "count checked against what was written")
	assert.Contains(t, msg, "line 7: 条码: barcode 9787532136377 is the book's own ISBN")
	assert.Contains(t, msg, "line 8: 条码: barcode A1 is already on line 6")
	assert.Contains(t, msg, "line 9: 册数: copies \"0\"")
	assert.Len(t, lines, 8, "one or more problems on each bad line: %v", lines)
}

func TestParseCatalogueHeader(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"empty", "", "line 1: empty file"},
		{"no ISBN column", "书名\n红楼梦\n", "line 1: missing column ISBN"},
		{"unknown column", "ISBN,书名,页数\n", "line 1: 页数: unknown column"},
		{"duplicate column", "ISBN,书名,title\n", "line 1: title: duplicate column: same as 书名"},
		{"UTF-16", "\xFF\xFEI\x00", "UTF-16"},
		{"quotes", "ISBN,书名\n\"978,x\n", "CSV syntax"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := books.ParseCatalogue(strings.NewReader(tc.text))
			require.Error(t, err)
			assert.Contains(t, err.Error()+kiosk.ErrorMessage(err), tc.want)
		})
	}
}
