package study

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/wire"
)

// spentRe reads the counts zo.Budget puts in the reason of a study that
// ran out of evaluations.
var spentRe = regexp.MustCompile(`(\d+) evaluations spent of (\d+) \((\d+) succeeded, (\d+) failed\)`)

// summary.json's spent is what the evaluation budget counted, retries and
// evaluations answered from the journal included: the counts in the
// reason of a study that ran out of evaluations (zo.Budget's own) are the
// summary's spent, max_evaluations, evaluations and failures, and so are
// those of its "study finished" log line.
func TestSpentIsWhatTheBudgetCounted(t *testing.T) {
	// Some trials time out (retried), some fail for good (not retried).
	h := handler(func(ctx context.Context, task *wire.Task) wire.Reply {
		n, _ := strconv.Atoi(task.Trial)
		switch {
		case n%5 == 3:
			return wire.Reply{Error: "simulator timed out", Reason: wire.ReasonTimeout}
		case n%11 == 4:
			return wire.Reply{Error: "exited with status 1", Reason: wire.ReasonExit}
		}
		return quartic3(ctx, task)
	})
	m := mem(h)
	dir := t.TempDir()
	sc := testStudy("durable", 30)
	for i, budget := range []int{30, 50} {
		sc.MaxEvaluations = budget
		var logs bytes.Buffer
		s, err := Run(context.Background(), &sc, RunOptions{DataDir: dir, Backend: m, Logger: zerolog.New(&logs)})
		if err != nil || s.Status != "budget" {
			t.Fatalf("budget %d: %v, %s (%s)", budget, err, s.Status, s.Reason)
		}
		if s.Failures == 0 || s.Retries == 0 || i == 1 && s.Replayed == 0 {
			t.Fatalf("budget %d: %d failures, %d retries, %d replayed: the test proves nothing", budget, s.Failures, s.Retries, s.Replayed)
		}
		t.Logf("budget %d: %s; %d retries, %d replayed", budget, s.Reason, s.Retries, s.Replayed)
		want := fmt.Sprintf("%d evaluations spent of %d (%d succeeded, %d failed)", s.Spent, budget, s.Evaluations, s.Failures)
		if got := spentRe.FindString(s.Reason); got != want || s.Counts() != want {
			t.Errorf("budget %d: the budget counted %q, the summary %q (%q)", budget, got, want, s.Counts())
		}
		if s.Spent != s.Evaluations+s.Failures || s.Spent > budget {
			t.Errorf("budget %d: spent %d, %d evaluations, %d failures", budget, s.Spent, s.Evaluations, s.Failures)
		}
		if !bytes.Contains(readFile(t, filepath.Join(dir, "s", "summary.json")), []byte(fmt.Sprintf(`"spent": %d,`, s.Spent))) {
			t.Errorf("budget %d: summary.json has no spent of %d", budget, s.Spent)
		}
		finished := logLine(t, &logs, "study finished")
		for k, v := range map[string]int{"spent": s.Spent, "max_evaluations": budget, "succeeded": s.Evaluations, "failed": s.Failures} {
			if got, ok := finished[k].(float64); !ok || int(got) != v {
				t.Errorf("budget %d: \"study finished\" logs %s = %v, want %d", budget, k, finished[k], v)
			}
		}
	}
}

// logLine returns the last JSON log line whose message is msg.
func logLine(t *testing.T, logs *bytes.Buffer, msg string) map[string]any {
	t.Helper()
	var last map[string]any
	sc := bufio.NewScanner(logs)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if line["message"] == msg {
			last = line
		}
	}
	if last == nil {
		t.Fatalf("no %q in the log:\n%s", msg, strings.TrimSpace(logs.String()))
	}
	return last
}
