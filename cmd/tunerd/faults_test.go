package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zotune/zotune/study"
)

// quarticStudy32 is a durable study of the 32-d rotated quartic from its
// saddle: a few thousand evaluations, served by BIN/quartic in stdio mode.
func quarticStudy32(dataDir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `
[daemon]
data_dir = %q
http = ""
heartbeat = "500ms"

[[evaluator]]
objective = "q32"
command = ["BIN/quartic", "-dim", "32", "-stdio"]
mode = "stdio"
slots = 4
timeout = "30s"

[[study]]
name = "q32"
objective = "q32"
seed = 2
epsilon = 1e-4
`, dataDir)
	for i := 1; i <= 32; i++ {
		fmt.Fprintf(&b, "  [[study.param]]\n  name = \"x%d\"\n  min = -2.0\n  max = 2.0\n  init = 0.0\n", i)
	}
	return b.String()
}

// mountTmpfs mounts a tmpfs of the given size (e.g. "600k") on a new
// directory, unmounted when the test ends. It skips the test when the
// process may not mount file systems.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small file system to fill up (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// A full disk under the data directory ends the study at once with
// "no space left on device", a summary that says failed and resumable,
// and no evaluation lost: once there is room again, the same command
// resumes the study to the same end as a run that never ran out of space.
func TestDiskFull(t *testing.T) {
	refDir := filepath.Join(t.TempDir(), "runs")
	if code, stdout, stderr := runTunerd(t, writeConfig(t, quarticStudy32(refDir))); code != 0 {
		t.Fatalf("reference run: exit %d\n%s\n%s", code, stdout, tail(stderr, 3000))
	}
	want := readSummary(t, filepath.Join(refDir, "q32", "summary.json"))
	t.Run("data_dir", func(t *testing.T) {
		full := mountTmpfs(t, "600k")
		diskFull(t, filepath.Join(full, "runs"), full, want)
	})
	t.Run("store", func(t *testing.T) {
		// Only the JetStream store fills up: the outputs have room, and
		// it is the server turning JetStream off that stops the study.
		full := mountTmpfs(t, "300k")
		runs := filepath.Join(t.TempDir(), "runs")
		if err := os.MkdirAll(runs, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(full, filepath.Join(runs, "jetstream")); err != nil {
			t.Fatal(err)
		}
		diskFull(t, runs, full, want)
	})
}

// diskFull runs the 32-d study into dataDir until the file system mounted
// on mnt is full, then grows it and resumes the study.
func diskFull(t *testing.T, dataDir, mnt string, want study.Summary) {
	cfg := writeConfig(t, quarticStudy32(dataDir))
	code, stdout, stderr := runTunerd(t, cfg)
	if code != 1 || !strings.Contains(stderr, "no space left on device") {
		t.Fatalf("run on a full disk: exit %d, want 1 with \"no space left on device\"\nstdout:\n%s\nstderr:\n%s", code, stdout, tail(stderr, 3000))
	}
	s := readSummary(t, filepath.Join(dataDir, "q32", "summary.json"))
	if s.Status != "failed" || !s.Resumable || !strings.Contains(s.Reason, "no space left on device") {
		t.Fatalf("summary on a full disk: status %s, resumable %v, reason %q", s.Status, s.Resumable, s.Reason)
	}
	stopped := s.Evaluations + s.Failures

	if out, err := exec.Command("mount", "-o", "remount,size=64m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("growing the file system: %v: %s", err, out)
	}
	if code, stdout, stderr := runTunerd(t, cfg); code != 0 {
		t.Fatalf("resumed run: exit %d\n%s\n%s", code, stdout, tail(stderr, 3000))
	}
	got := readSummary(t, filepath.Join(dataDir, "q32", "summary.json"))
	if comparable(got) != comparable(want) {
		t.Errorf("resumed summary differs from the uninterrupted run's:\n%s\nwant\n%s", comparable(got), comparable(want))
	}
	if got.Replayed < stopped-8 {
		t.Errorf("the resumed run replayed %d evaluations; the first had finished %d, at most 8 of them unstored", got.Replayed, stopped)
	}
	t.Logf("stopped after %d evaluations on a full disk (%s); resumed run replayed %d", stopped, s.Reason, got.Replayed)
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
