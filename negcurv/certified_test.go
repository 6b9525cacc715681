package negcurv_test

import (
	"context"
	"errors"
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

// Certified returns the escape finder's direction as it is; cuts an escape
// finder that would spend more than its budget and lets the certifier
// answer; has the certifier check every none of the escape finder; and
// counts every query of both.
func TestCertified(t *testing.T) {
	none := zo.Curvature{Lambda: 0.5, Queries: 7}
	dir := zo.Curvature{Direction: []float64{1, 0}, Lambda: -1, Queries: 30}
	for _, tc := range []struct {
		name          string
		escape        *stubFinder
		want          zo.Curvature
		wantQueries   int // sent to the oracle
		certifierCall int
	}{
		{"direction", &stubFinder{queries: 30, c: dir}, dir, 30, 0},
		{"endless", &stubFinder{}, zo.Curvature{Lambda: 0.5, Queries: 100 + 7}, 100 + 7, 1},
		{"none", &stubFinder{queries: 20, c: zo.Curvature{Lambda: 0.1, Queries: 20}}, zo.Curvature{Lambda: 0.5, Queries: 20 + 7}, 20 + 7, 1},
	} {
		certifier := &stubFinder{queries: 7, c: none}
		o := &zeroOracle{}
		c := negcurv.Certified{Escape: tc.escape, Certifier: certifier, Budget: 105}
		got, err := c.Find(context.Background(), zo.FindRequest{Oracle: o, X: make([]float64, 2)})
		if err != nil || got.Lambda != tc.want.Lambda || got.Queries != tc.want.Queries || (got.Direction == nil) != (tc.want.Direction == nil) {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
		if o.queries != tc.wantQueries || certifier.calls != tc.certifierCall {
			t.Errorf("%s: %d queries sent, certifier called %d times; want %d and %d", tc.name, o.queries, certifier.calls, tc.wantQueries, tc.certifierCall)
		}
	}

	// An error of the escape finder that is not the budget's ends the call.
	boom := errors.New("boom")
	c := negcurv.Certified{Escape: errFinder{boom}, Certifier: &stubFinder{queries: 7, c: none}}
	if _, err := c.Find(context.Background(), zo.FindRequest{Oracle: &zeroOracle{}, X: make([]float64, 2)}); !errors.Is(err, boom) {
		t.Errorf("escape error: %v; want %v", err, boom)
	}
}

type errFinder struct{ err error }

func (f errFinder) Find(context.Context, zo.FindRequest) (zo.Curvature, error) {
	return zo.Curvature{}, f.err
}
