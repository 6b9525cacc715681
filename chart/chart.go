// Package chart draws a study's convergence plot: its value against
// evaluations with the negative-curvature escapes marked, the gradient-norm
// trace against ε and the curvature estimates against −δ. The same plot is
// written as convergence.png beside a study's summary and served as SVG by
// the status page.
package chart

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Point is one optimizer iteration, as the plot draws it.
type Point struct {
	Evaluations int
	Value       float64
	GradNorm    float64
	Lambda      float64 // NaN unless a curvature estimate was made
	Escape      bool
}

// Convergence is what the plot of one study shows.
type Convergence struct {
	Title          string
	Points         []Point
	Epsilon, Delta float64 // the thresholds drawn: ε under the gradient norm, −δ under the curvature
}

// WritePNG draws the plot as a PNG at path: written aside and renamed, so
// that a failure leaves no half image. With no points it writes nothing.
func (c *Convergence) WritePNG(path string) error {
	if len(c.Points) == 0 {
		return nil
	}
	plots, err := c.plots()
	if err != nil {
		return err
	}
	return savePNG(path, plots)
}

// WriteSVG draws the plot as SVG to w.
func (c *Convergence) WriteSVG(w io.Writer) error {
	plots, err := c.plots()
	if err != nil {
		return err
	}
	img := vgsvg.New(width, height)
	drawTiles(plots, draw.New(img))
	_, err = img.WriteTo(w)
	return err
}

// plots are the panels of the plot, top to bottom.
func (c *Convergence) plots() ([][]*plot.Plot, error) {
	title, eps, delta := c.Title, c.Epsilon, c.Delta
	sr := seriesOf(c.Points)
	pv, err := valuePlot(title, sr)
	if err != nil {
		return nil, err
	}
	pg, err := gradientPlot(sr, eps)
	if err != nil {
		return nil, err
	}
	pc, err := curvaturePlot(sr, delta)
	if err != nil {
		return nil, err
	}
	for _, p := range []*plot.Plot{pv, pg, pc} {
		p.X.Min, p.X.Max = 0, sr.maxX
		p.Legend.Top = true
	}
	return [][]*plot.Plot{{pv}, {pg}, {pc}}, nil
}

// series are the traces a convergence plot draws, against evaluations.
type series struct {
	val, esc, grad, curv plotter.XYs
	maxX                 float64
}

func seriesOf(trace []Point) series {
	var sr series
	for _, p := range trace {
		x := float64(p.Evaluations)
		if !math.IsNaN(p.Value) && !math.IsInf(p.Value, 0) {
			sr.val = append(sr.val, plotter.XY{X: x, Y: p.Value})
			if p.Escape {
				sr.esc = append(sr.esc, plotter.XY{X: x, Y: p.Value})
			}
		}
		if p.GradNorm > 0 && !math.IsInf(p.GradNorm, 0) {
			sr.grad = append(sr.grad, plotter.XY{X: x, Y: p.GradNorm})
		}
		if !math.IsNaN(p.Lambda) && !math.IsInf(p.Lambda, 0) {
			sr.curv = append(sr.curv, plotter.XY{X: x, Y: p.Lambda})
		}
	}
	if len(trace) > 0 {
		sr.maxX = float64(trace[len(trace)-1].Evaluations)
	}
	return sr
}

// valuePlot is the value against evaluations, escapes marked.
func valuePlot(title string, sr series) (*plot.Plot, error) {
	pv := plot.New()
	pv.Title.Text = title
	pv.Y.Label.Text = "value"
	if err := addLine(pv, sr.val, "value", 0); err != nil {
		return nil, err
	}
	if lo, hi := yRange(sr.val); lo > 0 && hi > lo {
		// Positive values spanning a range read better on a log scale.
		// A constant value stays on the linear one.
		logAxis(&pv.Y, lo, hi)
	}
	if len(sr.esc) > 0 {
		s, err := plotter.NewScatter(sr.esc)
		if err != nil {
			return nil, err
		}
		s.GlyphStyle.Shape = draw.TriangleGlyph{}
		s.GlyphStyle.Radius = vg.Points(4)
		s.GlyphStyle.Color = colorRed
		pv.Add(s)
		pv.Legend.Add("escape (negative curvature)", s)
	}
	return pv, nil
}

// gradientPlot is the gradient norm with ε, on a log scale.
func gradientPlot(sr series, eps float64) (*plot.Plot, error) {
	pg := plot.New()
	pg.Y.Label.Text = "‖ĝ‖"
	if len(sr.grad) == 0 {
		return pg, nil
	}
	if err := addLine(pg, sr.grad, "gradient norm", 0); err != nil {
		return nil, err
	}
	lo, hi := yRange(sr.grad)
	if eps > 0 && !math.IsInf(eps, 0) {
		if err := addLine(pg, plotter.XYs{{X: 0, Y: eps}, {X: sr.maxX, Y: eps}}, "ε", 1); err != nil {
			return nil, err
		}
		lo, hi = min(lo, eps), max(hi, eps)
	}
	logAxis(&pg.Y, lo, hi)
	return pg, nil
}

// curvaturePlot is the finder's curvature estimates with −δ.
func curvaturePlot(sr series, delta float64) (*plot.Plot, error) {
	pc := plot.New()
	pc.Y.Label.Text = "λ̂_min"
	pc.X.Label.Text = "evaluations"
	if len(sr.curv) == 0 {
		return pc, nil
	}
	s, err := plotter.NewScatter(sr.curv)
	if err != nil {
		return nil, err
	}
	pc.Add(s)
	pc.Legend.Add("curvature estimate", s)
	if err := addLine(pc, plotter.XYs{{X: 0, Y: -delta}, {X: sr.maxX, Y: -delta}}, "−δ", 1); err != nil {
		return nil, err
	}
	return pc, nil
}

// savePNG draws plots, one above the other, aligned, to path: written
// aside and renamed, so that a failure leaves no half image.
func savePNG(path string, plots [][]*plot.Plot) error {
	img := vgimg.New(width, height)
	drawTiles(plots, draw.New(img))
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// The plot's size.
const width, height = 8 * vg.Inch, 9 * vg.Inch

// drawTiles draws plots, one above the other, aligned, on dc.
func drawTiles(plots [][]*plot.Plot, dc draw.Canvas) {
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadX: vg.Millimeter, PadY: vg.Millimeter, PadTop: vg.Points(2), PadBottom: vg.Points(2), PadLeft: vg.Points(2), PadRight: vg.Points(2)}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
}

// yRange returns the least and greatest Y of xy.
func yRange(xy plotter.XYs) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, p := range xy {
		lo, hi = min(lo, p.Y), max(hi, p.Y)
	}
	return lo, hi
}

// logAxis puts a on a log scale over [lo, hi]. The range is set here rather
// than left to the plot, which widens a single value v to [v−1, v+1] and
// would take a log scale below zero; a single value gets a decade around
// it instead. A range a log scale cannot show (not positive and finite)
// leaves the axis linear.
func logAxis(a *plot.Axis, lo, hi float64) {
	if hi <= lo {
		lo, hi = lo/math.Sqrt(10), hi*math.Sqrt(10)
	}
	if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) {
		return
	}
	a.Scale = plot.LogScale{}
	a.Tick.Marker = plot.LogTicks{Prec: 1}
	a.Min, a.Max = lo, hi
}

// addLine adds a polyline; dashed draws it dashed (a threshold).
func addLine(p *plot.Plot, xy plotter.XYs, name string, dashed int) error {
	if len(xy) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xy)
	if err != nil {
		return err
	}
	if dashed > 0 {
		l.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		l.LineStyle.Color = colorGrey
	}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

var (
	colorRed  = rgb(0xd6, 0x27, 0x28)
	colorGrey = rgb(0x70, 0x70, 0x70)
)

func rgb(r, g, b uint8) color.RGBA { return color.RGBA{R: r, G: g, B: b, A: 255} }
