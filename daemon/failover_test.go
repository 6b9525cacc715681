package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/internal/testutil"
)

// twoDaemons starts two serving daemons on the server at url, each with
// its own data_dir, and returns them with their data_dirs and ids.
func twoDaemons(t *testing.T, url string, lease LeaseOptions) (ds [2]*served, dirs, ids [2]string) {
	t.Helper()
	for i := range ds {
		dirs[i] = t.TempDir()
		ds[i] = serveConfig(t, &Config{DataDir: dirs[i], NATS: NATS{URL: url}, Lease: lease})
	}
	for i := range ds {
		testutil.WaitFor(t, 30*time.Second, "the daemon's id", func() bool {
			data, err := os.ReadFile(filepath.Join(dirs[i], IDFile))
			ids[i] = strings.TrimSpace(string(data))
			return err == nil && ids[i] != ""
		})
	}
	return ds, dirs, ids
}

// localGet asks the daemon id alone for the study called name.
func localGet(t *testing.T, nc *nats.Conn, id, name string) api.Study {
	t.Helper()
	msg, err := nc.Request(api.DaemonSubject(id, "get"), []byte(`{"study":"`+name+`"}`), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var v api.Study
	if err := json.Unmarshal(msg.Data, &v); err != nil {
		t.Fatalf("%v: %s", err, msg.Data)
	}
	return v
}

// Two daemons share the registry: a study submitted to either is driven
// by exactly one, and the API answers the same whichever daemon gets the
// request (the driver's live view); a study stopped through the daemon
// that does not drive it stops; a clean shutdown of the driver hands its
// study to the other at once (well within the TTL), which finishes it in
// its own data_dir, resuming from the journal.
func TestTwoDaemonsShareStudies(t *testing.T) {
	srv, nc, _ := testutil.JetStream(t)
	evaluate(t, nc, "slow", 4, slowValley)
	lease := LeaseOptions{Heartbeat: 200 * time.Millisecond, TTL: 3 * time.Second}
	ds, dirs, ids := twoDaemons(t, srv.URL(), lease)
	c := client(t, nc)
	ctx := context.Background()
	t.Cleanup(func() {
		if t.Failed() {
			for i := range ds {
				t.Logf("daemon %s:\n%s", ids[i], ds[i].log)
			}
		}
	})

	long := bytes.Replace(studyDoc("long", "epsilon = 1e-12\nmax_evaluations = 2000"), []byte(`"q"`), []byte(`"slow"`), 1)
	if _, err := c.Create(ctx, long); err != nil {
		t.Fatal(err)
	}
	v := waitStatus(t, c, "long", "to run", func(s *api.Study) bool { return s.Running && s.Spent > 40 })
	drv := 0
	if v.Daemon == ids[1] {
		drv = 1
	} else if v.Daemon != ids[0] {
		t.Fatalf("long is driven by %q, not one of %v", v.Daemon, ids)
	}
	other := 1 - drv
	if o := localGet(t, nc, ids[other], "long"); o.Running || o.Daemon != ids[drv] {
		t.Errorf("the other daemon's own view: running %v, daemon %q; want not running, driven by %s", o.Running, o.Daemon, ids[drv])
	}
	for range 6 { // the shared subjects reach either daemon: each answers as the driver
		list, err := c.List(ctx)
		if err != nil || len(list) != 1 || !list[0].Running || list[0].Daemon != ids[drv] {
			t.Fatalf("list: %+v, %v", list, err)
		}
	}

	// Stopped through the daemon that does not drive it.
	short := bytes.Replace(studyDoc("short", "epsilon = 1e-12\nmax_evaluations = 2000"), []byte(`"q"`), []byte(`"slow"`), 1)
	if _, err := c.Create(ctx, short); err != nil {
		t.Fatal(err)
	}
	sv := waitStatus(t, c, "short", "to run", func(s *api.Study) bool { return s.Running && s.Spent > 10 })
	bystander := ids[0]
	if sv.Daemon == ids[0] {
		bystander = ids[1]
	}
	if _, err := nc.Request(api.DaemonSubject(bystander, "stop"), []byte(`{"study":"short"}`), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "short", "to stop", func(s *api.Study) bool { return !s.Running && s.State == api.StateStopped })

	// A clean shutdown of the driver: the other takes long over at once.
	ds[drv].stop(t)
	stopped := time.Now()
	waitStatus(t, c, "long", "to be taken over", func(s *api.Study) bool { return s.Running && s.Daemon == ids[other] })
	if d := time.Since(stopped); d >= lease.TTL {
		t.Errorf("takeover after a clean shutdown took %s, not less than the TTL %s: the lease was not released", d, lease.TTL)
	}
	end := waitStatus(t, c, "long", "to end", func(s *api.Study) bool { return !s.Running && s.Status == "budget" })
	if end.Summary == nil || end.Summary.Replayed == 0 || end.Spent < 1990 {
		t.Errorf("long after the takeover: %+v", end)
	}
	if _, err := os.Stat(filepath.Join(dirs[other], "long", "summary.json")); err != nil {
		t.Errorf("the summary is not in the new driver's data_dir: %v", err)
	}
	if s, err := c.Get(ctx, "short"); err != nil || s.Running || s.State != api.StateStopped {
		t.Errorf("the stopped study after the shutdown: %+v, %v", s, err)
	}
}
