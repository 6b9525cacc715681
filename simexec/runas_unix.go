//go:build unix

package simexec

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// runAs is the user simulators run as (Options.RunAs).
type runAs struct {
	spec     string // as given
	uid, gid uint32
	groups   []uint32 // supplementary groups
	same     bool     // the evaluator's own user and group: nothing to switch
}

// newRunAs resolves spec, a user name, a numeric uid or uid:gid, and
// checks that the evaluator may switch to it. It returns nil for "".
func newRunAs(spec string) (*runAs, error) {
	if spec == "" {
		return nil, nil
	}
	u, err := lookupRunAs(spec)
	if err != nil {
		return nil, err
	}
	u.same = u.uid == uint32(os.Geteuid()) && u.gid == uint32(os.Getegid())
	if !u.same && !canSwitchUser() {
		return nil, fmt.Errorf("simexec: cannot run simulators as %s: the evaluator must run as root or with the capabilities CAP_SETUID and CAP_SETGID", u)
	}
	return u, nil
}

func lookupRunAs(spec string) (*runAs, error) {
	if us, gs, ok := strings.Cut(spec, ":"); ok {
		uid, err1 := strconv.ParseUint(us, 10, 32)
		gid, err2 := strconv.ParseUint(gs, 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("simexec: run as %q: want a user name, a uid, or uid:gid in numbers", spec)
		}
		return &runAs{spec: spec, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	var usr *user.User
	var err error
	if _, numErr := strconv.ParseUint(spec, 10, 32); numErr == nil {
		usr, err = user.LookupId(spec)
	} else {
		usr, err = user.Lookup(spec)
	}
	if err != nil {
		return nil, fmt.Errorf("simexec: run as %q: %w", spec, err)
	}
	u := &runAs{spec: spec}
	uid, err1 := strconv.ParseUint(usr.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(usr.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("simexec: run as %q: uid %q, gid %q are not numbers", spec, usr.Uid, usr.Gid)
	}
	u.uid, u.gid = uint32(uid), uint32(gid)
	gids, err := usr.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("simexec: run as %q: its groups: %w", spec, err)
	}
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			u.groups = append(u.groups, uint32(n))
		}
	}
	return u, nil
}

func (u *runAs) String() string {
	return fmt.Sprintf("%q (uid %d, gid %d)", u.spec, u.uid, u.gid)
}

// apply has the process started with attr run as u.
func (u *runAs) apply(attr *syscall.SysProcAttr) {
	if u == nil || u.same {
		return
	}
	attr.Credential = &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: u.groups}
}

// chown gives dir, a working directory, to u.
func (u *runAs) chown(dir string) error {
	if u == nil || u.same {
		return nil
	}
	return os.Chown(dir, int(u.uid), int(u.gid))
}

// reach checks that u can enter dir, the base of the working directories:
// every directory on its path must be searchable by u.
func (u *runAs) reach(dir string) error {
	if u == nil || u.same || u.uid == 0 {
		return nil
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("simexec: work directory: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok && !u.canSearch(fi.Mode().Perm(), st.Uid, st.Gid) {
			return fmt.Errorf("simexec: work directory %s: simulators run as %s, who cannot enter %s (mode %v); choose a directory that user can reach", dir, u, d, fi.Mode().Perm())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// canSearch reports whether u may enter a directory with mode perm owned
// by uid:gid.
func (u *runAs) canSearch(perm os.FileMode, uid, gid uint32) bool {
	switch {
	case uid == u.uid:
		return perm&0o100 != 0
	case gid == u.gid || slices.Contains(u.groups, gid):
		return perm&0o010 != 0
	}
	return perm&0o001 != 0
}
