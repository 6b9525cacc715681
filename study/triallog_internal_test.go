package study

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zotune/zotune/wire"
)

// writes records what reaches the file, write by write.
type writes struct {
	f      *os.File
	chunks []string
}

func (w *writes) Write(p []byte) (int, error) {
	w.chunks = append(w.chunks, string(p))
	return w.f.Write(p)
}

// Every write to trials.jsonl holds whole lines, whatever their length
// against the buffer's (a reader never sees a torn line), and the log
// holds every line.
func TestTrialLogWholeLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trials.jsonl")
	l, err := openTrialLog(path)
	if err != nil {
		t.Fatal(err)
	}
	w := &writes{f: l.f}
	l.w = bufio.NewWriterSize(w, 64<<10) // before the first record reaches the writer
	for i, n := range []int{40 << 10, 30 << 10, 10, 100 << 10, 63 << 10, 5} {
		tr := Trial{Trial: wire.TrialID(i), Params: wire.Params{"x": 1}, Error: "failed", Reason: "exit", Stderr: strings.Repeat("e", n)}
		if err := l.record(&tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(true); err != nil {
		t.Fatal(err)
	}
	for i, c := range w.chunks {
		if !strings.HasSuffix(c, "\n") {
			t.Errorf("write %d of %d ends mid-line", i+1, len(w.chunks))
		}
	}
	data, err := os.ReadFile(path)
	if err != nil || strings.Count(string(data), "\n") != 6 {
		t.Errorf("the log has %d lines (%v), want 6", strings.Count(string(data), "\n"), err)
	}
}
