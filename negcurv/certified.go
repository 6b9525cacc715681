package negcurv

import (
	"context"
	"errors"
	"fmt"

	"github.com/zotune/zotune/zo"
)

// Certified splits a finder's two jobs. Finding a direction at a saddle is
// cheap for every finder: the stronger the negative curvature, the sooner
// it shows. Certifying a none — that no direction of curvature below −δ
// exists — is what costs: the finders must run the iteration count of
// their bound, and for the online, dimer and power finders that bound
// grows as L/δ (tens of thousands of queries at a 12-d minimum, where the
// adaptive Lanczos needs a few hundred). Certified lets Escape look for a
// direction within a bounded number of queries, and leaves every none to
// Certifier: the answer is Escape's direction when it found one, else
// Certifier's (a direction it found, or its none, which certifies or
// not as any none does).
//
// The study layer uses it on deterministic objectives (samples = 1), where
// an adaptive Lanczos is the cheapest sound certificate, for every finder
// but Lanczos; a stochastic objective keeps the finder whose noise model
// fits it, for both jobs.
type Certified struct {
	Escape    zo.Finder
	Certifier zo.Finder
	// Budget is the queries Escape may spend in one call; default
	// EscapeBudget: the most an adaptive Lanczos call can cost.
	Budget int
}

var _ zo.Finder = Certified{}

// errEscapeBudget ends an Escape call that would spend more than its
// budget.
var errEscapeBudget = errors.New("negcurv: the escape finder's query budget is spent")

// EscapeBudget is the default budget of Certified.Escape at req: what an
// adaptive Lanczos may spend at most, one forward Hessian-vector product
// (2n queries per sample) per step for n steps on n free coordinates,
// and a curvature probe.
func EscapeBudget(req zo.FindRequest) int {
	n := len(req.X)
	if req.Free != nil {
		n = 0
		for _, free := range req.Free {
			if free {
				n++
			}
		}
	}
	return (2*n*n + 2) * max(len(req.Samples), 1)
}

// Find implements zo.Finder.
func (c Certified) Find(ctx context.Context, req zo.FindRequest) (zo.Curvature, error) {
	if c.Escape == nil || c.Certifier == nil {
		return zo.Curvature{}, errors.New("negcurv: Certified needs an Escape and a Certifier finder")
	}
	budget := c.Budget
	if budget <= 0 {
		budget = EscapeBudget(req)
	}
	o := &budgeted{Oracle: req.Oracle, left: budget}
	er := req
	er.Oracle = o
	cur, err := c.Escape.Find(ctx, er)
	switch {
	case errors.Is(err, errEscapeBudget):
	case err != nil:
		return zo.Curvature{Queries: o.used}, err
	case cur.Direction != nil:
		return cur, nil
	}
	cert, err := c.Certifier.Find(ctx, req)
	cert.Queries += o.used
	if err != nil {
		return cert, fmt.Errorf("certifying the escape finder's none: %w", err)
	}
	return cert, nil
}

// budgeted is an oracle that refuses a batch that would take it past its
// budget.
type budgeted struct {
	zo.Oracle
	left, used int
}

// Evaluate implements zo.Oracle.
func (b *budgeted) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	if len(batch) > b.left {
		return nil, errEscapeBudget
	}
	res, err := b.Oracle.Evaluate(ctx, batch)
	b.left -= len(batch)
	b.used += len(batch)
	return res, err
}
