// Package chart draws a study's convergence plot: its value against
// evaluations with the negative-curvature escapes marked, the gradient-norm
// trace against ε and the curvature estimates against −δ. The same plot is
// written as convergence.png beside a study's summary and served as SVG by
// the status page; its data are kept as trace.json (see WriteJSON), so that
// the plot of a study no longer running can be drawn again.
//
// Every panel runs to the evaluations spent, labels at least two ticks on
// each axis whatever the data, and has its legend to the right of its data
// area, where it cannot hide them.
package chart

import (
	"fmt"
	"io"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Point is one optimizer iteration, as the plot draws it, reported when
// the iteration ended. Value is that of the iterate it moved to, which
// holds until the next point; GradNorm and Lambda were estimated at the
// iterate current since the point before, the one it moved from (or
// stayed at, certifying it).
type Point struct {
	Evaluations int     // evaluations spent when the iteration ended, failures included
	Value       float64 // NaN if not measured
	GradNorm    float64 // NaN if none was estimated
	Lambda      float64 // NaN unless a curvature estimate was made
	Escape      bool    // the iteration was an escape along negative curvature
}

// Convergence is what the plot of one study shows.
type Convergence struct {
	Title          string
	Points         []Point
	Epsilon, Delta float64 // the thresholds drawn: ε under the gradient norm, −δ under the curvature
	// Spent is the evaluations spent so far, failures included: what the
	// budget counts. Every panel's x axis runs to it, or to the last
	// point's evaluations if that is more.
	Spent int
}

// WritePNG draws the plot as a PNG at path: written aside and renamed, so
// that a failure leaves no half image. With no points it writes nothing.
func (c *Convergence) WritePNG(path string) error {
	if len(c.Points) == 0 {
		return nil
	}
	img := vgimg.New(width, height)
	if _, err := c.draw(draw.New(img)); err != nil {
		return err
	}
	return writeAtomic(path, func(w io.Writer) error {
		_, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w)
		return err
	})
}

// WriteSVG draws the plot as SVG to w, 576×648 pt. Its text is SVG text
// naming the plot's font (Liberation Serif; a browser without it uses its
// default font). No font is embedded and long traces are thinned to
// what the plot can show, which keeps it small: 20 to 50 kB for a trace
// of a few to 20000 iterations.
func (c *Convergence) WriteSVG(w io.Writer) error {
	img := vgsvg.New(width, height)
	if _, err := c.draw(draw.New(img)); err != nil {
		return err
	}
	_, err := img.WriteTo(w)
	return err
}

// The plot's size.
const width, height = 8 * vg.Inch, 9 * vg.Inch

// layout is where the panels' data areas and legends were drawn, top to
// bottom; a panel without a legend has an empty rectangle.
type layout struct {
	data, legends []vg.Rectangle
}

// Spacing of the figure: around it, and between a panel and its legend.
var (
	pad       = vg.Points(4)
	legendGap = vg.Points(10)
)

// draw draws the panels one above the other, data areas aligned, each
// with its legend to the right of the data area, and returns where.
func (c *Convergence) draw(dc draw.Canvas) (layout, error) {
	panels, err := c.panels()
	if err != nil {
		return layout{}, err
	}
	var legendW vg.Length
	for _, pn := range panels {
		if len(pn.names) > 0 {
			r := pn.legend.Rectangle(dc)
			legendW = max(legendW, r.Max.X-r.Min.X)
		}
	}
	area := dc
	area.Max.X -= legendW + legendGap
	plots := make([][]*plot.Plot, len(panels))
	for i, pn := range panels {
		plots[i] = []*plot.Plot{pn.p}
	}
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: 2 * pad, PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: pad}
	canvases := plot.Align(plots, tiles, area)
	var out layout
	for i, pn := range panels {
		c := canvases[i][0]
		pn.p.Draw(c)
		data := pn.p.DataCanvas(c).Rectangle
		out.data = append(out.data, data)
		if len(pn.names) == 0 {
			out.legends = append(out.legends, vg.Rectangle{})
			continue
		}
		r := pn.legend.Rectangle(dc)
		w, h := r.Max.X-r.Min.X, r.Max.Y-r.Min.Y+pn.legend.TextStyle.FontExtents().Descent
		x0 := c.Max.X + legendGap
		at := vg.Rectangle{Min: vg.Point{X: x0, Y: data.Max.Y - h}, Max: vg.Point{X: x0 + w, Y: data.Max.Y}}
		pn.legend.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: at})
		out.legends = append(out.legends, at)
	}
	return out, nil
}

// writeAtomic writes path through write: aside first, then renamed, so
// that a failure leaves no half file and a reader never sees one.
func writeAtomic(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("chart: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("chart: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}
