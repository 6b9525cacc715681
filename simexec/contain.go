package simexec

import (
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"time"
)

// TokenEnv names the environment variable every simulator process gets: a
// random token of its own, which whatever it starts inherits. Where the
// evaluator cannot use cgroups, it finds what a simulator left running by
// this token (see the package documentation); a process that clears its
// environment cannot be found that way.
const TokenEnv = "ZOTUNE_EVAL_TOKEN"

// releaseWait bounds how long a jail's release waits for what the
// simulator left to be gone; what is still there then is logged and left
// to Close.
const releaseWait = 10 * time.Second

// newToken returns a fresh random token for TokenEnv.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported systems
	return hex.EncodeToString(b[:])
}

// launch starts cmd, whose Path, Args, Dir, Env and standard files are set,
// in a jail of its own, as r's user. On failure nothing is left behind.
func (r *Runner) launch(cmd *exec.Cmd) (*jail, error) {
	j, err := r.contain.newJail()
	if err != nil {
		return nil, err
	}
	cmd.Env = append(cmd.Env, TokenEnv+"="+j.token)
	cmd.SysProcAttr = sysProcAttr()
	r.runAs.apply(cmd.SysProcAttr)
	j.prepare(cmd.SysProcAttr)
	err = cmd.Start()
	j.started(cmd.Process)
	if err != nil {
		j.release()
		return nil, err
	}
	return j, nil
}
