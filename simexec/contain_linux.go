package simexec

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// containment is how a Runner keeps whatever a simulator starts from
// outliving it.
//
// With cgroup v2, where the evaluator may create cgroups below its own, the
// Runner makes a cgroup of its own and each simulator process is started
// (clone3 with CLONE_INTO_CGROUP) in a cgroup of its own below that. When
// the simulator exits, its whole cgroup is killed, however its descendants
// tried to leave (setsid, double fork), waited to be empty and removed.
//
// Otherwise the evaluator becomes a child subreaper, so that orphans of its
// simulators are reparented to it rather than to init, and each simulator
// carries its own TokenEnv, which its descendants inherit. When the
// simulator exits, its process group and every process whose environment
// holds its token are killed, until none is left, and those that became
// the evaluator's children are reaped, each by its pid.
type containment struct {
	log    zerolog.Logger
	cgroup string // the Runner's cgroup; "" when cgroups are not used
	why    string // why cgroups are not used
	seq    atomic.Uint64

	mu     sync.Mutex
	live   map[string]bool // simulator cgroups in use
	closed bool
}

// newContainment sets up cgroups for a Runner, unless noCgroup is set or
// they cannot be used.
func newContainment(noCgroup bool, log zerolog.Logger) *containment {
	c := &containment{log: log, live: make(map[string]bool), why: "turned off"}
	if !noCgroup {
		dir, err := c.newRunnerCgroup()
		if err == nil {
			c.cgroup = dir
		} else {
			c.why = err.Error()
		}
	}
	return c
}

// String says which containment is in use.
func (c *containment) String() string {
	if c.cgroup != "" {
		return "cgroup " + c.cgroup + ": each simulator runs in a cgroup of its own, killed whole when the simulator exits"
	}
	return "subreaper (no cgroup: " + c.why + "): each simulator runs in a process group of its own, tagged with " +
		TokenEnv + "; when it exits, its group and every process carrying its token are killed"
}

// close removes the Runner's cgroup and whatever simulator cgroups were
// left in it, killing what they hold. Cgroups of simulators still running
// are removed when they end.
func (c *containment) close() {
	if c.cgroup == "" {
		return
	}
	c.mu.Lock()
	c.closed = true
	live := len(c.live)
	c.mu.Unlock()
	entries, err := os.ReadDir(c.cgroup)
	if err != nil {
		c.log.Warn().Err(err).Str("cgroup", c.cgroup).Msg("listing leftover simulator cgroups")
	}
	for _, e := range entries {
		dir := filepath.Join(c.cgroup, e.Name())
		c.mu.Lock()
		inUse := c.live[dir]
		c.mu.Unlock()
		if e.IsDir() && !inUse {
			c.empty(dir, 0, nil)
		}
	}
	if live == 0 {
		c.removeRunnerCgroup()
	}
}

// removeRunnerCgroup removes the Runner's cgroup, which must be empty.
func (c *containment) removeRunnerCgroup() {
	if err := syscall.Rmdir(c.cgroup); err != nil && !errors.Is(err, syscall.ENOENT) {
		c.log.Warn().Err(err).Str("cgroup", c.cgroup).Msg("removing the evaluator's cgroup")
	}
}

// jail contains one simulator process and whatever it starts.
type jail struct {
	c     *containment
	token string   // the simulator's TokenEnv
	dir   string   // the simulator's cgroup; "" without cgroups
	fd    *os.File // dir, open until the simulator has started
	pid   int      // the simulator, once started
	since uint64   // when it started (clock ticks after boot); its descendants are younger
	// leader holds a pidfd of the simulator until release, so that neither
	// its pid nor its process group id can be reused meanwhile.
	leader *os.Process

	mu       sync.Mutex   // serialises kill and release
	killed   map[int]bool // processes kill killed, for release to reap
	released bool         // release is done: nothing more to kill
}

// newJail readies a jail for one simulator process.
func (c *containment) newJail() (*jail, error) {
	j := &jail{c: c, token: newToken(), killed: make(map[int]bool)}
	if c.cgroup == "" {
		becomeSubreaper(c.log)
		return j, nil
	}
	dir := filepath.Join(c.cgroup, "sim-"+strconv.FormatUint(c.seq.Add(1), 10))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create a cgroup for the simulator: %w", err)
	}
	fd, err := os.Open(dir)
	if err != nil {
		_ = syscall.Rmdir(dir)
		return nil, fmt.Errorf("cannot open the simulator's cgroup: %w", err)
	}
	j.dir, j.fd = dir, fd
	c.mu.Lock()
	c.live[dir] = true
	c.mu.Unlock()
	return j, nil
}

// prepare has the process started with attr placed in j's cgroup.
func (j *jail) prepare(attr *syscall.SysProcAttr) {
	if j.fd != nil {
		attr.UseCgroupFD = true
		attr.CgroupFD = int(j.fd.Fd())
	}
}

// started records the simulator process, p, or nil if it did not start.
func (j *jail) started(p *os.Process) {
	if j.fd != nil {
		_ = j.fd.Close()
		j.fd = nil
	}
	if p == nil {
		return
	}
	j.pid = p.Pid
	if leader, err := os.FindProcess(p.Pid); err == nil {
		j.leader = leader
	}
	if st, ok := readStat(p.Pid); ok {
		j.since = st.start
	}
}

// kill kills the simulator, whose pid is pid, and everything in its jail,
// now. A group already gone is os.ErrProcessDone.
func (j *jail) kill(pid int) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.released {
		return os.ErrProcessDone // pid may name another process by now
	}
	err := killGroup(pid)
	if j.dir != "" {
		for _, p := range cgroupPids(j.dir) {
			j.killed[p] = true
		}
		j.c.killCgroup(j.dir)
	} else {
		j.sweepOnce(pid, j.killed)
	}
	return err
}

// release, once the simulator has exited and been waited for, kills
// whatever it left, waits until all of it is gone, reaps those of its
// processes that became the evaluator's children, and removes its cgroup.
func (j *jail) release() {
	j.mu.Lock()
	defer j.mu.Unlock()
	defer func() {
		j.released = true
		if j.leader != nil {
			_ = j.leader.Release()
		}
	}()
	delete(j.killed, j.pid) // the simulator itself is os/exec's to reap
	if j.dir == "" {
		j.sweep()
		return
	}
	if j.pid > 0 {
		_ = killGroup(j.pid)
	}
	j.c.empty(j.dir, j.pid, j.killed)
	j.c.mu.Lock()
	delete(j.c.live, j.dir)
	last := j.c.closed && len(j.c.live) == 0
	j.c.mu.Unlock()
	if last {
		j.c.removeRunnerCgroup()
	}
}

// sweep kills the simulator's process group and every process carrying its
// token, over and over until none is left, reaping those that became the
// evaluator's children. It gives up after releaseWait.
func (j *jail) sweep() {
	seen := j.killed
	deadline := time.Now().Add(releaseWait)
	defer func() { reapAll(slices.Collect(maps.Keys(seen)), deadline) }()
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		if j.pid > 0 {
			_ = killGroup(j.pid)
		}
		if !j.sweepOnce(j.pid, seen) {
			return
		}
		if time.Now().After(deadline) {
			j.c.log.Warn().Int("pid", j.pid).Dur("waited", releaseWait).
				Msg("processes the simulator left could not all be killed")
			return
		}
		time.Sleep(wait)
	}
}

// sweepOnce kills the live processes in pid's group or carrying j's token
// and reaps the evaluator's zombie children among them or among seen,
// which collects the pids killed. It reports whether it found any.
func (j *jail) sweepOnce(pid int, seen map[int]bool) bool {
	live, zombies := scanProcs(j.token, pid, j.since, seen)
	for _, p := range live {
		killIfStill(p, j.token, pid, j.since)
		seen[p] = true
	}
	for _, z := range zombies {
		reap(z)
	}
	return len(live)+len(zombies) > 0
}
