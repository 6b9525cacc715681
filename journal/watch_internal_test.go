package journal

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/internal/natsserver"
	"github.com/zotune/zotune/wire"
)

// A watch whose consumer stops delivering for good (as nats.go's own
// recreation of it can stall on a cluster that lost a node) is noticed
// and replaced: results stored after the stall are delivered, in order,
// each once, and none delivered before is delivered again.
func TestWatchRestartsStalledFeed(t *testing.T) {
	srv, err := natsserver.Start(natsserver.Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	j, err := Open(ctx, js, "s", "fp", Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	w, err := j.Watch(ctx, func(a Arrival) { got <- a.Trial })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	store := func(trial string) {
		t.Helper()
		task := &wire.Task{V: wire.Version, ID: "s/" + trial, Study: "s", Trial: trial, Objective: "o", Epoch: j.Epoch(), Params: map[string]float64{"x": 1}}
		if err := j.Append(ctx, task, &wire.Reply{V: wire.Version, ID: task.ID, Value: 1}); err != nil {
			t.Fatal(err)
		}
	}
	store("000001")
	expect(t, got, "000001")

	w.mu.Lock()
	stalled := w.cc
	w.mu.Unlock()
	stalled.Stop() // the feed delivers nothing more by itself
	store("000002")
	store("000003")
	expect(t, got, "000002")
	expect(t, got, "000003")
	select {
	case trial := <-got:
		t.Fatalf("delivered %s again", trial)
	case <-time.After(2 * checkEvery):
	}
}

// expect waits for the watch to deliver trial next.
func expect(t *testing.T, got chan string, trial string) {
	t.Helper()
	select {
	case g := <-got:
		if g != trial {
			t.Fatalf("delivered %s, want %s", g, trial)
		}
	case <-time.After(stallAfter + 10*checkEvery):
		t.Fatalf("%s not delivered within %s", trial, stallAfter+10*checkEvery)
	}
}
