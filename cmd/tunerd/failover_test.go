package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/daemon"
	"github.com/zotune/zotune/internal/natsserver"
	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/transport"
)

// Lease timings of the failover test: a lease lapses after 5 heartbeats.
const (
	failoverHeartbeat = 250 * time.Millisecond
	failoverTTL       = 5 * failoverHeartbeat
)

// failoverConfig is the config of one of two daemons on the NATS server
// at url: its own data_dir (beside the config), its own evaluator.
func failoverConfig(t *testing.T, url string) string {
	return writeConfig(t, fmt.Sprintf(`
[nats]
url = %q

[daemon]
data_dir = "out"
http = ""
heartbeat = "200ms"
lease_heartbeat = %q
lease_ttl = %q
`, url, failoverHeartbeat, failoverTTL)+flakyEvaluator(4, 1))
}

// daemonID waits for the daemon of cfg to have its id, and for it to
// answer on its own API subject, and returns the id.
func daemonID(t *testing.T, cfg string, url string) string {
	t.Helper()
	nc, err := transport.Connect(transport.ConnOptions{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var id string
	testutil.WaitFor(t, time.Minute, "the daemon to answer on its own subject", func() bool {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(cfg), "out", daemon.IDFile))
		if err != nil {
			return false
		}
		id = strings.TrimSpace(string(data))
		_, err = nc.Request(api.DaemonSubject(id, "list"), nil, time.Second)
		return err == nil
	})
	return id
}

// Two tunerd serve on one external NATS server with JetStream, each with
// its own data_dir and evaluator; a study submitted; the daemon driving it
// is killed with SIGKILL half way. The other takes it over within a few
// lease heartbeats, finishes it with the summary of an undisturbed run,
// and the simulator ran no (point, seed) twice beyond the 4 the killed
// daemon's evaluator had in flight.
func TestDaemonFailoverAfterKill9(t *testing.T) {
	ref, refRuns := reference(t)
	srv, err := natsserver.Start(natsserver.Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	simlog := filepath.Join(t.TempDir(), "sim.log")
	env := []string{"FLAKY_LOG=" + simlog, "FLAKY_SLEEP=0.02"}
	var cfgs, ids [2]string
	var cmds [2]*exec.Cmd
	var logs [2]*testutil.SyncBuffer
	for i := range cfgs {
		cfgs[i] = failoverConfig(t, srv.URL())
		cmds[i], logs[i] = startTunerdArgs(t, []string{"serve", cfgs[i]}, env...)
		ids[i] = daemonID(t, cfgs[i], srv.URL())
	}
	crash := filepath.Join(t.TempDir(), "crash.json")
	if err := os.WriteFile(crash, []byte(crashJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	tunerdOK(t, "submit", "--config", cfgs[0], crash)

	testutil.WaitFor(t, time.Minute, "the study to get half way", func() bool { return len(simRuns(t, simlog)) >= refRuns/2 })
	drv := driverOf(t, cfgs[0], ids)
	if err := cmds[drv].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// From the kill on, not from its end: waiting for the process also
	// waits for its evaluators, whose drain takes a while.
	killed := time.Now()
	other := 1 - drv

	testutil.WaitFor(t, time.Minute, "the other daemon to take the study over", func() bool {
		s := studies(t, cfgs[other])["crash"]
		return s.Running && s.Daemon == ids[other]
	})
	took := time.Since(killed)
	_ = cmds[drv].Wait()
	if bound := failoverTTL + 8*failoverHeartbeat; took > bound {
		t.Errorf("takeover %s after the kill; want within the TTL and 8 heartbeats (%s)", took, bound)
	}
	if early := failoverTTL - failoverHeartbeat; took < early {
		t.Errorf("takeover %s after the kill, before the lease could lapse (TTL less the heartbeat since its last renewal: %s)", took, early)
	}
	testutil.WaitFor(t, 2*time.Minute, "the study to finish", func() bool {
		s := studies(t, cfgs[other])["crash"]
		return !s.Running && s.Status != "pending" && s.Status != "running" && s.Status != "stopped"
	})
	got := sameAsReference(t, cfgs[other], ref, "after kill -9 of the driving daemon differs from the uninterrupted run")
	if got.Replayed == 0 {
		t.Error("the daemon that took over replayed nothing from the journal")
	}
	runs := simRuns(t, simlog)
	if d := duplicates(runs); d > 4 {
		t.Errorf("%d simulator runs repeated a finished (point, seed); at most the 4 in flight at the kill may", d)
	}
	if err := cmds[other].Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmds[other].Wait(); err != nil {
		t.Errorf("tunerd serve after SIGTERM: %v\n%s", err, logs[other])
	}
	t.Logf("takeover %s after the kill (%.1f lease heartbeats); %d runs (uninterrupted: %d), %d repeated; %d replayed",
		took.Round(time.Millisecond), float64(took)/float64(failoverHeartbeat), len(runs), refRuns, duplicates(runs), got.Replayed)
}

// driverOf returns which of the daemons ids drives the crash study.
func driverOf(t *testing.T, cfg string, ids [2]string) int {
	t.Helper()
	s := studies(t, cfg)["crash"]
	for i, id := range ids {
		if s.Daemon == id && s.Running {
			return i
		}
	}
	t.Fatalf("the crash study is driven by %q (running %v), not one of %v", s.Daemon, s.Running, ids)
	return -1
}
