package documents

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// Point is one value of an analyte at a date.
type Point struct {
	At    time.Time
	Value float64
}

// Series is what a trend chart draws: the values of one analyte over time
// and its reference range (either bound may be absent).
type Series struct {
	Points    []Point
	Low, High *float64
}

// Chart is a trend drawn in an SVG viewBox of Width × Height: the
// reference band, the line through the values, a dot per value, and the
// axes' ticks. The widget's template turns it into SVG elements; the same
// data is given as a table beside it (the chart's text alternative).
type Chart struct {
	Width, Height float64
	// Band is the reference range, clipped to the plot; nil without one.
	Band *Rect
	// Line is the polyline's points attribute ("x,y x,y …").
	Line   string
	Dots   []Dot
	YTicks []Tick
	XTicks []Tick
	// Plot is the plotting area inside the margins.
	Plot Rect
}

// Rect is a rectangle of the viewBox.
type Rect struct{ X, Y, W, H float64 }

// Dot is a value's mark; Out says that it lies outside the reference range.
type Dot struct {
	X, Y float64
	Out  bool
}

// Tick is an axis graduation: its position and its label.
type Tick struct {
	Pos   float64
	Label string
}

// Margins of the plot inside the viewBox: room for the labels.
const (
	marginLeft   = 44
	marginRight  = 12
	marginTop    = 10
	marginBottom = 26
)

// Plot lays s out in a w × h viewBox. Values are placed in time (not
// evenly), the value axis spans the values and the reference range with a
// margin, and its ticks fall on round numbers.
func Plot(s Series, w, h float64, lang string) Chart {
	c := Chart{Width: w, Height: h, Plot: Rect{marginLeft, marginTop, w - marginLeft - marginRight, h - marginTop - marginBottom}}
	if len(s.Points) == 0 || c.Plot.W <= 0 || c.Plot.H <= 0 {
		return c
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range s.Points {
		lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
	}
	if s.Low != nil {
		lo, hi = math.Min(lo, *s.Low), math.Max(hi, *s.Low)
	}
	if s.High != nil {
		lo, hi = math.Min(lo, *s.High), math.Max(hi, *s.High)
	}
	if hi == lo {
		lo, hi = lo-1, hi+1
	}
	step := niceStep((hi - lo) / 4)
	lo = math.Floor(lo/step) * step
	hi = math.Ceil(hi/step) * step
	y := func(v float64) float64 { return c.Plot.Y + c.Plot.H*(hi-v)/(hi-lo) }

	first, last := s.Points[0].At, s.Points[0].At
	for _, p := range s.Points {
		if p.At.Before(first) {
			first = p.At
		}
		if p.At.After(last) {
			last = p.At
		}
	}
	span := last.Sub(first)
	x := func(t time.Time) float64 {
		if span <= 0 {
			return c.Plot.X + c.Plot.W/2
		}
		return c.Plot.X + c.Plot.W*float64(t.Sub(first))/float64(span)
	}

	if s.Low != nil || s.High != nil {
		top, bottom := hi, lo
		if s.High != nil {
			top = *s.High
		}
		if s.Low != nil {
			bottom = *s.Low
		}
		c.Band = &Rect{c.Plot.X, y(top), c.Plot.W, y(bottom) - y(top)}
	}

	pts := make([]string, 0, len(s.Points))
	for _, p := range s.Points {
		px, py := x(p.At), y(p.Value)
		pts = append(pts, num(px)+","+num(py))
		out := (s.Low != nil && p.Value < *s.Low) || (s.High != nil && p.Value > *s.High)
		c.Dots = append(c.Dots, Dot{X: px, Y: py, Out: out})
	}
	c.Line = strings.Join(pts, " ")

	for v := lo; v <= hi+step/2; v += step {
		c.YTicks = append(c.YTicks, Tick{Pos: y(v), Label: Decimal(lang, v, decimals(step))})
	}
	for _, t := range monthTicks(first, last) {
		c.XTicks = append(c.XTicks, Tick{Pos: x(t), Label: monthLabel(lang, t)})
	}
	return c
}

// niceStep rounds a raw step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsInf(raw, 0) || math.IsNaN(raw) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw-1e-12 {
			return m * p
		}
	}
	return 10 * p
}

// decimals is the number of decimals a step needs (0.5 → 1, 2 → 0).
func decimals(step float64) int {
	n := 0
	for n < 6 && math.Abs(step-math.Round(step)) > 1e-9 {
		step *= 10
		n++
	}
	return n
}

// monthTicks returns the first days of months from first to last, at most
// about six of them (every second or third month over a long span); for a
// span of less than two months, first and last. Months start in UTC: the
// same on the host and in the browser, whatever zone the times came in (the
// store's, or the offsets of their JSON, which change with summer time).
func monthTicks(first, last time.Time) []time.Time {
	first, last = first.UTC(), last.UTC()
	if last.Sub(first) < 60*24*time.Hour {
		if last.Equal(first) {
			return []time.Time{first}
		}
		return []time.Time{first, last}
	}
	months := (last.Year()-first.Year())*12 + int(last.Month()-first.Month())
	every := max(1, (months+5)/6)
	var out []time.Time
	t := time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, first.Location())
	if t.Before(first) {
		t = t.AddDate(0, 1, 0)
	}
	for i := 0; !t.After(last); i++ {
		if i%every == 0 {
			out = append(out, t)
		}
		t = t.AddDate(0, 1, 0)
	}
	return out
}

func monthLabel(lang string, t time.Time) string {
	return ui.ShortMonth(lang, t) + " " + strconv.Itoa(t.Year()%100)
}

// Decimal formats v with n decimals, with the decimal comma in French.
func Decimal(lang string, v float64, n int) string {
	s := strconv.FormatFloat(v, 'f', n, 64)
	if strings.Trim(s, "-0.") == "" {
		s = strings.TrimPrefix(s, "-") // no "-0,0" for a value that rounds to zero
	}
	if lang != "en" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// num formats a coordinate for SVG attributes.
func num(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }
