package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/zotune/zotune/internal/natsserver"
)

// ErrStore is wrapped by the cause that ends the studies when JetStream
// stops storing: the disk of the embedded server's store is full, or the
// server disabled JetStream or its account's storage is used up. Nothing
// stored is lost; the studies end failed and resumable, and running them
// again once there is room resumes them.
var ErrStore = errors.New("daemon: the JetStream store cannot take more")

// reserveFile is a file of reserveSize bytes the daemon keeps in data_dir
// while it runs. When the disk fills up, removing it leaves room for the
// failed summaries that say so.
const (
	reserveFile = ".space-reserve"
	reserveSize = 256 << 10
)

// reserve is the space held back in data_dir for the last words of a
// daemon whose disk is full.
type reserve struct {
	path     string
	once     sync.Once
	released atomic.Bool // a write failed for lack of space
	log      zerolog.Logger
}

// holdReserve writes the reserve file. A disk too full to hold it is
// logged, not fatal: the daemon runs without the reserve.
func holdReserve(dir string, log zerolog.Logger) *reserve {
	r := &reserve{path: filepath.Join(dir, reserveFile), log: log}
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err == nil {
		_, err = f.Write(make([]byte, reserveSize))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		log.Warn().Err(err).Str("dir", dir).Msg("cannot reserve 256 KiB in data_dir: the disk is nearly full, and a full disk may leave summaries unwritten")
		_ = os.Remove(r.path)
	}
	return r
}

// release frees the reserve, once. It is called when a write fails for
// lack of space, before the write is tried again.
func (r *reserve) release() {
	r.released.Store(true)
	r.once.Do(func() {
		if err := os.Remove(r.path); err == nil {
			r.log.Warn().Str("file", r.path).Msg("the disk is full: released the space reserved for the studies' last summaries")
		}
	})
}

// close removes the reserve at the end of a run.
func (r *reserve) close() { _ = os.Remove(r.path) }

// storeCheckEvery is how often watchStore looks at the JetStream store.
const storeCheckEvery = time.Second

// watchStore watches JetStream until ctx ends and calls fail once, with
// an error wrapping ErrStore, if it stops storing. The embedded server
// (srv set) disables JetStream when a write to its store fails for lack of
// space; an external server's JetStream is asked for its account info,
// which says when JetStream is off or the account's storage is used up.
// Writes that fail meanwhile are retried by their callers, so the studies
// would otherwise wait for an outage that does not end.
func watchStore(ctx context.Context, srv *natsserver.Server, js jetstream.JetStream, storeDir string, spare *reserve, fail func(error)) {
	t := time.NewTicker(storeCheckEvery)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var err error
		if srv != nil {
			err = embeddedStore(srv, storeDir, spare.released.Load())
		} else if n%5 == 0 {
			err = accountStore(ctx, js)
		}
		if err != nil {
			fail(err)
			return
		}
	}
}

// embeddedStore reports the embedded server's store unable to take more:
// JetStream turned off, a stream that failed to write (the server then
// drops writes without answering them), or storage used up to the limit
// the server set from the disk's free space when it started (it then
// refuses writes as "insufficient resources"). full says that a write of
// the daemon's own already failed for lack of space.
func embeddedStore(srv *natsserver.Server, dir string, full bool) error {
	what := storeTrouble(srv)
	if what == "" {
		return nil
	}
	free, err := freeBytes(dir)
	if err == nil && (full || free < lowSpace) {
		return fmt.Errorf("%w: no space left on device: %s, and the file system of %s has %d bytes free; free some space and run again to resume", ErrStore, what, dir, free)
	}
	return fmt.Errorf("%w: %s (store %s); run again to resume", ErrStore, what, dir)
}

// storeTrouble says what keeps the embedded server's JetStream from
// storing, or "" when nothing does.
func storeTrouble(srv *natsserver.Server) string {
	if !srv.JetStreamEnabled() {
		return "the embedded NATS server turned JetStream off"
	}
	if h := srv.Healthz(nil); h.Status != "ok" && strings.Contains(h.Error, "write error") {
		return h.Error
	}
	if info, err := srv.Jsz(nil); err == nil && info.Config.MaxStore > 0 && info.Store >= uint64(info.Config.MaxStore) {
		return fmt.Sprintf("the JetStream store is full (%d of the %d bytes the server allowed it when it started)", info.Store, info.Config.MaxStore)
	}
	return ""
}

// lowSpace is the free space below which a full store is put down to the
// disk.
const lowSpace = 4 << 20

// accountStore reports an external server whose JetStream is off, or
// whose account has used all the storage it may.
func accountStore(ctx context.Context, js jetstream.JetStream) error {
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := js.AccountInfo(actx)
	switch {
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		return fmt.Errorf("%w: JetStream is off on the NATS server (its store may be full; see the server's log); run again to resume once it is back", ErrStore)
	case err != nil:
		return nil // unreachable for now: reconnection and retries deal with that
	case info.Limits.MaxStore > 0 && info.Store >= uint64(info.Limits.MaxStore):
		return fmt.Errorf("%w: the JetStream account has used all its storage (%d of %d bytes); raise its limit or remove old studies, then run again to resume", ErrStore, info.Store, info.Limits.MaxStore)
	}
	return nil
}

// freeBytes returns the bytes available to this process on the file
// system of dir.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}
