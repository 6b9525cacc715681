package simexec

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestCgroupDir(t *testing.T) {
	const hybrid = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	const unified = `24 30 0:22 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate
`
	for _, tt := range []struct {
		name, cgroup, mountinfo, want, errHas string
	}{
		{"hybrid, root cgroup", "4:memory:/x\n0::/\n", hybrid, "/sys/fs/cgroup/unified", ""},
		{"unified", "0::/system.slice/zotune.service\n", unified, "/sys/fs/cgroup/system.slice/zotune.service", ""},
		{"bind mount of a subtree", "0::/lxc/c1/sub\n",
			"50 1 0:22 /lxc/c1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "/sys/fs/cgroup/sub", ""},
		{"subtree mount not holding the cgroup", "0::/other\n",
			"50 1 0:22 /lxc/c1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "", "no cgroup2"},
		{"escaped mount point", "0::/a\n", `41 31 0:38 / /mnt/cg\040two rw - cgroup2 cgroup2 rw` + "\n", "/mnt/cg two/a", ""},
		{"outside the namespace", "0::/../../x\n", unified, "", "no cgroup v2"},
		{"cgroup v1 only", "4:memory:/x\n", hybrid, "", "no cgroup v2"},
		{"no cgroup2 mount", "0::/\n", "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n", "", "no cgroup2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cgroupDir(tt.cgroup, tt.mountinfo)
			if got != tt.want || (err == nil) != (tt.errHas == "") || err != nil && !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("cgroupDir = %q, %v; want %q, an error mentioning %q", got, err, tt.want, tt.errHas)
			}
		})
	}
}

// Before Linux 5.14 there is no cgroup.kill: every process listed in
// cgroup.procs is killed instead.
func TestKillCgroupWithoutKillFile(t *testing.T) {
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep here: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	dir := t.TempDir() // stands for a cgroup: cgroup.procs, no cgroup.kill
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { defer close(waited); _ = cmd.Wait() }()
	(&containment{log: zerolog.Nop()}).killCgroup(dir)
	select {
	case <-waited:
	case <-time.After(time.Minute):
		t.Fatal("sleep still runs a minute after killCgroup")
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("sleep ended %v; want killed by SIGKILL", cmd.ProcessState)
	}
	if _, err := os.Stat(filepath.Join(dir, "cgroup.kill")); err == nil {
		t.Error("killCgroup created cgroup.kill")
	}
}

// FIONREAD on the write end of a pipe counts the bytes not yet read from
// it, which plain stdio answers are checked against.
func TestUnreadBytes(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if _, err := w.Write([]byte("hello world\n")); err != nil {
		t.Fatal(err)
	}
	if n, err := unreadBytes(w); n != 12 || err != nil {
		t.Errorf("unreadBytes = %d, %v; want 12", n, err)
	}
	if _, err := r.Read(make([]byte, 5)); err != nil {
		t.Fatal(err)
	}
	if n, err := unreadBytes(w); n != 7 || err != nil {
		t.Errorf("after reading 5: unreadBytes = %d, %v; want 7", n, err)
	}
	_ = w.Close()
	if _, err := unreadBytes(w); err == nil {
		t.Error("unreadBytes of a closed pipe: no error")
	}
}

// A Runner removes the cgroups an evaluator killed outright left behind,
// killing what they still hold, and leaves those of live evaluators alone.
func TestRemoveStaleCgroups(t *testing.T) {
	c := newContainment(false, zerolog.Nop())
	t.Cleanup(c.close)
	if c.cgroup == "" {
		t.Skipf("cgroup v2 cannot be used here: %s", c.why)
	}
	own := filepath.Dir(c.cgroup)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Skipf("no true here: %v", err)
	}
	stale := filepath.Join(own, fmt.Sprintf("%s%d-deadbeef", runnerCgroupPrefix, gone.Process.Pid))
	if err := os.MkdirAll(filepath.Join(stale, "sim-1"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Rmdir(filepath.Join(stale, "sim-1")); _ = syscall.Rmdir(stale) })
	fd, err := os.Open(filepath.Join(stale, "sim-1"))
	if err != nil {
		t.Fatal(err)
	}
	left := exec.Command("sleep", "600") // what a simulator left running
	left.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(fd.Fd())}
	err = left.Start()
	_ = fd.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = left.Process.Kill() })
	live := filepath.Join(own, runnerCgroupPrefix+"1-cafe") // pid 1 is alive
	if err := os.Mkdir(live, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Rmdir(live) })
	waited := make(chan struct{})
	go func() { defer close(waited); _ = left.Wait() }()

	c2 := newContainment(false, zerolog.Nop())
	t.Cleanup(c2.close)
	select {
	case <-waited:
	case <-time.After(time.Minute):
		t.Fatal("what the stale cgroup held still runs a minute later")
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale cgroup %s: %v; want it removed", stale, err)
	}
	for _, dir := range []string{c.cgroup, live} {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("the cgroup of a live evaluator's Runner, %s: %v; want it kept", dir, err)
		}
	}
}
