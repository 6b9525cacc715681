package simexec

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// canSwitchUser reports whether the evaluator may start processes as
// another user: it needs CAP_SETUID and CAP_SETGID in its effective set,
// which root has unless they were dropped.
func canSwitchUser() bool {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return os.Geteuid() == 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			const capSetgid, capSetuid = 6, 7
			return err == nil && caps&(1<<capSetgid) != 0 && caps&(1<<capSetuid) != 0
		}
	}
	return os.Geteuid() == 0
}
