// Package chart renders the report card's chart as a PNG with gonum's
// plotting library: grouped bars per day, one colour per series, a legend.
// It draws what it is given and reads nothing else.
package chart

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Series is one named row of values, one per label.
type Series struct {
	Name   string
	Values []int
}

// Bars is a grouped bar chart.
type Bars struct {
	Labels []string // one per group (day), along the x axis
	Series []Series // at most len(palette)
	YLabel string
}

// Size of the image: the sidebar is about 300 px wide; Google's image
// proxy scales it down, so it is drawn at twice that.
const (
	width  = 600
	height = 320
)

// palette is Google's blue and green, which keep apart for most colour
// vision deficiencies by lightness too.
var palette = []color.Color{
	color.RGBA{R: 0x1a, G: 0x73, B: 0xe8, A: 0xff},
	color.RGBA{R: 0x34, G: 0xa8, B: 0x53, A: 0xff},
}

// ErrShape: the chart's series and labels do not fit together.
var ErrShape = errors.New("chart: series and labels differ in length")

// PNG renders b.
func PNG(b Bars) ([]byte, error) {
	if len(b.Series) == 0 || len(b.Series) > len(palette) {
		return nil, fmt.Errorf("%w: %d series", ErrShape, len(b.Series))
	}
	for _, s := range b.Series {
		if len(s.Values) != len(b.Labels) {
			return nil, fmt.Errorf("%w: %q has %d values for %d labels", ErrShape, s.Name, len(s.Values), len(b.Labels))
		}
	}
	p := plot.New()
	p.Y.Label.Text = b.YLabel
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = false
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.X.Tick.Label.Font.Size = vg.Points(8)
	p.Y.Tick.Label.Font.Size = vg.Points(8)
	p.Y.Label.TextStyle.Font.Size = vg.Points(9)

	n := float64(len(b.Series))
	// Bars share 80 % of a group's width, whatever the number of days.
	w := vg.Points(float64(width-60) * 0.75 * 0.8 / float64(max(1, len(b.Labels))) / n)
	most := 0
	for i, s := range b.Series {
		vs := make(plotter.Values, len(s.Values))
		for j, v := range s.Values {
			vs[j] = float64(v)
			most = max(most, v)
		}
		bars, err := plotter.NewBarChart(vs, w)
		if err != nil {
			return nil, fmt.Errorf("chart: %w", err)
		}
		bars.Color = palette[i]
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(float64(i)-(n-1)/2) * w
		p.Add(bars)
		p.Legend.Add(s.Name, bars)
	}
	// Whole numbers on the y axis; headroom for the legend.
	p.Y.Max = float64(most)*1.3 + 1
	p.Y.Tick.Marker = integerTicks{}
	p.NominalX(thin(b.Labels)...)

	c := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(vg.Points(width*0.75), vg.Points(height*0.75)), vgimg.UseDPI(96), vgimg.UseBackgroundColor(color.White))}
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("chart: encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// thin blanks labels so that at most about ten show.
func thin(labels []string) []string {
	step := (len(labels) + 9) / 10
	if step <= 1 {
		return labels
	}
	out := make([]string, len(labels))
	for i, l := range labels {
		if i%step == 0 {
			out[i] = l
		}
	}
	return out
}

// integerTicks marks whole numbers only.
type integerTicks struct{}

func (integerTicks) Ticks(min, max float64) []plot.Tick {
	step := 1
	for (max-min)/float64(step) > 6 {
		step *= 2
	}
	var ts []plot.Tick
	for v := 0; float64(v) <= max; v += step {
		if float64(v) >= min {
			ts = append(ts, plot.Tick{Value: float64(v), Label: fmt.Sprint(v)})
		}
	}
	return ts
}
