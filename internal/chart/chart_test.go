package chart_test

import (
	"bytes"
	"errors"
	"image/png"
	"testing"

	"github.com/postfach/postfach/internal/chart"
)

func TestPNG(t *testing.T) {
	t.Parallel()
	b, err := chart.PNG(chart.Bars{
		Labels: []string{"03.03.", "04.03.", "05.03."},
		Series: []chart.Series{{Name: "Received", Values: []int{2, 1, 0}}, {Name: "Resolved", Values: []int{0, 1, 1}}},
		YLabel: "Conversations",
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if got := img.Bounds().Dx(); got != 600 {
		t.Errorf("width %d, want 600", got)
	}
	if _, err := chart.PNG(chart.Bars{Labels: []string{"a"}, Series: []chart.Series{{Name: "x", Values: []int{1, 2}}}}); !errors.Is(err, chart.ErrShape) {
		t.Errorf("mismatched series: %v, want ErrShape", err)
	}
}
