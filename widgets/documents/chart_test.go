package documents

import (
	"strings"
	"testing"
	"time"
)

func f(v float64) *float64 { return &v }

func TestPlotHbA1cYear(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	var pts []Point
	vals := []float64{7.9, 7.6, 7.4, 7.1, 6.9, 6.8, 6.6, 6.7, 6.5, 6.4, 6.3, 6.2}
	for i, v := range vals {
		pts = append(pts, Point{At: time.Date(2025, time.December, 15, 9, 0, 0, 0, paris).AddDate(0, i, 0), Value: v})
	}
	c := Plot(Series{Points: pts, Low: f(4), High: f(6)}, 320, 180, "fr")
	if len(c.Dots) != len(vals) || strings.Count(c.Line, ",") != len(vals) {
		t.Fatalf("%d dots, line %q", len(c.Dots), c.Line)
	}
	// Time runs left to right across the plot.
	if c.Dots[0].X != c.Plot.X || c.Dots[len(c.Dots)-1].X != c.Plot.X+c.Plot.W {
		t.Errorf("first dot at %v, last at %v; plot %+v", c.Dots[0].X, c.Dots[len(c.Dots)-1].X, c.Plot)
	}
	// Higher values are higher up (smaller y); every value above 6 % is out of range.
	for i := 1; i < len(c.Dots); i++ {
		if vals[i] < vals[i-1] && c.Dots[i].Y <= c.Dots[i-1].Y {
			t.Errorf("dot %d (%v) is not below dot %d (%v)", i, vals[i], i-1, vals[i-1])
		}
	}
	for i, d := range c.Dots {
		if d.Out != (vals[i] > 6) {
			t.Errorf("dot %d (%v): out of range %v", i, vals[i], d.Out)
		}
	}
	// The band spans 4 to 6 %, inside the plot, below the first values.
	if c.Band == nil || c.Band.Y < c.Plot.Y || c.Band.Y+c.Band.H > c.Plot.Y+c.Plot.H+0.01 || c.Band.Y <= c.Dots[0].Y {
		t.Fatalf("band %+v, plot %+v, first dot %+v", c.Band, c.Plot, c.Dots[0])
	}
	// Round ticks with the decimal comma; month ticks over the year.
	var labels []string
	for _, tk := range c.YTicks {
		labels = append(labels, tk.Label)
	}
	if got := strings.Join(labels, " "); got != "4 5 6 7 8" {
		t.Errorf("value ticks %q", got)
	}
	if len(c.XTicks) < 4 || len(c.XTicks) > 7 || !strings.HasPrefix(c.XTicks[0].Label, "janv. 26") {
		t.Errorf("month ticks %+v", c.XTicks)
	}
}

func TestPlotEdgeCases(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if c := Plot(Series{}, 320, 180, "fr"); c.Line != "" || len(c.Dots) != 0 {
		t.Errorf("an empty series draws %+v", c)
	}
	// One value, no range: centred, a span around it.
	c := Plot(Series{Points: []Point{{at, 1.05}}}, 320, 180, "en")
	if len(c.Dots) != 1 || c.Band != nil || c.Dots[0].X != c.Plot.X+c.Plot.W/2 || len(c.YTicks) < 2 {
		t.Errorf("one value: %+v", c)
	}
	if c.YTicks[0].Label == "" || strings.Contains(c.YTicks[0].Label, ",") {
		t.Errorf("English ticks %+v", c.YTicks)
	}
	// Only an upper bound: the band runs from the bottom of the plot.
	c = Plot(Series{Points: []Point{{at, 0.9}, {at.AddDate(0, 0, 7), 1.3}}, High: f(1.1)}, 320, 180, "fr")
	if c.Band == nil || c.Band.Y+c.Band.H != c.Plot.Y+c.Plot.H || !c.Dots[1].Out || c.Dots[0].Out {
		t.Errorf("upper bound only: band %+v dots %+v", c.Band, c.Dots)
	}
	if got := Decimal("fr", 1.25, 2); got != "1,25" {
		t.Errorf("Decimal fr = %q", got)
	}
	if got := Decimal("en", -0.0001, 1); got != "0.0" {
		t.Errorf("Decimal en = %q", got)
	}
}

func TestNiceStep(t *testing.T) {
	for raw, want := range map[float64]float64{0.9: 1, 1.1: 2, 3: 5, 7: 10, 0.013: 0.02, 250: 500, 0: 1} {
		if got := niceStep(raw); got < want-1e-12 || got > want+1e-12 {
			t.Errorf("niceStep(%v) = %v, want %v", raw, got, want)
		}
	}
}
