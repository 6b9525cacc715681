package negcurv_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/zo"
)

// stubFinder queries its oracle in batches of (at most) 10 until it has
// spent queries (forever if 0), then answers with c.
type stubFinder struct {
	queries int
	c       zo.Curvature
	calls   int
}

func (s *stubFinder) Find(ctx context.Context, req zo.FindRequest) (zo.Curvature, error) {
	s.calls++
	for spent := 0; s.queries == 0 || spent < s.queries; {
		n := 10
		if s.queries > 0 {
			n = min(n, s.queries-spent)
		}
		if _, err := req.Oracle.Evaluate(ctx, make([]zo.Query, n)); err != nil {
			return zo.Curvature{Queries: spent}, err
		}
		spent += n
	}
	return s.c, nil
}

// zeroOracle answers 0 everywhere and counts the queries.
type zeroOracle struct{ queries int }

func (o *zeroOracle) Evaluate(_ context.Context, batch []zo.Query) ([]zo.Result, error) {
	o.queries += len(batch)
	return make([]zo.Result, len(batch)), nil
}

// Certified answers with the certifier's none as it is, without calling
// the escape finder; where the certifier found a direction, with the
// escape finder's direction, or the certifier's when the escape finder
// found none or would spend more than its budget (it is cut there); and
// counts every query of both.
func TestCertified(t *testing.T) {
	certNone := zo.Curvature{Lambda: 0.5, Queries: 7}
	certDir := zo.Curvature{Direction: []float64{0, 1}, Lambda: -2, Queries: 7}
	escDir := zo.Curvature{Direction: []float64{1, 0}, Lambda: -1, Queries: 30}
	for _, tc := range []struct {
		name        string
		cert        zo.Curvature
		escape      *stubFinder
		want        zo.Curvature
		wantQueries int // sent to the oracle
		escapeCalls int
	}{
		{"certified", certNone, &stubFinder{queries: 30, c: escDir}, zo.Curvature{Lambda: 0.5, Queries: 7}, 7, 0},
		{"escape direction", certDir, &stubFinder{queries: 30, c: escDir}, zo.Curvature{Direction: escDir.Direction, Lambda: -1, Queries: 37}, 37, 1},
		{"escape endless", certDir, &stubFinder{}, zo.Curvature{Direction: certDir.Direction, Lambda: -2, Queries: 7 + 100}, 7 + 100, 1},
		{"escape none", certDir, &stubFinder{queries: 20, c: zo.Curvature{Lambda: 0.1, Queries: 20}}, zo.Curvature{Direction: certDir.Direction, Lambda: -2, Queries: 7 + 20}, 7 + 20, 1},
	} {
		o := &zeroOracle{}
		c := negcurv.Certified{Escape: tc.escape, Certifier: &stubFinder{queries: 7, c: tc.cert}, Budget: 105}
		got, err := c.Find(context.Background(), zo.FindRequest{Oracle: o, X: make([]float64, 2)})
		if err != nil || got.Lambda != tc.want.Lambda || got.Queries != tc.want.Queries || !slices.Equal(got.Direction, tc.want.Direction) {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
		if o.queries != tc.wantQueries || tc.escape.calls != tc.escapeCalls {
			t.Errorf("%s: %d queries sent, escape finder called %d times; want %d and %d", tc.name, o.queries, tc.escape.calls, tc.wantQueries, tc.escapeCalls)
		}
	}

	// Errors end the call: the certifier's, the escape finder's own, and
	// the oracle's passed on by the escape finder (the study's budget).
	boom := errors.New("boom")
	for _, c := range []negcurv.Certified{
		{Escape: &stubFinder{queries: 7, c: escDir}, Certifier: errFinder{boom}},
		{Escape: errFinder{boom}, Certifier: &stubFinder{queries: 7, c: certDir}},
	} {
		if _, err := c.Find(context.Background(), zo.FindRequest{Oracle: &zeroOracle{}, X: make([]float64, 2)}); !errors.Is(err, boom) {
			t.Errorf("%+v: error %v; want %v", c, err, boom)
		}
	}
	spent := &zo.Budget{Oracle: &zeroOracle{}, Max: 10}
	c := negcurv.Certified{Escape: &stubFinder{queries: 30, c: escDir}, Certifier: &stubFinder{queries: 7, c: certDir}}
	if _, err := c.Find(context.Background(), zo.FindRequest{Oracle: spent, X: make([]float64, 2)}); !errors.Is(err, zo.ErrBudget) {
		t.Errorf("the study's budget spent during the escape: error %v; want %v", err, zo.ErrBudget)
	}
}

type errFinder struct{ err error }

func (f errFinder) Find(context.Context, zo.FindRequest) (zo.Curvature, error) {
	return zo.Curvature{}, f.err
}
