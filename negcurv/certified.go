package negcurv

import (
	"context"
	"errors"

	"github.com/zotune/zotune/zo"
)

// Certified splits a finder's two jobs. Finding a direction at a saddle is
// cheap for every finder: the stronger the negative curvature, the sooner
// it shows. Certifying a none — that no direction of curvature below −δ
// exists — is what costs: the finders must run the iteration count of
// their bound, and for the online, dimer and power finders that bound
// grows as L/δ (tens of thousands of queries at a 12-d minimum, where the
// adaptive Lanczos needs a few hundred).
//
// Certified asks Certifier first. Its none is the answer: the point is
// certified, or not, as by any none. Where it finds a direction, Escape
// looks for one too, within Budget queries, and its direction is the
// answer; if it finds none in its budget, the Certifier's is.
//
// The study layer uses it on deterministic objectives (samples = 1), where
// an adaptive Lanczos is the cheapest sound certificate, for every finder
// but Lanczos; a stochastic objective keeps the finder whose noise model
// fits it, for both jobs.
type Certified struct {
	Escape    zo.Finder
	Certifier zo.Finder
	// Budget is the queries Escape may spend in one call; default
	// EscapeBudget.
	Budget int
}

var _ zo.Finder = Certified{}

// errEscapeBudget ends an Escape call that would spend more than its
// budget.
var errEscapeBudget = errors.New("negcurv: the escape finder's query budget is spent")

// EscapeBudget is the default budget of Certified.Escape at req: the
// setup of a power-type finder (the Hessian-vector product at its start
// and lIters Lanczos steps that estimate L), then 4n products (n free
// coordinates; a forward product differences every coordinate, 2d queries
// per sample), and a curvature probe. The online finder, the slowest to
// find a direction, needs 18–26 products at the saddles of the 12-d
// quartics; 4n is 48.
func EscapeBudget(req zo.FindRequest) int {
	d := len(req.X)
	n := countFree(req.Free, d)
	return (2*d*(lIters+1+4*n) + 3) * max(len(req.Samples), 1)
}

// Find implements zo.Finder.
func (c Certified) Find(ctx context.Context, req zo.FindRequest) (zo.Curvature, error) {
	if c.Escape == nil || c.Certifier == nil {
		return zo.Curvature{}, errors.New("negcurv: Certified needs an Escape and a Certifier finder")
	}
	cert, err := c.Certifier.Find(ctx, req)
	if err != nil || cert.Direction == nil {
		return cert, err
	}
	budget := c.Budget
	if budget <= 0 {
		budget = EscapeBudget(req)
	}
	o := &budgeted{Oracle: req.Oracle, left: budget}
	er := req
	er.Oracle = o
	esc, err := c.Escape.Find(ctx, er)
	switch {
	case errors.Is(err, errEscapeBudget) || err == nil && esc.Direction == nil:
		cert.Queries += o.used
		return cert, nil
	case err != nil:
		return zo.Curvature{Queries: cert.Queries + o.used}, err
	}
	esc.Queries += cert.Queries
	return esc, nil
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
