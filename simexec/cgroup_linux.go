package simexec

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runnerCgroupPrefix starts the names of Runners' cgroups, which go on
// with the evaluator's pid and a random suffix: zotune-PID-HEX.
const runnerCgroupPrefix = "zotune-"

// newRunnerCgroup creates a cgroup for a Runner below the evaluator's own
// cgroup v2, and checks that simulators can be started in cgroups below it.
// It first removes the cgroups of Runners of evaluators that died without
// closing them, killing what is left in them.
func (c *containment) newRunnerCgroup() (string, error) {
	if err := canCloneIntoCgroup(); err != nil {
		return "", err
	}
	own, err := ownCgroup()
	if err != nil {
		return "", err
	}
	c.removeStale(own)
	dir := filepath.Join(own, fmt.Sprintf("%s%d-%s", runnerCgroupPrefix, os.Getpid(), newToken()[:8]))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Errorf("cannot create a cgroup below the evaluator's own: %w", err)
	}
	// Moving a process between cgroups takes write access to the
	// cgroup.procs of both and of their common ancestor.
	for _, f := range []string{filepath.Join(own, "cgroup.procs"), filepath.Join(dir, "cgroup.procs")} {
		fh, err := os.OpenFile(f, os.O_WRONLY, 0)
		if err != nil {
			_ = syscall.Rmdir(dir)
			return "", fmt.Errorf("cannot place processes in cgroups below the evaluator's own: %w", err)
		}
		_ = fh.Close()
	}
	return dir, nil
}

// removeStale removes the Runner cgroups in own whose evaluator process is
// gone (one killed outright cannot close its Runner), after killing what
// their simulators left in them.
func (c *containment) removeStale(own string) {
	entries, err := os.ReadDir(own)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), runnerCgroupPrefix)
		pidText, _, found := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || !found || err != nil || !e.IsDir() || pid == os.Getpid() || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		dir := filepath.Join(own, e.Name())
		sims, _ := os.ReadDir(dir)
		for _, s := range sims {
			if s.IsDir() {
				c.empty(filepath.Join(dir, s.Name()), 0, nil)
			}
		}
		if err := syscall.Rmdir(dir); err == nil {
			c.log.Info().Str("cgroup", dir).Msg("removed the cgroup of an evaluator that is gone")
		}
	}
}

// ownCgroup returns the directory of the evaluator's cgroup v2.
func ownCgroup() (string, error) {
	cgroup, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Errorf("cannot read the evaluator's cgroup: %w", err)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("cannot read the mount table: %w", err)
	}
	return cgroupDir(string(cgroup), string(mounts))
}

// cgroupDir finds the directory of a process's cgroup v2 from its
// /proc/PID/cgroup (the "0::" line) and /proc/PID/mountinfo (a cgroup2
// mount whose root holds it).
func cgroupDir(cgroup, mountinfo string) (string, error) {
	var path string
	for line := range strings.Lines(cgroup) {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "0::"); ok {
			path = p
		}
	}
	if !strings.HasPrefix(path, "/") || strings.Contains(path, "/..") {
		return "", errors.New("the evaluator is in no cgroup v2 hierarchy it can see")
	}
	for line := range strings.Lines(mountinfo) {
		// id parent major:minor root mountpoint options... - fstype source superoptions
		fields := strings.Fields(line)
		sep := slices.Index(fields, "-")
		if sep < 5 || sep+1 >= len(fields) || fields[sep+1] != "cgroup2" {
			continue
		}
		root, mnt := unescapeMount(fields[3]), unescapeMount(fields[4])
		rel, ok := strings.CutPrefix(path, strings.TrimSuffix(root, "/"))
		if !ok || (rel != "" && !strings.HasPrefix(rel, "/")) {
			continue
		}
		return filepath.Join(mnt, rel), nil
	}
	return "", errors.New("no cgroup2 file system is mounted")
}

// unescapeMount undoes the octal escapes (\040 for a space) of a path in
// /proc/self/mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// canCloneIntoCgroup reports whether processes can be started straight into
// a cgroup: clone3 must be allowed (a seccomp filter may refuse it) and the
// kernel 5.7 or later, for CLONE_INTO_CGROUP.
func canCloneIntoCgroup() error {
	// clone3 with no arguments fails with EINVAL where it exists.
	const sysClone3 = 435 // the same on every Linux architecture
	if _, _, errno := syscall.Syscall(sysClone3, 0, 0, 0); errno != syscall.EINVAL {
		return fmt.Errorf("clone3 is not available (%v)", errno)
	}
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return fmt.Errorf("uname: %w", err)
	}
	var rel []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		rel = append(rel, byte(c))
	}
	var major, minor int
	if _, err := fmt.Sscanf(string(rel), "%d.%d", &major, &minor); err != nil || major < 5 || major == 5 && minor < 7 {
		return fmt.Errorf("kernel %s cannot start processes in a cgroup (5.7 or later can)", rel)
	}
	return nil
}

// killCgroup kills every process in the cgroup dir: by cgroup.kill where
// the kernel has it (5.14), else one by one from cgroup.procs. A process
// forked meanwhile is caught by the caller's next round.
func (c *containment) killCgroup(dir string) {
	f, err := os.OpenFile(filepath.Join(dir, "cgroup.kill"), os.O_WRONLY, 0)
	if err == nil {
		_, err = f.Write([]byte("1"))
		_ = f.Close()
		if err == nil {
			return
		}
	}
	for _, pid := range cgroupPids(dir) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// cgroupPids lists the processes in the cgroup dir.
func cgroupPids(dir string) []int {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for f := range bytes.FieldsSeq(data) {
		if pid, err := strconv.Atoi(string(f)); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// populated reports whether the cgroup dir has any process left in it or
// below it; a cgroup that cannot be read counts as empty.
func populated(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "populated "); ok {
			return v != "0"
		}
	}
	return false
}

// empty kills what the cgroup dir holds until it is empty, reaps those of
// its processes (and of killed, processes it held earlier) that became
// the evaluator's zombie children, but for leader, which is os/exec's to
// reap, and removes it. It gives up after releaseWait, leaving the cgroup
// for close.
func (c *containment) empty(dir string, leader int, killed map[int]bool) {
	deadline := time.Now().Add(releaseWait)
	pids := slices.Collect(maps.Keys(killed)) // every process seen in the cgroup
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		for _, pid := range cgroupPids(dir) {
			if !slices.Contains(pids, pid) {
				pids = append(pids, pid)
			}
		}
		c.killCgroup(dir)
		if !populated(dir) {
			break
		}
		if time.Now().After(deadline) {
			c.log.Warn().Str("cgroup", dir).Dur("waited", releaseWait).Ints("pids", cgroupPids(dir)).
				Msg("processes the simulator left could not all be killed; its cgroup stays")
			return
		}
		time.Sleep(wait)
	}
	reapAll(slices.DeleteFunc(pids, func(pid int) bool { return pid == leader }), deadline)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		err := syscall.Rmdir(dir)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			c.log.Warn().Err(err).Str("cgroup", dir).Msg("removing the simulator's cgroup")
			return
		}
		time.Sleep(wait)
	}
}
