package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/zotune/zotune/examples/internal/tracer"
)

// cmaesSigma is CMA-ES's initial step size σ₀, in the problems' own
// coordinates (every box is at least [−3, 3] wide).
const cmaesSigma = 0.5

// cmaesScript is the path of cmaes_driver.py; main sets it (flag
// -cmaes-script, else next to this source file).
var cmaesScript string

// defaultCMAESScript returns cmaes_driver.py next to this source file, or,
// if the binary was built elsewhere, examples/compare/cmaes_driver.py under
// the working directory.
func defaultCMAESScript() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		p := filepath.Join(filepath.Dir(file), "cmaes_driver.py")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join("examples", "compare", "cmaes_driver.py")
}

// cmaesPython is the Python interpreter that runs the driver; main sets
// it (flag -cmaes-python, else found by findCMAESPython).
var cmaesPython string

// findCMAESPython returns the first of the candidate interpreters that can
// import cmaes: explicit if set, else python3 on PATH and then
// /usr/bin/python3, where Debian's python3-cmaes lives (a pyenv or venv
// python3 first on PATH does not see it). It also checks that the driver
// script exists, and says why the CMA-ES row cannot run if it cannot.
func findCMAESPython(explicit, script string) (string, error) {
	if _, err := os.Stat(script); err != nil {
		return "", fmt.Errorf("driver script: %w", err)
	}
	candidates := []string{"python3", "/usr/bin/python3"}
	if explicit != "" {
		candidates = []string{explicit}
	}
	var errs []error
	for _, py := range candidates {
		path, err := exec.LookPath(py)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := exec.Command(path, "-c", "import cmaes").Run(); err != nil {
			errs = append(errs, fmt.Errorf("%s cannot import cmaes: %w", path, err))
			continue
		}
		return path, nil
	}
	return "", fmt.Errorf("no python3 with the cmaes module (apt-get install python3-cmaes): %w", errors.Join(errs...))
}

// cmaesLabel is the CMA-ES row's method label.
func cmaesLabel() string {
	if cmaesWidth != "default" {
		return fmt.Sprintf("cmaes (python3-cmaes, σ₀=%g, pop %s)", cmaesSigma, cmaesWidth)
	}
	return fmt.Sprintf("cmaes (python3-cmaes, σ₀=%g)", cmaesSigma)
}

// cmaesConfig is the driver's first input line.
type cmaesConfig struct {
	X0    []float64 `json:"x0"`
	Sigma float64   `json:"sigma"`
	Seed  uint64    `json:"seed"`
	Lower []float64 `json:"lower"`
	Upper []float64 `json:"upper"`
	// Popsize is the population size λ, one generation's points; 0: the
	// library's default 4 + ⌊3 ln d⌋.
	Popsize int `json:"popsize,omitempty"`
}

// cmaesWidth is the -cmaes-pop flag: "default" (the library's population),
// "matched" (the population as wide as the mean batch of the row named
// matchedRow on the same problem and seed), or a number.
var cmaesWidth = "default"

// matchedRow is the zotune row whose batch width -cmaes-pop matched copies.
const matchedRow = "zo-gd+lanczos-adaptive"

// cmaesPopulation returns the population size for the CMA-ES row after the
// rows rs of the same problem and seed, per cmaesWidth (0: the default).
func cmaesPopulation(rs []result) (int, error) {
	switch cmaesWidth {
	case "default":
		return 0, nil
	case "matched":
		for _, r := range rs {
			if r.method != matchedRow {
				continue
			}
			q, n := r.queries, r.rounds
			if r.hitQ >= 0 {
				q, n = r.hitQ, r.hitR
			}
			return max(2, int(math.Round(float64(q)/float64(max(n, 1))))), nil
		}
		return 0, fmt.Errorf("-cmaes-pop matched needs the %s row", matchedRow)
	}
	n, err := strconv.Atoi(cmaesWidth)
	if err != nil || n < 2 {
		return 0, fmt.Errorf("-cmaes-pop %q: want default, matched or a number ≥ 2", cmaesWidth)
	}
	return n, nil
}

// runCMAES runs the cmaes library's CMA-ES (through cmaes_driver.py) on p
// from p.x0 with σ₀ = cmaesSigma, p's box as bounds and the given seed.
// Every evaluated point is a query and every generation a round; the last
// generation is cut so that at most budget points are evaluated.
func runCMAES(p problem, target float64, budget int, seed uint64, popsize int) result {
	tr := tracer.New(func(x []float64, _ int) float64 { return p.f(x) }, nil, tracer.Below(target)).WithSlots(slotWidths...)
	start := time.Now()
	cfg := cmaesConfig{X0: p.x0, Sigma: cmaesSigma, Seed: seed, Lower: p.box.Lower, Upper: p.box.Upper, Popsize: popsize}
	pop, restarts, err := driveCMAES(cmaesScript, cfg, tr, budget)
	note := fmt.Sprintf("pop %d, %d restarts", pop, restarts)
	if err != nil {
		note = "error: " + err.Error()
	}
	return result{method: cmaesLabel(), hitQ: tr.HitQ, hitR: tr.HitR, hitSlots: tr.HitSlot, best: tr.Best, queries: tr.Queries, rounds: tr.Rounds, note: note, elapsed: time.Since(start)}
}

// driveCMAES starts the driver, sends cfg, and evaluates its generations
// with tr until budget points are evaluated; it returns the population
// size of the first generation and the driver's restarts by the last.
func driveCMAES(script string, cfg cmaesConfig, tr *tracer.Tracer, budget int) (pop, restarts int, err error) {
	cmd := exec.Command(cmaesPython, script)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("start %s: %w", script, err)
	}
	defer func() {
		// Close stdin (the driver then exits) and drain its output: a
		// generation it wrote but Go did not read must not block its exit.
		stdin.Close()
		_, _ = io.Copy(io.Discard, stdout)
		if werr := cmd.Wait(); err == nil && werr != nil {
			err = fmt.Errorf("cmaes driver: %w", werr)
		}
	}()
	enc, dec := json.NewEncoder(stdin), json.NewDecoder(bufio.NewReader(stdout))
	if err := enc.Encode(cfg); err != nil {
		return 0, 0, fmt.Errorf("send config: %w", err)
	}
	for tr.Queries < budget {
		var gen struct {
			Xs       [][]float64 `json:"xs"`
			Restarts int         `json:"restarts"`
		}
		if err := dec.Decode(&gen); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return pop, restarts, fmt.Errorf("read generation: %w", err)
		}
		if len(gen.Xs) == 0 {
			return pop, restarts, errors.New("cmaes driver sent an empty generation")
		}
		if pop == 0 {
			pop = len(gen.Xs)
		}
		restarts = gen.Restarts
		values := evaluateGeneration(tr, gen.Xs, budget)
		if len(values) < len(gen.Xs) {
			break // budget spent within this generation
		}
		if err := enc.Encode(map[string][]float64{"values": values}); err != nil {
			return pop, restarts, fmt.Errorf("send values: %w", err)
		}
	}
	if err := enc.Encode(map[string]bool{"stop": true}); err != nil {
		return pop, restarts, fmt.Errorf("send stop: %w", err)
	}
	return pop, restarts, nil
}

// evaluateGeneration evaluates xs as one round of tr, at most up to budget
// queries; a non-finite value is passed on as math.MaxFloat64 (JSON has no
// infinity), which ranks the point last.
func evaluateGeneration(tr *tracer.Tracer, xs [][]float64, budget int) []float64 {
	tr.Round(min(len(xs), budget-tr.Queries))
	values := make([]float64, 0, len(xs))
	for _, x := range xs {
		if tr.Queries >= budget {
			break
		}
		v := tr.F(x, 0)
		if !tr.Record(x, v) {
			v = math.MaxFloat64
		}
		values = append(values, v)
	}
	return values
}

// runCMAESAfter runs the CMA-ES row after the rows rs of the same problem
// and seed, with the population -cmaes-pop asks for.
func runCMAESAfter(rs []result, p problem, target float64, budget int, seed uint64) result {
	pop, err := cmaesPopulation(rs)
	if err != nil {
		log.Fatal(err)
	}
	return runCMAES(p, target, budget, seed, pop)
}
