//go:build unix

package simexec_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/simexec"
	"github.com/zotune/zotune/wire"
)

// answerModes are the stdio answer protocols, for tests that run in both.
var answerModes = []simexec.Answers{simexec.AnswersID, simexec.AnswersPlain}

// stdioRunner returns a stdio Runner for command with answers.
func stdioRunner(tb testing.TB, answers simexec.Answers, command []string) *simexec.Runner {
	tb.Helper()
	return newRunner(tb, simexec.Options{Command: command, Mode: simexec.ModeStdio, Answers: answers})
}

// taskN is request i of a series: trial i, x = i + 0.25, seed 1000, so
// that every request has its own value, 1000 + i + 0.25, and id.
func taskN(i int) (*wire.Task, float64) {
	x := float64(i) + 0.25
	t := newTask(1000, map[string]float64{"x": x})
	t.Trial = fmt.Sprintf("%06d", i)
	t.ID = t.Study + "/" + t.Trial
	return t, 1000 + x
}

// neverWrong runs n requests and fails the test on any value that is not
// the request's own; it returns the replies.
func neverWrong(t *testing.T, r *simexec.Runner, n int) []wire.Reply {
	t.Helper()
	reps := make([]wire.Reply, n)
	for i := range n {
		task, want := taskN(i)
		reps[i] = r.Handle(context.Background(), task)
		if reps[i].Error == "" && reps[i].Value != want {
			t.Errorf("request %d: value %v accepted, want %v or a failure", i, reps[i].Value, want)
		}
	}
	return reps
}

// wantParse checks that every reply failed with reason parse and an error
// containing each of has.
func wantParse(t *testing.T, reps []wire.Reply, has ...string) {
	t.Helper()
	for i, rep := range reps {
		if rep.Reason != wire.ReasonParse {
			t.Errorf("request %d: reason %q, error %q; want parse", i, rep.Reason, rep.Error)
			continue
		}
		for _, s := range has {
			if !strings.Contains(rep.Error, s) {
				t.Errorf("request %d: error %q does not mention %s", i, rep.Error, s)
			}
		}
	}
}

// A numeric banner written before the first request is read is never
// taken as an answer, whichever the answer protocol: the process starts
// lazily and gets its request at once, so the banner arrives while the
// request is in flight.
func TestStdioNumericBanner(t *testing.T) {
	for _, answers := range answerModes {
		t.Run(string(answers), func(t *testing.T) {
			r := stdioRunner(t, answers, sim("stdio", "-banner", "0.5"))
			wantParse(t, neverWrong(t, r, 8), `"0.5"`)
		})
	}
}

// A simulator that never reads its stdin and prints a plausible value now
// and then never has it accepted.
func TestStdioNeverReadsStdin(t *testing.T) {
	for _, answers := range answerModes {
		t.Run(string(answers), func(t *testing.T) {
			r := stdioRunner(t, answers, sim("noread", "-tick", "20ms"))
			wantParse(t, neverWrong(t, r, 5), `"1.0"`)
		})
	}
}

// An answer naming another request fails, saying which.
func TestStdioWrongID(t *testing.T) {
	for _, answers := range answerModes {
		t.Run(string(answers), func(t *testing.T) {
			r := stdioRunner(t, answers, sim("stdio", "-wrongid"))
			reps := neverWrong(t, r, 4)
			wantParse(t, reps[:1], `"demo/none"`, `"demo/000000"`)
			wantParse(t, reps[1:], `"demo/`)
		})
	}
}

// In id mode an answer without an id fails and says what is expected.
func TestStdioAnswerWithoutID(t *testing.T) {
	r := stdioRunner(t, simexec.AnswersID, sim("stdio", "-plain"))
	wantParse(t, neverWrong(t, r, 3), `"id"`, `{"id":"demo/00000`, "--answers plain")
}

// A blank answer line fails at once, not after the timeout.
func TestStdioBlankLine(t *testing.T) {
	for _, answers := range answerModes {
		t.Run(string(answers), func(t *testing.T) {
			r := newRunner(t, simexec.Options{Command: sim("stdio", "-blank"), Mode: simexec.ModeStdio, Answers: answers, Timeout: time.Hour})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			task, _ := taskN(0)
			rep := r.Handle(ctx, task)
			wantParse(t, []wire.Reply{rep}, "blank line")
		})
	}
}

// A well-behaved simulator keeps its process across requests in either
// protocol, and plain mode warns once, at start, that its answers cannot
// be proven to belong to their requests.
func TestStdioWellBehavedKeepsProcess(t *testing.T) {
	for _, answers := range answerModes {
		t.Run(string(answers), func(t *testing.T) {
			var logs testutil.SyncBuffer
			args := []string{}
			if answers == simexec.AnswersPlain {
				args = append(args, "-plain")
			}
			r := newRunner(t, simexec.Options{Command: sim("stdio", args...), Mode: simexec.ModeStdio, Answers: answers, Logger: zerolog.New(&logs)})
			pids := make(map[float64]int)
			for i, rep := range neverWrong(t, r, 6) {
				mustSucceed(t, rep)
				pids[rep.Metrics["pid"]]++
				if rep.Metrics["n"] != float64(i+1) {
					t.Errorf("request %d answered as the process's request %v", i, rep.Metrics["n"])
				}
			}
			if len(pids) != 1 {
				t.Errorf("processes started: %v; want one serving all requests", pids)
			}
			warned := strings.Count(logs.String(), "cannot be proven")
			if want := map[simexec.Answers]int{simexec.AnswersID: 0, simexec.AnswersPlain: 1}[answers]; warned != want {
				t.Errorf("%d warnings about unprovable answers, want %d; log:\n%s", warned, want, logs.String())
			}
		})
	}
}

// In plain mode an answer that does carry an id is still checked.
func TestStdioPlainChecksIDWhenGiven(t *testing.T) {
	r := stdioRunner(t, simexec.AnswersPlain, sim("stdio"))
	for _, rep := range neverWrong(t, r, 3) {
		mustSucceed(t, rep)
	}
}

// In exec mode the last line may name its request; then it must be this
// request.
func TestExecAnswerID(t *testing.T) {
	for _, tt := range []struct {
		behave string
		errHas string // "" for success
	}{
		{"withid", ""},
		{"otherid", `"demo/other"`},
		{"numid", `"id"`},
	} {
		t.Run(tt.behave, func(t *testing.T) {
			r := newRunner(t, simexec.Options{Command: sim(tt.behave)})
			task, want := taskN(7)
			rep := r.Handle(context.Background(), task)
			if tt.errHas == "" {
				mustSucceed(t, rep)
				if rep.Value != want {
					t.Errorf("value %v, want %v", rep.Value, want)
				}
				return
			}
			wantParse(t, []wire.Reply{rep}, tt.errHas, `"demo/000007"`)
		})
	}
}

func TestAnswersValidated(t *testing.T) {
	for _, tt := range []struct {
		o      simexec.Options
		errHas string
	}{
		{simexec.Options{Command: sim("stdio"), Mode: simexec.ModeStdio, Answers: "json"}, `unknown answers "json"`},
		{simexec.Options{Command: sim("sum"), Answers: simexec.AnswersPlain}, "stdio"},
	} {
		tt.o.Dir = t.TempDir()
		if _, err := simexec.New(tt.o); err == nil || !strings.Contains(err.Error(), tt.errHas) {
			t.Errorf("New(answers %q, mode %q): %v; want an error mentioning %q", tt.o.Answers, tt.o.Mode, err, tt.errHas)
		}
	}
}
