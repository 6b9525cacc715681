// Package simio is the simulator's side of zotune's simulator contract,
// for simulators written in Go: it reads a request, hands it to the
// simulator's own function, and writes the answer as the evaluator wants
// it. The example simulators use it; copy it beside your own (it uses only
// the standard library), or import it.
//
// One program serves both modes. In exec mode (one process per
// evaluation) the request is the JSON object on stdin, with ZOTUNE_PARAMS
// and ZOTUNE_SEED filling in what stdin does not give, and the answer is
// one line on stdout. In stdio mode (-stdio: one long-lived process) each
// line of stdin is a request and each answer is one line on stdout,
// flushed at once. Either way the answer is a JSON object that echoes the
// request's id, {"id": "demo/000007", "value": 1.5, ...}, which is how the
// evaluator knows it answers that request.
package simio

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Request is one evaluation request.
type Request struct {
	ID     string             `json:"id"` // echoed in the answer
	Study  string             `json:"study"`
	Trial  string             `json:"trial"`
	Seed   *int64             `json:"seed"`   // nil: none given
	Params map[string]float64 `json:"params"` // the numeric parameters
	// Labels are the categorical parameters, which arrive as strings
	// ("scheme": "rk4"); nil when there is none.
	Labels map[string]string `json:"-"`
}

// UnmarshalJSON decodes a request, splitting its params into numbers
// (Params) and strings (Labels).
func (r *Request) UnmarshalJSON(data []byte) error {
	var w struct {
		ID     string                     `json:"id"`
		Study  string                     `json:"study"`
		Trial  string                     `json:"trial"`
		Seed   *int64                     `json:"seed"`
		Params map[string]json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*r = Request{ID: w.ID, Study: w.Study, Trial: w.Trial, Seed: w.Seed}
	if w.Params == nil {
		return nil
	}
	var err error
	r.Params, r.Labels, err = splitParams(w.Params)
	return err
}

// splitParams splits a params object into its numbers and its strings.
func splitParams(raw map[string]json.RawMessage) (map[string]float64, map[string]string, error) {
	nums := map[string]float64{}
	var strs map[string]string
	for k, v := range raw {
		if string(bytes.TrimSpace(v)) == "null" {
			return nil, nil, fmt.Errorf("parameter %q is null", k)
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			if strs == nil {
				strs = map[string]string{}
			}
			strs[k] = s
			continue
		}
		var x float64
		if err := json.Unmarshal(v, &x); err != nil {
			return nil, nil, fmt.Errorf("parameter %q is neither a number nor a string: %s", k, v)
		}
		nums[k] = x
	}
	return nums, strs, nil
}

// ErrInput marks a request the simulator cannot evaluate: a malformed
// request, or one with missing or unknown parameters. The program exits
// with status 2, any other error with status 1.
var ErrInput = errors.New("bad request")

// Answer evaluates a request: it returns the answer's JSON object without
// the id, {"value": 1.5, "other": 4}, or an error (wrapping ErrInput when
// the request is at fault).
type Answer func(Request) (string, error)

// Run answers requests as name, in stdio mode when stdio is set, else the
// one request of an exec-mode run, and returns the exit status: 0 on
// success, 2 for a bad request, 1 for any other failure. Errors go to
// stderr, prefixed with name.
func Run(name string, stdio bool, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, answer Answer) int {
	var err error
	if stdio {
		err = serve(stdin, stdout, answer)
	} else {
		err = once(stdin, stdout, getenv, answer)
	}
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	if errors.Is(err, ErrInput) {
		return 2
	}
	return 1
}

// once answers the single request of an exec-mode run.
func once(stdin io.Reader, stdout io.Writer, getenv func(string) string, answer Answer) error {
	req, err := ReadRequest(stdin, getenv)
	if err != nil {
		return err
	}
	line, err := answer(req)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, WithID(line, req.ID))
	return err
}

// ReadRequest reads the single request of an exec-mode run: a JSON object
// on stdin, with ZOTUNE_PARAMS (the params object, or a whole request)
// and ZOTUNE_SEED filling in what stdin does not give.
func ReadRequest(stdin io.Reader, getenv func(string) string) (Request, error) {
	var req Request
	data, err := io.ReadAll(stdin)
	if err != nil {
		return req, fmt.Errorf("%w: reading stdin: %v", ErrInput, err)
	}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &req); err != nil {
			return req, fmt.Errorf("%w: stdin: %v", ErrInput, err)
		}
	}
	if req.Params == nil {
		env := getenv("ZOTUNE_PARAMS")
		if env == "" {
			return req, fmt.Errorf("%w: no params: stdin has none and ZOTUNE_PARAMS is unset", ErrInput)
		}
		var whole Request
		var raw map[string]json.RawMessage
		if json.Unmarshal([]byte(env), &whole) == nil && whole.Params != nil {
			req.Params, req.Labels = whole.Params, whole.Labels
			if req.Seed == nil {
				req.Seed = whole.Seed
			}
		} else if err := json.Unmarshal([]byte(env), &raw); err != nil {
			return req, fmt.Errorf("%w: ZOTUNE_PARAMS: %v", ErrInput, err)
		} else if req.Params, req.Labels, err = splitParams(raw); err != nil {
			return req, fmt.Errorf("%w: ZOTUNE_PARAMS: %v", ErrInput, err)
		}
	}
	if req.Seed == nil {
		if env := getenv("ZOTUNE_SEED"); env != "" {
			s, err := strconv.ParseInt(strings.TrimSpace(env), 10, 64)
			if err != nil {
				return req, fmt.Errorf("%w: ZOTUNE_SEED: %v", ErrInput, err)
			}
			req.Seed = &s
		}
	}
	return req, nil
}

// serve answers one request per line until stdin ends, each answer echoing
// its request's id and flushed at once. Blank lines are skipped. A request
// that cannot be answered ends the loop with its error.
func serve(stdin io.Reader, stdout io.Writer, answer Answer) error {
	in := bufio.NewReader(stdin)
	out := bufio.NewWriter(stdout)
	for {
		line, readErr := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			if err := serveLine(line, out, answer); err != nil {
				return err
			}
		}
		if readErr == io.EOF {
			return nil
		}
		if readErr != nil {
			return fmt.Errorf("reading stdin: %w", readErr)
		}
	}
}

// serveLine answers the request on one line of stdin.
func serveLine(line []byte, out *bufio.Writer, answer Answer) error {
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		return fmt.Errorf("%w: %v", ErrInput, err)
	}
	if req.Params == nil {
		return fmt.Errorf("%w: request has no params", ErrInput)
	}
	ans, err := answer(req)
	if err != nil {
		return err
	}
	out.WriteString(WithID(ans, req.ID))
	out.WriteByte('\n')
	if err := out.Flush(); err != nil {
		return fmt.Errorf("writing answer: %w", err)
	}
	return nil
}

// WithID returns the answer object ans with the request's id as its first
// member, when the request has one. The evaluator takes a stdio answer
// only if it names its request this way: {"id": "demo/7", "value": 1.5}.
func WithID(ans, id string) string {
	if id == "" {
		return ans
	}
	quoted, _ := json.Marshal(id) // a string always encodes
	return `{"id":` + string(quoted) + "," + strings.TrimPrefix(ans, "{")
}

// Seed is the request's seed, 0 when it has none, or override when set
// (for a command line such as ["./sim", "-seed", "{seed}"]).
func Seed(req Request, override *int64) int64 {
	switch {
	case override != nil:
		return *override
	case req.Seed != nil:
		return *req.Seed
	}
	return 0
}
