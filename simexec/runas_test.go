//go:build unix

package simexec_test

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/zotune/zotune/simexec"
)

// openDir returns a fresh temporary directory that any user may enter
// (mode perm), with every directory above it enterable too.
func openDir(t *testing.T, perm os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, perm); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Simulators run as the given user, in working directories of theirs.
func TestRunAs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running simulators as another user needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody here: %v", err)
	}
	for _, mode := range []simexec.Mode{simexec.ModeExec, simexec.ModeStdio} {
		t.Run(string(mode), func(t *testing.T) {
			rf := filepath.Join(openDir(t, 0o777), "report.json")
			behave := "sum"
			if mode == simexec.ModeStdio {
				behave = "stdio"
			}
			r := newRunner(t, simexec.Options{Command: sim(behave, "-report", rf), Mode: mode, RunAs: "nobody", Dir: openDir(t, 0o755)})
			rep := r.Handle(context.Background(), newTask(1, map[string]float64{"x": 0.5}))
			mustSucceed(t, rep)
			if rep.Value != 1.5 {
				t.Errorf("value %v, want 1.5", rep.Value)
			}
			rp := readReport(t, rf)
			if strconv.Itoa(rp.Uid) != nobody.Uid || strconv.Itoa(rp.Gid) != nobody.Gid {
				t.Errorf("simulator ran as uid %d, gid %d; want nobody's, %s:%s", rp.Uid, rp.Gid, nobody.Uid, nobody.Gid)
			}
			if !rp.CwdWritable {
				t.Errorf("the simulator cannot write its working directory %s", rp.Cwd)
			}
		})
	}
}

func TestRunAsRefused(t *testing.T) {
	root := os.Geteuid() == 0
	for _, tt := range []struct {
		name   string
		runAs  string
		dir    func(*testing.T) string
		errHas string
		asRoot *bool // whether the test needs root (true) or another user (false); nil: either
	}{
		{name: "no such user", runAs: "zotune-no-such-user", errHas: "zotune-no-such-user"},
		{name: "bad uid:gid", runAs: "nobody:staff", errHas: "uid:gid in numbers"},
		{name: "unreachable work directory", runAs: "65534:65534", asRoot: ptr(true), errHas: "cannot enter",
			dir: func(t *testing.T) string { return filepath.Join(openDir(t, 0o700), "work") }},
		{name: "no privilege", runAs: "65534:65534", asRoot: ptr(false), errHas: "CAP_SETUID"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.asRoot != nil && *tt.asRoot != root {
				t.Skipf("this case needs to run %s", map[bool]string{true: "as root", false: "as a user other than root"}[*tt.asRoot])
			}
			o := simexec.Options{Command: sim("sum"), RunAs: tt.runAs, Dir: t.TempDir()}
			if tt.dir != nil {
				o.Dir = tt.dir(t)
			}
			if _, err := simexec.New(o); err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("New(RunAs %q): %v; want an error mentioning %q", tt.runAs, err, tt.errHas)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
