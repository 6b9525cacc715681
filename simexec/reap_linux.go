package simexec

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// subreaperOnce makes the evaluator a child subreaper once, for good.
var subreaperOnce sync.Once

// becomeSubreaper makes the evaluator process a child subreaper: orphans
// of its simulators (a grandchild whose parent exited, one that called
// setsid) are reparented to it instead of init, so that they can be
// reaped once killed.
func becomeSubreaper(log zerolog.Logger) {
	subreaperOnce.Do(func() {
		const prSetChildSubreaper = 36
		if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
			log.Warn().Err(errno).Msg("cannot become a child subreaper; orphans of simulators are still killed, and reaped by init")
		}
	})
}

// procInfo is what /proc/<pid>/stat says of a process.
type procInfo struct {
	state byte // R, S, D, Z, ...
	ppid  int
	pgrp  int
	start uint64 // when it started, in clock ticks after boot
}

// readStat reads /proc/<pid>/stat.
func readStat(pid int) (procInfo, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, false
	}
	// "pid (comm) state ppid pgrp ...": comm may hold spaces and parens.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procInfo{}, false
	}
	f := bytes.Fields(data[i+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return procInfo{}, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	pgrp, err2 := strconv.Atoi(string(f[2]))
	start, err3 := strconv.ParseUint(string(f[19]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procInfo{}, false
	}
	return procInfo{state: f[0][0], ppid: ppid, pgrp: pgrp, start: start}, true
}

// hasToken reports whether the environment pid started with holds
// TokenEnv=token.
func hasToken(pid int, token string) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	entry := []byte(TokenEnv + "=" + token)
	for kv := range bytes.SplitSeq(env, []byte{0}) {
		if bytes.Equal(kv, entry) {
			return true
		}
	}
	return false
}

// scanProcs lists the live processes in leader's process group (but for
// leader itself) or carrying token, and the evaluator's zombie children
// among those, or among seen. The leader is never listed as a zombie: it
// is os/exec's to reap. Processes started before since (the leader's start
// time) cannot descend from it and are passed over.
func scanProcs(token string, leader int, since uint64, seen map[int]bool) (live, zombies []int) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, nil
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || pid == leader {
			continue
		}
		st, ok := readStat(pid)
		if !ok || st.start < since {
			continue
		}
		member := leader > 0 && st.pgrp == leader
		if st.state == 'Z' || st.state == 'X' {
			if st.ppid == self && (member || seen[pid]) {
				zombies = append(zombies, pid)
			}
			continue
		}
		if member || hasToken(pid, token) {
			live = append(live, pid)
		}
	}
	return live, zombies
}

// killIfStill kills pid if, once a pidfd pins it, it is still in leader's
// group or carries token, and started no earlier than since: a pid found
// in a scan may have been reused since.
func killIfStill(pid int, token string, leader int, since uint64) {
	p, err := os.FindProcess(pid) // a pidfd, where the kernel has them
	if err != nil {
		return
	}
	defer func() { _ = p.Release() }()
	st, ok := readStat(pid)
	if ok && st.start >= since && (leader > 0 && st.pgrp == leader || hasToken(pid, token)) {
		_ = p.Signal(syscall.SIGKILL)
	}
}

// reapAll reaps those of pids, processes of a jail that were all killed,
// that are or become zombie children of the evaluator, each by its pid:
// never wait(-1), which would take exit statuses os/exec is waiting for.
// A pid whose process is still exiting, or whose parent is one of pids
// (so that it is to be reparented to the evaluator, a subreaper), is
// waited for until deadline; one that is gone, or whose parent is
// another process, is not the evaluator's to reap.
func reapAll(pids []int, deadline time.Time) {
	self := os.Getpid()
	in := make(map[int]bool, len(pids))
	for _, pid := range pids {
		in[pid] = true
	}
	for wait := time.Millisecond; len(pids) > 0; wait = min(2*wait, 50*time.Millisecond) {
		var next []int
		for _, pid := range pids {
			st, ok := readStat(pid)
			switch {
			case !ok: // gone: reaped by its parent
			case st.ppid == self && (st.state == 'Z' || st.state == 'X'):
				reap(pid)
			case st.ppid == self || in[st.ppid]:
				next = append(next, pid) // still exiting, or soon reparented
			}
		}
		pids = next
		if len(pids) == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(wait)
	}
}

// reap collects the exit status of pid, a zombie child of the evaluator.
func reap(pid int) {
	var ws syscall.WaitStatus
	for {
		if _, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); err != syscall.EINTR {
			return
		}
	}
}
