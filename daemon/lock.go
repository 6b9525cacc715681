package daemon

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile is the file in data_dir that a running tunerd holds an
// exclusive lock on; it contains that tunerd's pid.
const LockFile = "tunerd.lock"

// lockDataDir takes the exclusive lock of data_dir, so that two tunerds
// never run the same studies into the same outputs and store. The lock is
// an flock(2) on LockFile: held while the returned file is open, and
// released by the kernel when the process dies, however it dies, so a
// tunerd killed with SIGKILL leaves nothing to clean up.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("daemon: lock of data_dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := "unknown"
			if data, err := os.ReadFile(path); err == nil {
				if p := strings.TrimSpace(string(data)); p != "" {
					pid = p
				}
			}
			return nil, fmt.Errorf("data_dir %s is in use by another tunerd (pid %s)", dir, pid)
		}
		return nil, fmt.Errorf("daemon: lock of data_dir %s: %w", dir, err)
	}
	// The pid is for the message above; failing to write it is no reason
	// not to run.
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

// IDFile is the file in data_dir that holds the daemon's id: the holder
// named in the leases of the studies it drives.
const IDFile = "daemon.id"

// daemonID returns the id of the daemon on data_dir, made on first use
// from the host name and a random suffix, and kept in IDFile. Only one
// process holds data_dir's lock, so a lease held under this id by an
// earlier process is known to be free to take again at once.
func daemonID(dir string) (string, error) {
	path := filepath.Join(dir, IDFile)
	if data, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(data)); validID(id) {
			return id, nil
		}
	}
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, host)
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	id := strings.Trim(host, "-")
	if id == "" {
		id = "tunerd"
	}
	id = fmt.Sprintf("%.40s-%s", id, hex.EncodeToString(suffix))
	if err := os.WriteFile(path, []byte(id+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("daemon: id file: %w", err)
	}
	return id, nil
}

// validID reports whether id can name a daemon in a NATS subject token.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
