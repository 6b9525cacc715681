//go:build unix

package daemon

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/internal/testutil"
)

// A drain may take the fleet's longest evaluator timeout, and then some.
func TestDrainWait(t *testing.T) {
	procs := []*proc{{config: Evaluator{Timeout: time.Minute}}, {config: Evaluator{Timeout: 2 * time.Hour}}, {}}
	if got, want := drainWait(procs), 2*time.Hour+stopMargin; got != want {
		t.Errorf("drainWait = %v, want %v", got, want)
	}
}

// While the fleet waits for its evaluators to drain, an interrupt
// (Options.Interrupt: a second Ctrl-C) sends them a second SIGTERM, which
// ends their drain. The evaluator here is a shell that writes how many SIGTERMs it got
// and exits at the second; its timeout makes the wait an hour.
func TestStopSecondInterrupt(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	terms, ready := filepath.Join(dir, "terms"), filepath.Join(dir, "ready")
	script := `n=0; trap 'n=$((n+1)); echo $n > "$0"; [ $n -ge 2 ] && exit 0' TERM; : > "$1"; while :; do sleep 1; done`
	f := &fleet{log: zerolog.Nop()}
	p := &proc{name: "stand-in", objective: "o", argv: []string{sh, "-c", script, terms, ready}, env: os.Environ(),
		stderr: io.Discard, config: Evaluator{Timeout: time.Hour}}
	f.procs = []*proc{p}
	f.mu.Lock()
	err = f.start(p)
	f.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) })
	testutil.WaitFor(t, 20*time.Second, "the stand-in to set its trap", func() bool { _, err := os.Stat(ready); return err == nil })

	stopped := make(chan struct{})
	interrupt := make(chan struct{}, 1)
	go func() { f.stop(0, interrupt); close(stopped) }()
	count := func() string { data, _ := os.ReadFile(terms); return strings.TrimSpace(string(data)) }
	testutil.WaitFor(t, 20*time.Second, "the first SIGTERM", func() bool { return count() == "1" })
	interrupt <- struct{}{}
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatalf("stop still waits after the interrupt; the stand-in got %q SIGTERMs", count())
	}
	if got := count(); got != "2" {
		t.Errorf("the stand-in got %q SIGTERMs, want 2", got)
	}
}
