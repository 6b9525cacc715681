package daemon

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/internal/natsserver"
	"github.com/zotune/zotune/transport"
)

// restartable is an embedded NATS server with JetStream that a test can
// restart on the same port and store.
type restartable struct {
	t     *testing.T
	store string
	mu    sync.Mutex
	srv   *natsserver.Server
}

// startRestartable starts a server that is closed when the test ends.
func startRestartable(t *testing.T) *restartable {
	t.Helper()
	r := &restartable{t: t, store: t.TempDir()}
	srv, err := natsserver.Start(natsserver.Options{StoreDir: r.store})
	if err != nil {
		t.Fatal(err)
	}
	r.srv = srv
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.srv.Close()
	})
	return r
}

// url is the server's client URL, the same across restarts.
func (r *restartable) url() string { return r.srv.URL() }

// restart shuts the server down and starts it again, same port and store.
func (r *restartable) restart() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	url := r.srv.URL()
	r.srv.Close()
	srv, err := natsserver.Start(natsserver.Options{StoreDir: r.store, Listen: strings.TrimPrefix(url, "nats://")})
	if err != nil {
		r.t.Fatal(err)
	}
	r.srv = srv
}

// The NATS server restarts (same store) while a serving daemon drives a
// study: the daemon keeps, or takes back, the study's lease, and the study
// goes on to its end. A lease bucket in memory storage was gone after the
// restart: the daemon could neither renew nor claim, and the study stayed
// stopped until the daemon restarted.
func TestServeSurvivesNATSServerRestart(t *testing.T) {
	r := startRestartable(t)
	nc, err := transport.Connect(transport.ConnOptions{URL: r.url(), ReconnectWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	evaluate(t, nc, "slow", 4, slowValley)
	lease := LeaseOptions{Heartbeat: 100 * time.Millisecond, TTL: time.Second}
	_, _, ids := twoDaemons(t, r.url(), lease)
	c := client(t, nc)
	ctx := context.Background()

	doc := bytes.Replace(studyDoc("long", "epsilon = 1e-12\nmax_evaluations = 1500"), []byte(`"q"`), []byte(`"slow"`), 1)
	if _, err := c.Create(ctx, doc); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "long", "to run", func(s *api.Study) bool { return s.Running && s.Spent > 100 })
	r.restart()
	end := waitStatus(t, c, "long", "to end after the restart", func(s *api.Study) bool { return !s.Running && s.Status == "budget" })
	if end.Spent < 1490 || (end.Daemon != ids[0] && end.Daemon != ids[1]) {
		t.Errorf("long after the restart: %+v", end)
	}
}
