package chart

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// panel is one panel of the plot and its legend, which is drawn beside
// the panel rather than over its data.
type panel struct {
	p      *plot.Plot
	legend plot.Legend
	names  []string // the legend's entries, in order
}

func newPanel(ylabel string) *panel {
	pn := &panel{p: plot.New(), legend: plot.NewLegend()}
	pn.p.Y.Label.Text = ylabel
	pn.legend.Top, pn.legend.Left = true, true
	pn.legend.Padding = vg.Points(2)
	return pn
}

// add adds plotters to the panel, with a legend entry name shown by the
// thumbnails of the first plotter of each type among them.
func (pn *panel) add(name string, ps ...plot.Plotter) {
	pn.p.Add(ps...)
	var thumbs []plot.Thumbnailer
	seen := map[string]bool{}
	for _, p := range ps {
		t, ok := p.(plot.Thumbnailer)
		if kind := fmt.Sprintf("%T", p); ok && !seen[kind] {
			seen[kind] = true
			thumbs = append(thumbs, t)
		}
	}
	if len(thumbs) > 0 {
		pn.legend.Add(name, thumbs...)
		pn.names = append(pn.names, name)
	}
}

// panels are the plot's panels, top to bottom: value, gradient norm,
// curvature; every x axis runs from 0 to the evaluations spent.
func (c *Convergence) panels() ([]*panel, error) {
	end := c.end()
	pv, err := valuePanel(c.Title, c.Points, end)
	if err != nil {
		return nil, err
	}
	pg, err := gradientPanel(c.Points, end, c.Epsilon)
	if err != nil {
		return nil, err
	}
	pc, err := curvaturePanel(c.Points, end, c.Delta)
	if err != nil {
		return nil, err
	}
	pc.p.X.Label.Text = "evaluations"
	panels := []*panel{pv, pg, pc}
	for _, pn := range panels {
		pn.p.X.Min, pn.p.X.Max = 0, end
		pn.p.X.Tick.Marker = countTicks{}
	}
	return panels, nil
}

// end is where the x axes end: the evaluations spent, at least those of
// every point, and at least 1.
func (c *Convergence) end() float64 {
	end := max(c.Spent, 1)
	for _, p := range c.Points {
		end = max(end, p.Evaluations)
	}
	return float64(end)
}

// valuePanel is the value against evaluations: each iterate's value holds
// until the next iterate, a step function; an escape is its jump drawn
// red, with a triangle where it landed.
func valuePanel(title string, pts []Point, end float64) (*panel, error) {
	pn := newPanel("value")
	pn.p.Title.Text = title
	value := func(p Point) float64 { return p.Value }
	lo, hi := rangeOf(pts, value, finite)
	// Positive values spanning a decade or more read better on a log
	// scale; others, a value crossing zero or near constant, on a linear one.
	ax, ok := logAxis(lo, hi)
	if !ok || hi < 10*lo {
		ax = linearAxis(lo, hi)
	}
	if err := addSteps(pn, steps(pts, value, finite, end), end, "value", draw.LineStyle{Color: colorBlack, Width: vg.Points(1)}, iterates(pts, value)); err != nil {
		return nil, err
	}
	if err := addEscapes(pn, escapes(pts)); err != nil {
		return nil, err
	}
	ax.apply(&pn.p.Y)
	return pn, nil
}

// addEscapes marks escapes: a red segment from the value before to the
// value after, and a triangle at the value after.
func addEscapes(pn *panel, marks []escapeMark) error {
	if len(marks) == 0 {
		return nil
	}
	var ps []plot.Plotter
	tips := make(plotter.XYs, 0, len(marks))
	for _, m := range marks {
		tips = append(tips, plotter.XY{X: m.x, Y: m.to})
		if !finite(m.from) {
			continue
		}
		l, err := plotter.NewLine(plotter.XYs{{X: m.x, Y: m.from}, {X: m.x, Y: m.to}})
		if err != nil {
			return err
		}
		l.LineStyle = draw.LineStyle{Color: colorRed, Width: vg.Points(2)}
		ps = append(ps, l)
	}
	s, err := plotter.NewScatter(tips)
	if err != nil {
		return err
	}
	s.GlyphStyle = draw.GlyphStyle{Shape: draw.TriangleGlyph{}, Radius: vg.Points(4), Color: colorRed}
	pn.p.Add(ps...)
	pn.add("escape (negative curvature)", s)
	return nil
}

// gradientPanel is the gradient norm with ε, on a log scale, each norm
// over the evaluations of the iterate it was estimated at (see
// backSteps); a norm of exactly 0, which a log scale cannot show, is a
// marker on the bottom of the panel where it was reported.
func gradientPanel(pts []Point, end, eps float64) (*panel, error) {
	pn := newPanel("‖ĝ‖")
	norm := func(p Point) float64 { return p.GradNorm }
	lo, hi := rangeOf(pts, norm, positive)
	if positive(eps) {
		lo, hi = min(lo, eps), max(hi, eps)
	}
	var zeros plotter.XYs // one marker in a column is enough
	for _, p := range pts {
		x := float64(p.Evaluations)
		if p.GradNorm == 0 && (len(zeros) == 0 || math.Floor(x*columns/end) != math.Floor(zeros[len(zeros)-1].X*columns/end)) {
			zeros = append(zeros, plotter.XY{X: x})
		}
	}
	ax, ok := logAxis(lo, hi)
	if !ok {
		if len(zeros) > 0 {
			lo, hi = min(lo, 0), max(hi, 0)
		}
		ax = linearAxis(lo, hi)
	}
	if err := addSteps(pn, backSteps(pts, norm, positive), end, "‖ĝ‖", draw.LineStyle{Color: colorBlack, Width: vg.Points(1)}, nil); err != nil {
		return nil, err
	}
	if len(zeros) > 0 {
		for i := range zeros {
			zeros[i].Y = ax.floor()
		}
		s, err := plotter.NewScatter(zeros)
		if err != nil {
			return nil, err
		}
		s.GlyphStyle = draw.GlyphStyle{Shape: downTriangle{}, Radius: vg.Points(4), Color: colorOrange}
		pn.add("‖ĝ‖ = 0", s)
	}
	if positive(eps) {
		if err := addThreshold(pn, eps, end, "ε"); err != nil {
			return nil, err
		}
	}
	ax.apply(&pn.p.Y)
	return pn, nil
}

// curvaturePanel is the finder's curvature estimates with −δ.
func curvaturePanel(pts []Point, end, delta float64) (*panel, error) {
	pn := newPanel("λ̂_min")
	var xy plotter.XYs
	for _, p := range pts {
		if finite(p.Lambda) {
			xy = append(xy, plotter.XY{X: float64(p.Evaluations), Y: p.Lambda})
		}
	}
	lo, hi := rangeOf(pts, func(p Point) float64 { return p.Lambda }, finite)
	if len(xy) > 0 {
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return nil, err
		}
		s.GlyphStyle = draw.GlyphStyle{Shape: draw.CircleGlyph{}, Radius: vg.Points(3), Color: colorBlue}
		pn.add("curvature estimate", s)
	}
	if finite(delta) {
		if err := addThreshold(pn, -delta, end, "−δ"); err != nil {
			return nil, err
		}
		lo, hi = min(lo, -delta), max(hi, -delta)
	}
	linearAxis(lo, hi).apply(&pn.p.Y)
	return pn, nil
}

// steps is the step function of the points' values v(p): a value holds
// from its point until the next point with a value (NaN is none: not
// measured there), the last one until end. It is a polyline for each run
// of values that ok accepts, broken by the others, and none of its
// segments slopes: a jump is a vertical segment.
func steps(pts []Point, v func(Point) float64, ok func(float64) bool, end float64) []plotter.XYs {
	var runs []plotter.XYs
	var cur plotter.XYs
	for _, p := range pts {
		x, y := float64(p.Evaluations), v(p)
		if math.IsNaN(y) {
			continue
		}
		if len(cur) > 0 {
			cur = append(cur, plotter.XY{X: x, Y: cur[len(cur)-1].Y})
		}
		if !ok(y) {
			if len(cur) > 0 {
				runs, cur = append(runs, cur), nil
			}
			continue
		}
		cur = append(cur, plotter.XY{X: x, Y: y})
	}
	if len(cur) > 0 {
		runs = append(runs, append(cur, plotter.XY{X: end, Y: cur[len(cur)-1].Y}))
	}
	return runs
}

// backSteps is the step function of the points' values v(p) when a
// point's value belongs to the iterate before it: a gradient norm is
// reported with the step it decided, so it is that of the iterate current
// from the point before (0 for the first) to its own. It is a polyline
// for each run of values that ok accepts, broken by the others and by
// NaN (none estimated), and none of its segments slopes.
func backSteps(pts []Point, v func(Point) float64, ok func(float64) bool) []plotter.XYs {
	var runs []plotter.XYs
	var cur plotter.XYs
	from := 0.0
	for _, p := range pts {
		x, y := float64(p.Evaluations), v(p)
		switch {
		case !ok(y):
			if len(cur) > 0 {
				runs, cur = append(runs, cur), nil
			}
		case len(cur) == 0:
			cur = plotter.XYs{{X: from, Y: y}, {X: x, Y: y}}
		default: // cur ends at from
			cur = append(cur, plotter.XY{X: from, Y: y}, plotter.XY{X: x, Y: y})
		}
		from = x
	}
	if len(cur) > 0 {
		runs = append(runs, cur)
	}
	return runs
}

// addSteps adds polylines drawn in sty, and a dot at each of marks,
// under one legend entry; the polylines are thinned to what the panel's
// width, from 0 to end, can show.
func addSteps(pn *panel, runs []plotter.XYs, end float64, name string, sty draw.LineStyle, marks plotter.XYs) error {
	ps := make([]plot.Plotter, 0, len(runs)+1)
	for _, xy := range runs {
		l, err := plotter.NewLine(thin(xy, end/columns))
		if err != nil {
			return err
		}
		l.LineStyle = sty
		ps = append(ps, l)
	}
	if len(marks) > 0 {
		s, err := plotter.NewScatter(marks)
		if err != nil {
			return err
		}
		s.GlyphStyle = draw.GlyphStyle{Shape: draw.CircleGlyph{}, Radius: vg.Points(1.5), Color: sty.Color}
		ps = append(ps, s)
	}
	pn.add(name, ps...)
	return nil
}

// columns is the number of columns of a panel's width within which a
// polyline is thinned: about one for each point of the panel.
const columns = 500

// thin returns xy without the vertices that cannot be told apart at a
// width of w: of the vertices within each column of width w, the first,
// the least, the greatest and the last stay, in order. A long trace
// keeps its look, up and down, in a fraction of the size.
func thin(xy plotter.XYs, w float64) plotter.XYs {
	if !(w > 0) || len(xy) <= 4 {
		return xy
	}
	out := make(plotter.XYs, 0, len(xy))
	for i := 0; i < len(xy); {
		col := math.Floor(xy[i].X / w)
		j, lo, hi := i, i, i
		for ; j < len(xy) && math.Floor(xy[j].X/w) == col; j++ {
			if xy[j].Y < xy[lo].Y {
				lo = j
			}
			if xy[j].Y > xy[hi].Y {
				hi = j
			}
		}
		last := j - 1
		for _, k := range []int{i, min(lo, hi), max(lo, hi), last} {
			if len(out) == 0 || out[len(out)-1] != xy[k] {
				out = append(out, xy[k])
			}
		}
		i = j
	}
	return out
}

// maxDots is the most iterates marked with a dot each: more would run
// together into a thick line.
const maxDots = 100

// iterates are the points with a finite v(p), none if more than maxDots.
func iterates(pts []Point, v func(Point) float64) plotter.XYs {
	var xy plotter.XYs
	for _, p := range pts {
		if y := v(p); finite(y) {
			xy = append(xy, plotter.XY{X: float64(p.Evaluations), Y: y})
		}
	}
	if len(xy) > maxDots {
		return nil
	}
	return xy
}

// addThreshold adds a dashed horizontal line at y across the panel.
func addThreshold(pn *panel, y, end float64, name string) error {
	l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: y}, {X: end, Y: y}})
	if err != nil {
		return err
	}
	l.LineStyle = draw.LineStyle{Color: colorGrey, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
	pn.add(name, l)
	return nil
}

// escapeMark is an escape as drawn: at evaluation x the value went from
// from (NaN if unknown) to to.
type escapeMark struct{ x, from, to float64 }

// escapes are the escapes of the trace with a value to land on; the value
// before is the last known one.
func escapes(pts []Point) []escapeMark {
	var marks []escapeMark
	before := math.NaN()
	for _, p := range pts {
		if !finite(p.Value) {
			continue
		}
		if p.Escape {
			marks = append(marks, escapeMark{x: float64(p.Evaluations), from: before, to: p.Value})
		}
		before = p.Value
	}
	return marks
}

// yAxis is the range and scale of a panel's y axis.
type yAxis struct {
	lo, hi float64
	log    bool
}

// linearAxis is a linear axis showing data in [lo, hi]; see linearRange.
func linearAxis(lo, hi float64) yAxis {
	lo, hi = linearRange(lo, hi)
	return yAxis{lo: lo, hi: hi}
}

// logAxis is a log axis showing positive data in [lo, hi]; ok is false if
// a log axis cannot show them (see logRange).
func logAxis(lo, hi float64) (ax yAxis, ok bool) {
	lo, hi, ok = logRange(lo, hi)
	return yAxis{lo: lo, hi: hi, log: true}, ok
}

// floor is where a value below the axis's scale is drawn: the bottom of a
// log axis, 0 on a linear one.
func (ax yAxis) floor() float64 {
	if ax.log {
		return ax.lo
	}
	return 0
}

// apply sets a to ax, with a ticker that labels at least two ticks. It
// comes after the panel's plotters are added, which would widen it.
func (ax yAxis) apply(a *plot.Axis) {
	a.Min, a.Max = ax.lo, ax.hi
	a.Tick.Marker = linearTicks{}
	if ax.log {
		a.Scale = plot.LogScale{}
		a.Tick.Marker = logTicks{}
	}
}

// rangeOf is the least and greatest of v(p) over the points for which ok
// accepts it; lo > hi if none.
func rangeOf(pts []Point, v func(Point) float64, ok func(float64) bool) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		if y := v(p); ok(y) {
			lo, hi = min(lo, y), max(hi, y)
		}
	}
	return lo, hi
}

func finite(v float64) bool   { return !math.IsNaN(v) && !math.IsInf(v, 0) }
func positive(v float64) bool { return v > 0 && !math.IsInf(v, 0) }

// downTriangle is a triangle glyph pointing down: a value below the
// bottom of the axis.
type downTriangle struct{}

// DrawGlyph implements draw.GlyphDrawer.
func (downTriangle) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(0.5)})
	r := sty.Radius + (sty.Radius-sty.Radius*vg.Length(math.Sin(math.Pi/6)))/2
	var p vg.Path
	p.Move(vg.Point{X: pt.X, Y: pt.Y - r})
	p.Line(vg.Point{X: pt.X - r*vg.Length(math.Cos(math.Pi/6)), Y: pt.Y + r*vg.Length(math.Sin(math.Pi/6))})
	p.Line(vg.Point{X: pt.X + r*vg.Length(math.Cos(math.Pi/6)), Y: pt.Y + r*vg.Length(math.Sin(math.Pi/6))})
	p.Close()
	c.SetColor(sty.Color)
	c.Fill(p)
}

var (
	colorBlack  = rgb(0, 0, 0)
	colorRed    = rgb(0xd6, 0x27, 0x28)
	colorGrey   = rgb(0x70, 0x70, 0x70)
	colorOrange = rgb(0xff, 0x7f, 0x0e)
	colorBlue   = rgb(0x1f, 0x77, 0xb4)
)

func rgb(r, g, b uint8) color.RGBA { return color.RGBA{R: r, G: g, B: b, A: 255} }
