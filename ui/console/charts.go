package console

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// barSeries is one series of a bar chart: a name for the legend and one
// value per category (missing values count as 0).
type barSeries struct {
	Name   string
	Values []float64
}

// barChart is a vertical bar chart rendered as SVG 1.1 on the server: no
// script, no external resource, readable in black-and-white print.
// Lengths are in millimetres: the SVG's viewBox is in mm and its width
// and height carry the "mm" unit, so it prints at its stated size on A4.
// Each series has its own fill (solid black, mid grey, white with
// diagonal hatching, light grey with dots), every bar carries its value,
// and the axis, tick and category labels are text (Chinese is fine).
type barChart struct {
	// ID prefixes the pattern ids, so that several charts on one page do
	// not share ids. Default "chart".
	ID string
	// Title is drawn above the plot; Unit (e.g. "次", "分钟") labels the
	// y axis.
	Title, Unit string
	// Categories label the groups along the x axis, in order.
	Categories []string
	// Series are the bars of each group, left to right.
	Series []barSeries
	// WidthMM and HeightMM are the chart's size; defaults 170 x 75 mm.
	WidthMM, HeightMM float64
	// Decimals is how many decimals the value labels show; default 0,
	// for counts (calls, minutes), whose y-axis ticks are then whole
	// numbers too (yTicks).
	Decimals int
}

// chart text sizes, in mm (3.5 mm is about 10 pt).
const (
	chartFont      = 3.2
	chartTitleFont = 4
)

// fills for series 0..3, repeated beyond.
var chartFills = []string{"#000", "#808080", "url(#%s-hatch)", "url(#%s-dots)"}

// niceMax rounds v up to 1, 2, 2.5 or 5 times a power of ten (at least 1),
// so the y axis has round ticks.
func niceMax(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// yTicks returns the top of the y axis for values up to maxV and how many
// equal steps divide it: niceMax and five steps, except that counts
// (integer) never get a fractional tick: a top of 1, 2 or 2.5 becomes 1,
// 2 or 3 steps of 1.
func yTicks(maxV float64, integer bool) (top float64, steps int) {
	top = niceMax(maxV)
	if integer && top/5 != math.Trunc(top/5) {
		top = math.Ceil(top)
		return top, int(top)
	}
	return top, 5
}

// mm formats a length for the SVG: at most two decimals, no trailing
// zeros.
func mm(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// svgText escapes s for SVG character data and attribute values (XML 1.0
// predefined entities only: SVG is XML, not HTML).
func svgText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}

// textWidth estimates the width of s at font size f: a CJK character is
// one em wide, anything else about half.
func textWidth(s string, f float64) float64 {
	w := 0.0
	for _, r := range s {
		if r < 0x2E80 {
			w += 0.55 * f
		} else {
			w += f
		}
	}
	return w
}

func (ch barChart) format(v float64) string {
	return strconv.FormatFloat(v, 'f', ch.Decimals, 64)
}

// SVG renders the chart as an inline <svg> element (class "chart"): one
// <rect class="bar"> per series and category, one <text class="label">
// per category, one <text class="value"> per bar, a <title> for screen
// readers. An empty chart (no categories) says so in a text.
func (ch barChart) SVG() template.HTML {
	id := ch.ID
	if id == "" {
		id = "chart"
	}
	w, h := ch.WidthMM, ch.HeightMM
	if w <= 0 {
		w = 170
	}
	if h <= 0 {
		h = 75
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="%smm" height="%smm" viewBox="0 0 %s %s" font-family="Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif">`,
		mm(w), mm(h), mm(w), mm(h))
	fmt.Fprintf(&b, `<title>%s</title>`, svgText(ch.Title))
	fmt.Fprintf(&b, `<defs><pattern id="%s-hatch" width="2" height="2" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="2" height="2" fill="#fff"/><line x1="0" y1="0" x2="0" y2="2" stroke="#000" stroke-width="0.6"/></pattern>`, id)
	fmt.Fprintf(&b, `<pattern id="%s-dots" width="1.6" height="1.6" patternUnits="userSpaceOnUse"><rect width="1.6" height="1.6" fill="#d0d0d0"/><circle cx="0.8" cy="0.8" r="0.35" fill="#000"/></pattern></defs>`, id)
	fmt.Fprintf(&b, `<rect width="%s" height="%s" fill="#fff"/>`, mm(w), mm(h))
	fmt.Fprintf(&b, `<text class="title" x="%s" y="%s" font-size="%s" font-weight="bold" text-anchor="middle">%s</text>`,
		mm(w/2), mm(chartTitleFont+1), mm(chartTitleFont), svgText(ch.Title))

	n := len(ch.Categories)
	if n == 0 || len(ch.Series) == 0 {
		fmt.Fprintf(&b, `<text class="empty" x="%s" y="%s" font-size="%s" text-anchor="middle">本期无数据</text></svg>`,
			mm(w/2), mm(h/2), mm(chartFont))
		return template.HTML(b.String())
	}
	maxV := 0.0
	for _, s := range ch.Series {
		for _, v := range s.Values {
			maxV = math.Max(maxV, v)
		}
	}
	top, steps := yTicks(maxV, ch.Decimals == 0)
	// Category labels turn 35 degrees when they do not fit their group.
	left, right, titleH := 16.0, 4.0, float64(chartTitleFont+4)
	if len(ch.Series) > 1 {
		titleH += chartFont + 2 // legend row
	}
	group := (w - left - right) / float64(n)
	widest := 0.0
	for _, c := range ch.Categories {
		widest = math.Max(widest, textWidth(c, chartFont))
	}
	rotate := widest > group*0.95
	bottom := chartFont + 4
	if rotate {
		bottom = widest*math.Sin(35*math.Pi/180) + chartFont + 3
	}
	plotH := h - titleH - bottom
	y0 := titleH + plotH // the x axis
	scale := plotH / top

	// Legend.
	if len(ch.Series) > 1 {
		x := left
		for i, s := range ch.Series {
			fmt.Fprintf(&b, `<rect class="key" x="%s" y="%s" width="4" height="%s" fill="%s" stroke="#000" stroke-width="0.2"/>`,
				mm(x), mm(chartTitleFont+2.5), mm(chartFont), fill(id, i))
			fmt.Fprintf(&b, `<text class="legend" x="%s" y="%s" font-size="%s">%s</text>`,
				mm(x+5), mm(chartTitleFont+2.5+chartFont*0.85), mm(chartFont), svgText(s.Name))
			x += 5 + textWidth(s.Name, chartFont) + 4
		}
	}
	// Grid lines and y ticks.
	for i := 0; i <= steps; i++ {
		v := top * float64(i) / float64(steps)
		y := y0 - v*scale
		stroke, width := "#bbb", "0.15"
		if i == 0 {
			stroke, width = "#000", "0.3"
		}
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"/>`, mm(left), mm(y), mm(w-right), mm(y), stroke, width)
		fmt.Fprintf(&b, `<text class="tick" x="%s" y="%s" font-size="%s" text-anchor="end">%s</text>`,
			mm(left-1), mm(y+chartFont*0.35), mm(chartFont*0.9), strconv.FormatFloat(v, 'f', -1, 64))
	}
	fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#000" stroke-width="0.3"/>`, mm(left), mm(titleH), mm(left), mm(y0))
	fmt.Fprintf(&b, `<text class="unit" x="%s" y="%s" font-size="%s" text-anchor="middle" transform="rotate(-90 %s %s)">%s</text>`,
		mm(3), mm(titleH+plotH/2), mm(chartFont), mm(3), mm(titleH+plotH/2), svgText(ch.Unit))

	// Bars, values and category labels.
	barW := group * 0.75 / float64(len(ch.Series))
	for ci, cat := range ch.Categories {
		gx := left + group*float64(ci) + group*0.125
		for si, s := range ch.Series {
			v := 0.0
			if ci < len(s.Values) {
				v = s.Values[ci]
			}
			bh := v * scale
			x := gx + barW*float64(si)
			fmt.Fprintf(&b, `<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="#000" stroke-width="0.2"><title>%s %s: %s</title></rect>`,
				mm(x), mm(y0-bh), mm(barW), mm(bh), fill(id, si), svgText(cat), svgText(s.Name), ch.format(v))
			fs := math.Min(chartFont*0.85, barW*0.9/math.Max(1, float64(utf8.RuneCountInString(ch.format(v)))*0.55))
			fmt.Fprintf(&b, `<text class="value" x="%s" y="%s" font-size="%s" text-anchor="middle">%s</text>`,
				mm(x+barW/2), mm(y0-bh-0.8), mm(fs), ch.format(v))
		}
		cx := left + group*(float64(ci)+0.5)
		if rotate {
			fmt.Fprintf(&b, `<text class="label" x="%s" y="%s" font-size="%s" text-anchor="end" transform="rotate(-35 %s %s)">%s</text>`,
				mm(cx), mm(y0+chartFont+1), mm(chartFont), mm(cx), mm(y0+chartFont+1), svgText(cat))
		} else {
			fmt.Fprintf(&b, `<text class="label" x="%s" y="%s" font-size="%s" text-anchor="middle">%s</text>`,
				mm(cx), mm(y0+chartFont+1.5), mm(chartFont), svgText(cat))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// fill is series i's fill in chart id.
func fill(id string, i int) string {
	f := chartFills[i%len(chartFills)]
	if strings.Contains(f, "%s") {
		return fmt.Sprintf(f, id)
	}
	return f
}
