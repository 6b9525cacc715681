package chart

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// The JSON form of a Convergence, trace.json beside a study's
// convergence.png:
//
//	{"title": "…", "epsilon": 0.0001, "delta": 0.01, "spent": 756,
//	 "points": [{"evaluations": 1, "value": 0, "grad_norm": null, "lambda": null}, …,
//	            {"evaluations": 52, "value": -0.2, "grad_norm": 0, "lambda": -16, "escape": true}]}
//
// A number that is not finite (NaN: not measured) is null.
type convergenceJSON struct {
	Title   string      `json:"title"`
	Epsilon *float64    `json:"epsilon"`
	Delta   *float64    `json:"delta"`
	Spent   int         `json:"spent"`
	Points  []pointJSON `json:"points"`
}

type pointJSON struct {
	Evaluations int      `json:"evaluations"`
	Value       *float64 `json:"value"`
	GradNorm    *float64 `json:"grad_norm"`
	Lambda      *float64 `json:"lambda"`
	Escape      bool     `json:"escape,omitempty"`
}

// MarshalJSON writes c in the form of trace.json, a number that is not
// finite as null.
func (c *Convergence) MarshalJSON() ([]byte, error) {
	out := convergenceJSON{Title: c.Title, Epsilon: nullable(c.Epsilon), Delta: nullable(c.Delta), Spent: c.Spent, Points: make([]pointJSON, len(c.Points))}
	for i, p := range c.Points {
		out.Points[i] = pointJSON{Evaluations: p.Evaluations, Value: nullable(p.Value), GradNorm: nullable(p.GradNorm), Lambda: nullable(p.Lambda), Escape: p.Escape}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads c from the form of trace.json, null as NaN. Counts
// must not be negative, and the points' evaluations must not decrease.
func (c *Convergence) UnmarshalJSON(data []byte) error {
	if err := c.decode(data); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}

// decode is UnmarshalJSON; data must be one JSON value and no more.
func (c *Convergence) decode(data []byte) error {
	var in convergenceJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("no data")
		}
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the trace")
	}
	if in.Spent < 0 {
		return fmt.Errorf("spent is %d, negative", in.Spent)
	}
	out := Convergence{Title: in.Title, Epsilon: number(in.Epsilon), Delta: number(in.Delta), Spent: in.Spent, Points: make([]Point, len(in.Points))}
	last := 0
	for i, p := range in.Points {
		if p.Evaluations < last {
			return fmt.Errorf("point %d has %d evaluations, fewer than the point before it (%d)", i, p.Evaluations, last)
		}
		last = p.Evaluations
		out.Points[i] = Point{Evaluations: p.Evaluations, Value: number(p.Value), GradNorm: number(p.GradNorm), Lambda: number(p.Lambda), Escape: p.Escape}
	}
	*c = out
	return nil
}

// WriteJSON writes c to path as JSON (see MarshalJSON): written aside
// and renamed, so that a failure leaves no half file. With no points it
// writes nothing, as WritePNG.
func (c *Convergence) WriteJSON(path string) error {
	if len(c.Points) == 0 {
		return nil
	}
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

// ReadConvergence reads a plot's data written by WriteJSON.
func ReadConvergence(path string) (*Convergence, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	var c Convergence
	if err := c.decode(data); err != nil {
		return nil, fmt.Errorf("chart: reading %s: %w", path, err)
	}
	return &c, nil
}

// nullable is v, or nil if v is not finite.
func nullable(v float64) *float64 {
	if !finite(v) {
		return nil
	}
	return &v
}

// number is *v, or NaN for nil.
func number(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}
