package zo_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"hash"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/zo"
	"github.com/zotune/zotune/zo/functions"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestGolden from this run")

// goldenDir holds one file per method: every recorded run of that method.
const goldenDir = "testdata/golden"

// goldenRun is what TestGolden records of one run: the whole outcome, the
// progress reports and the queries, bit for bit. Floats are written with
// strconv's shortest exact form ("NaN" and "+Inf" included).
type goldenRun struct {
	Status     string         `json:"status"`
	Reason     string         `json:"reason"`
	X          []string       `json:"x"`
	F          string         `json:"f"`
	GradNorm   string         `json:"grad_norm"`
	LambdaMin  string         `json:"lambda_min"`
	Epsilon    string         `json:"epsilon"`
	Delta      string         `json:"delta"`
	Iterations int            `json:"iterations"`
	Escapes    []goldenEscape `json:"escapes"`
	// Progress is the digest of every progress report, in order.
	Progress string `json:"progress"`
	// Batches and Queries count what the oracle was sent. Sequence is the
	// digest of every batch's queries (points and samples) in order;
	// Sets is the digest of the same batches, each taken as a multiset
	// (its queries sorted): two runs that send the same queries in the
	// same batches, but in another order within a batch, differ in
	// Sequence only.
	Batches  int    `json:"batches"`
	Queries  int    `json:"queries"`
	Sequence string `json:"sequence"`
	Sets     string `json:"sets"`
}

type goldenEscape struct {
	Iteration int    `json:"iteration"`
	Lambda    string `json:"lambda"`
	Step      string `json:"step"`
	From      string `json:"from"`
	To        string `json:"to"`
}

func fstr(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

func fstrs(xs []float64) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fstr(x)
	}
	return out
}

// queryKey is the bytes that identify a query: its sample and the bits of
// its point.
func queryKey(buf []byte, q zo.Query) []byte {
	buf = binary.LittleEndian.AppendUint64(buf[:0], uint64(int64(q.Sample)))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(q.X)))
	for _, x := range q.X {
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(x))
	}
	return buf
}

// recorder passes batches on to an oracle and digests each one, in order
// and as a multiset.
type recorder struct {
	inner            zo.Oracle
	seq, sets        hash.Hash
	batches, queries int
	buf              []byte
}

func newRecorder(inner zo.Oracle) *recorder {
	return &recorder{inner: inner, seq: sha256.New(), sets: sha256.New()}
}

func (r *recorder) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	r.batches++
	r.queries += len(batch)
	r.buf = binary.LittleEndian.AppendUint64(r.buf[:0], uint64(len(batch)))
	r.seq.Write(r.buf)
	r.sets.Write(r.buf)
	keys := make([][32]byte, len(batch))
	for i, q := range batch {
		r.buf = queryKey(r.buf, q)
		r.seq.Write(r.buf)
		keys[i] = sha256.Sum256(r.buf)
	}
	slices.SortFunc(keys, func(a, b [32]byte) int { return slices.Compare(a[:], b[:]) })
	for _, k := range keys {
		r.sets.Write(k[:])
	}
	return r.inner.Evaluate(ctx, batch)
}

// hashFailing fails about one query in 20 of its inner oracle, chosen by
// the query's content and the number of times the same query was asked
// before: the failures do not depend on the order of the queries within a
// batch, and a query asked again may succeed.
type hashFailing struct {
	inner zo.Oracle
	asked map[[32]byte]int
	buf   []byte
}

func (o *hashFailing) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	res, err := o.inner.Evaluate(ctx, batch)
	if err != nil {
		return nil, err
	}
	for i, q := range batch {
		o.buf = queryKey(o.buf, q)
		k := sha256.Sum256(o.buf)
		n := o.asked[k]
		o.asked[k] = n + 1
		h := sha256.Sum256(binary.LittleEndian.AppendUint64(k[:], uint64(n)))
		if binary.LittleEndian.Uint64(h[:8])%20 == 0 {
			res[i] = zo.Result{Err: errors.New("simulated failure")}
		}
	}
	return res, nil
}

// goldenCase is one recorded run.
type goldenCase struct {
	name   string // unique within its method's file
	method string
	set    zo.Settings
	finder finderCase
	oracle func(tb testing.TB) zo.Oracle
	prob   zo.Problem
}

// goldenCases: every method with every finder from the exact saddles of
// two problems of the table (rotated quartic, d = 10; growing saddle,
// d = 6); the variants of the table (SAM, the selectable estimators,
// epochs of several steps) with the finders none and lanczos; the
// methods with mini-batches on the finite sum of TestMethodsFiniteSum
// with the finder lanczos (and online, once); zo-gd with the finders'
// other settings; and every method with 5% of the queries failing, where
// the handling of failed estimates, products and probes shows.
func goldenCases() []goldenCase {
	var cases []goldenCase
	for _, p := range []problem{problems()[1], problems()[3]} {
		oracle := func(tb testing.TB) zo.Oracle { return &boxed{tb: tb, f: p.f, box: p.box} }
		prob := zo.Problem{X0: p.x0, Box: p.box}
		set := zo.Settings{Epsilon: 1e-3, Delta: 0.1}
		for _, v := range methodVariants() {
			for _, fc := range finderCases() {
				if v.some && fc.name != "none" && fc.name != "lanczos" {
					continue
				}
				s := v.set
				s.Epsilon, s.Delta = set.Epsilon, set.Delta
				cases = append(cases, goldenCase{p.name + "/" + v.label + "/" + fc.name, v.method, s, fc, oracle, prob})
			}
		}
	}

	const d, n = 10, 8
	rq := functions.NewRotatedQuartic(d, 1, rand.New(rand.NewPCG(10, 1)))
	nz := functions.Noisy{F: rq, Sigma: 0.02}
	b := zo.Cube(d, -2, 2)
	sum := func(tb testing.TB) zo.Oracle { return &sampled{tb: tb, f: nz, box: b, n: n} }
	for _, name := range []string{zo.MethodGD, zo.MethodSGD, zo.MethodSCSG, zo.MethodSPIDER, zo.MethodSSRGD} {
		for _, est := range []string{"", zo.EstRand} {
			if est != "" && name == zo.MethodGD {
				continue
			}
			fcs := finderCases()[1:2] // lanczos
			if name == zo.MethodSGD && est == "" {
				fcs = finderCases()[1:3] // and online, the stochastic finder
			}
			for _, fc := range fcs {
				s := zo.Settings{Epsilon: 1e-2, Delta: 0.05, Samples: n, Estimator: est}
				label := "finite-sum/" + name
				if est != "" {
					label += "/" + est
				}
				cases = append(cases, goldenCase{label + "/" + fc.name, name, s, fc, sum, zo.Problem{X0: make([]float64, d), Box: b}})
			}
		}
	}

	// A big batch of half the sum: checks and refreshes on a part of the
	// sum (a quieter one, where the big batch can certify), from a point
	// away from the saddle, so that mini-batch steps lead the way.
	quiet := func(tb testing.TB) zo.Oracle {
		return &sampled{tb: tb, f: functions.Noisy{F: rq, Sigma: 2e-4}, box: b, n: n}
	}
	x0 := make([]float64, d)
	for i := range x0 {
		x0[i] = 0.7
	}
	for _, name := range []string{zo.MethodSGD, zo.MethodSCSG, zo.MethodSPIDER, zo.MethodSSRGD} {
		s := zo.Settings{Epsilon: 1e-3, Delta: 0.05, Samples: n, BigBatch: 4, MiniBatch: 1}
		cases = append(cases, goldenCase{"finite-sum/" + name + "/B=4/lanczos", name, s, finderCases()[1], quiet, zo.Problem{X0: x0, Box: b}})
	}

	// The finders' other settings, with zo-gd: adaptive Lanczos and
	// central-difference products.
	for _, p := range []problem{problems()[1], problems()[3]} {
		oracle := func(tb testing.TB) zo.Oracle { return &boxed{tb: tb, f: p.f, box: p.box} }
		for _, fc := range finderSettings() {
			cases = append(cases, goldenCase{p.name + "/zo-gd/" + fc.name, zo.MethodGD, zo.Settings{Epsilon: 1e-3, Delta: 0.1}, fc, oracle, zo.Problem{X0: p.x0, Box: p.box}})
		}
	}

	p := problems()[1]
	failing := func(tb testing.TB) zo.Oracle {
		return &hashFailing{inner: &boxed{tb: tb, f: p.f, box: p.box}, asked: map[[32]byte]int{}}
	}
	for _, fc := range finderSettings() {
		cases = append(cases, goldenCase{"failures/" + p.name + "/zo-gd/" + fc.name, zo.MethodGD, zo.Settings{Delta: 0.05}, fc, failing, zo.Problem{X0: p.x0, Box: p.box}})
	}
	for _, name := range zo.Methods {
		for _, fc := range finderCases() {
			cases = append(cases, goldenCase{"failures/" + p.name + "/" + name + "/" + fc.name, name, zo.Settings{Delta: 0.05}, fc, failing, zo.Problem{X0: p.x0, Box: p.box}})
		}
	}
	return cases
}

// finderSettings are the finders with their settings other than the
// defaults of finderCases.
func finderSettings() []finderCase {
	return []finderCase{
		{"lanczos-adaptive", func() zo.Finder { return negcurv.Lanczos{Adaptive: true} }},
		{"lanczos-central", func() zo.Finder { return negcurv.Lanczos{Settings: negcurv.Settings{Central: true}} }},
		{"online-central", func() zo.Finder { return negcurv.Online{Settings: negcurv.Settings{Central: true}} }},
		{"deterministic-central", func() zo.Finder { return negcurv.Deterministic{Settings: negcurv.Settings{Central: true}} }},
		{"dimer-cold-central", func() zo.Finder { return &negcurv.Dimer{Settings: negcurv.Settings{Central: true}, Cold: true} }},
		{"power-central", func() zo.Finder { return negcurv.Power{Settings: negcurv.Settings{Central: true}} }},
	}
}

// record runs c once and returns what TestGolden compares.
func (c goldenCase) record(t *testing.T) goldenRun {
	rec := newRecorder(c.oracle(t))
	progress := sha256.New()
	set := c.set
	set.Progress = func(p zo.Progress) {
		b := []byte(p.Event)
		for _, x := range []float64{float64(p.Iteration), p.F, p.GradNorm, p.Lambda} {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
		progress.Write(b)
	}
	m, err := zo.NewMethod(c.method, set, c.finder.make(), rand.New(rand.NewPCG(1, 7)))
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Minimize(context.Background(), &zo.Budget{Oracle: rec, Max: 3_000_000}, c.prob)
	if err != nil {
		t.Fatal(err)
	}
	g := goldenRun{
		Status: string(out.Status), Reason: out.Reason, X: fstrs(out.X),
		F: fstr(out.F), GradNorm: fstr(out.GradNorm), LambdaMin: fstr(out.LambdaMin),
		Epsilon: fstr(out.Epsilon), Delta: fstr(out.Delta), Iterations: out.Iterations,
		Escapes:  []goldenEscape{},
		Progress: hex.EncodeToString(progress.Sum(nil)),
		Batches:  rec.batches, Queries: rec.queries,
		Sequence: hex.EncodeToString(rec.seq.Sum(nil)), Sets: hex.EncodeToString(rec.sets.Sum(nil)),
	}
	for _, e := range out.Escapes {
		g.Escapes = append(g.Escapes, goldenEscape{e.Iteration, fstr(e.Lambda), fstr(e.Step), fstr(e.From), fstr(e.To)})
	}
	return g
}

// TestGolden runs every method with every finder (see goldenCases) and
// compares each run, bit for bit, with the run recorded in
// testdata/golden: the outcome, the progress reports and every batch of
// queries, in order. It pins down the behaviour of the optimizers and
// finders while their code is reorganised; a change of behaviour must be
// recorded on purpose, with -update, and explained.
func TestGolden(t *testing.T) {
	cases := goldenCases()
	var mu sync.Mutex
	got := map[string]map[string]goldenRun{} // method → case → run
	want := map[string]map[string]goldenRun{}
	for _, name := range zo.Methods {
		got[name] = map[string]goldenRun{}
		if *update {
			continue
		}
		b, err := os.ReadFile(filepath.Join(goldenDir, name+".json"))
		if err != nil {
			t.Fatalf("%v (record the golden files with -update)", err)
		}
		var w map[string]goldenRun
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatalf("%s.json: %v", name, err)
		}
		want[name] = w
	}
	t.Run("runs", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				g := c.record(t)
				mu.Lock()
				got[c.method][c.name] = g
				mu.Unlock()
				if *update {
					return
				}
				w, ok := want[c.method][c.name]
				if !ok {
					t.Fatalf("no golden run (record it with -update)")
				}
				compareGolden(t, w, g)
			})
		}
	})
	if !*update {
		for name, w := range want {
			for c := range w {
				if _, ok := got[name][c]; !ok {
					t.Errorf("%s.json: golden run %s is no longer run", name, c)
				}
			}
		}
		return
	}
	n := 0
	for _, runs := range got {
		n += len(runs)
	}
	if n != len(cases) {
		t.Fatalf("-update needs every run, %d of %d ran: do not filter below TestGolden", n, len(cases))
	}
	if err := os.MkdirAll(goldenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, runs := range got {
		b, err := json.MarshalIndent(runs, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(goldenDir, name+".json"), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// compareGolden reports every field of got that differs from want.
func compareGolden(t *testing.T, want, got goldenRun) {
	t.Helper()
	if got.Sequence != want.Sequence || got.Batches != want.Batches || got.Queries != want.Queries {
		how := "different queries"
		if got.Sets == want.Sets {
			how = "the same queries in each batch, in another order"
		}
		t.Errorf("queries: %d in %d batches, recorded %d in %d: %s", got.Queries, got.Batches, want.Queries, want.Batches, how)
	}
	wo, _ := json.Marshal(outcomeOnly(want))
	go_, _ := json.Marshal(outcomeOnly(got))
	if string(wo) != string(go_) {
		t.Errorf("outcome:\n got %s\nwant %s", go_, wo)
	}
	if got.Progress != want.Progress {
		t.Errorf("progress reports differ")
	}
}

// outcomeOnly is the run without its digests.
func outcomeOnly(g goldenRun) goldenRun {
	g.Progress, g.Batches, g.Queries, g.Sequence, g.Sets = "", 0, 0, "", ""
	return g
}
