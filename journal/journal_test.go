package journal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/internal/natscluster"
	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/wire"
)

func setup(t *testing.T) jetstream.JetStream {
	t.Helper()
	_, _, js := testutil.JetStream(t)
	return js
}

func task(trial string, x float64) (*wire.Task, *wire.Reply) {
	t := &wire.Task{V: wire.Version, ID: "s/" + trial, Study: "s", Trial: trial, Objective: "o", Seed: 3, Params: map[string]float64{"x": x}}
	return t, &wire.Reply{V: wire.Version, ID: t.ID, Value: x * x, Evaluator: "e", Started: time.Unix(0, 0).UTC()}
}

func TestJournalRecordsAndReplays(t *testing.T) {
	js := setup(t)
	ctx := context.Background()
	j, err := journal.Open(ctx, js, "s", "fp1", journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := j.Lookup(ctx, "000001"); err != nil || rec != nil {
		t.Fatalf("empty journal: %v, %v", rec, err)
	}
	tk, rep := task("000001", 0.5)
	tk.Epoch = j.Epoch()
	if err := appendSynced(ctx, j, tk, rep); err != nil {
		t.Fatal(err)
	}
	// A duplicate result (at-least-once delivery) does not replace the first.
	_, dup := task("000001", 0.5)
	dup.Value = 99
	if err := appendSynced(ctx, j, tk, dup); err != nil {
		t.Fatal(err)
	}
	j2, err := journal.Open(ctx, js, "s", "fp1", journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := j2.Lookup(ctx, "000001")
	if err != nil || rec == nil || rec.Reply.Value != 0.25 || rec.Task.Params["x"] != 0.5 {
		t.Fatalf("replay: %+v, %v", rec, err)
	}
	if err := journal.SameTask(&rec.Task, tk); err != nil {
		t.Fatal(err)
	}
	other, _ := task("000001", 0.75)
	if err := journal.SameTask(&rec.Task, other); !errors.Is(err, journal.ErrMismatch) {
		t.Fatalf("want ErrMismatch, got %v", err)
	}
}

func TestJournalRefusesChangedStudy(t *testing.T) {
	js := setup(t)
	ctx := context.Background()
	if _, err := journal.Open(ctx, js, "s", "fp1", journal.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := journal.Open(ctx, js, "s", "fp2", journal.Options{}); !errors.Is(err, journal.ErrChanged) {
		t.Fatalf("want ErrChanged, got %v", err)
	}
	// Another study is unaffected.
	if _, err := journal.Open(ctx, js, "t", "fp2", journal.Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestJournalFreshDiscards(t *testing.T) {
	js := setup(t)
	ctx := context.Background()
	j, _ := journal.Open(ctx, js, "s", "fp1", journal.Options{})
	tk, rep := task("000002", 1)
	if err := appendSynced(ctx, j, tk, rep); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(ctx, js, "s", "fp2", journal.Options{Fresh: true, Objective: "o"})
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := j.Lookup(ctx, "000002"); err != nil || rec != nil {
		t.Fatalf("fresh journal still has %+v (%v)", rec, err)
	}
}

// Delete discards a study's records and fingerprint, and no other's: a
// study of that name starts afresh, with another definition if need be.
func TestJournalDelete(t *testing.T) {
	js := setup(t)
	ctx := context.Background()
	if err := journal.Delete(ctx, js, "s", "o"); err != nil {
		t.Fatalf("delete before any journal: %v", err)
	}
	for _, study := range []string{"s", "t"} {
		j, err := journal.Open(ctx, js, study, "fp1", journal.Options{})
		if err != nil {
			t.Fatal(err)
		}
		tk, rep := task("000001", 1)
		tk.Study, tk.ID, tk.Epoch = study, study+"/000001", j.Epoch()
		if err := appendSynced(ctx, j, tk, rep); err != nil {
			t.Fatal(err)
		}
	}
	if err := journal.Delete(ctx, js, "s", "o"); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(ctx, js, "s", "fp2", journal.Options{})
	if err != nil {
		t.Fatalf("a deleted study's name with another fingerprint: %v", err)
	}
	if j.Frontier() != 0 {
		t.Errorf("deleted study: frontier %d, want 0", j.Frontier())
	}
	kept, err := journal.Open(ctx, js, "t", "fp1", journal.Options{})
	if err != nil || kept.Frontier() != 2 {
		t.Fatalf("the other study: %v, frontier %d", err, kept.Frontier())
	}
}

// Lookup answers from the first record of the study's generation: not a
// later duplicate (stored under another message id, past the duplicate
// window), not a record an evaluator of an earlier generation stored after
// a fresh start; an unreadable record is an error, not a retry.
func TestJournalLookupFirstOfGeneration(t *testing.T) {
	js := setup(t)
	ctx := context.Background()
	j, err := journal.Open(ctx, js, "s", "fp1", journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := func(msgID string, tk *wire.Task, rep *wire.Reply) {
		t.Helper()
		data, err := json.Marshal(journal.Record{V: wire.Version, Task: *tk, Reply: *rep})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, wire.ResultSubject("s", tk.Trial), data, jetstream.WithMsgID(msgID)); err != nil {
			t.Fatal(err)
		}
	}
	old, oldRep := task("000001", 99)
	old.Epoch = "old-generation"
	store("straggler", old, oldRep)
	for i, v := range []float64{2, 3} {
		tk, rep := task("000001", 2)
		tk.Epoch = j.Epoch()
		rep.Value = v
		store(fmt.Sprint("copy", i), tk, rep)
	}
	rec, err := j.Lookup(ctx, "000001")
	if err != nil || rec == nil {
		t.Fatalf("lookup: %+v, %v", rec, err)
	}
	if rec.Reply.Value != 2 || rec.Task.Epoch != j.Epoch() {
		t.Fatalf("lookup answered value %v of generation %q; want the first record of %q, value 2", rec.Reply.Value, rec.Task.Epoch, j.Epoch())
	}
	// The straggler is the old generation's record.
	if rec, err := journal.Find(ctx, mustStream(t, js), "s", "000001", "old-generation"); err != nil || rec == nil || rec.Reply.Value != 99*99 {
		t.Fatalf("record of the old generation: %+v, %v", rec, err)
	}

	if _, err := js.Publish(ctx, wire.ResultSubject("s", "000002"), []byte(`{"v":7}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Lookup(ctx, "000002"); !errors.Is(err, journal.ErrBadRecord) || !errors.Is(err, wire.ErrVersion) {
		t.Fatalf("unreadable record: want ErrBadRecord and ErrVersion, got %v", err)
	}
}

func mustStream(t *testing.T, js jetstream.JetStream) jetstream.Stream {
	t.Helper()
	s, err := js.Stream(context.Background(), wire.JournalStream)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(`{"v":1,"task":{"v":1,"id":"s/1"},"reply":{"v":1,"id":"s/1","value":2}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := journal.DecodeRecord(data)
		if err == nil && (r.Task.ID == "" || r.Reply.ID != r.Task.ID) {
			t.Fatalf("accepted %+v", r)
		}
	})
}

// Open takes stock of what an earlier run left, stored results and queued
// tasks, and Watch delivers every result stored after that, so that
// together they miss none.
func TestJournalStockAndWatch(t *testing.T) {
	js := setup(t)
	ctx := context.Background()
	j, err := journal.Open(ctx, js, "s", "fp1", journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tk, rep := task("000003", 1)
	tk.Epoch = j.Epoch()
	if err := appendSynced(ctx, j, tk, rep); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: wire.TaskStream("o"), Subjects: []string{wire.SubjectTask + "o.>"}, Retention: jetstream.WorkQueuePolicy}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, wire.TaskSubject("o", "s", "000007"), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	j, err = journal.Open(ctx, js, "s", "fp1", journal.Options{Objective: "o"})
	if err != nil {
		t.Fatal(err)
	}
	if !j.Stored("000003") || j.Stored("000007") || !j.Queued("000007") || j.Frontier() != 8 {
		t.Fatalf("stock: stored 3 %v, 7 %v; queued 7 %v; frontier %d, want 8", j.Stored("000003"), j.Stored("000007"), j.Queued("000007"), j.Frontier())
	}
	got := make(chan journal.Arrival, 4)
	w, err := j.Watch(ctx, func(a journal.Arrival) { got <- a })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	tk, rep = task("000007", 2)
	tk.Epoch = j.Epoch()
	if err := appendSynced(ctx, j, tk, rep); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-got:
		if a.Trial != "000007" || a.Err != nil || a.Record.Reply.Value != 4 {
			t.Fatalf("watch delivered %+v", a)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the watch delivered nothing")
	}
	select {
	case a := <-got:
		t.Fatalf("the watch delivered a result stored before Open: %+v", a)
	default:
	}
}

// appendSynced appends a record and waits until it is stored.
func appendSynced(ctx context.Context, j *journal.Journal, t *wire.Task, r *wire.Reply) error {
	if err := j.Append(ctx, t, r); err != nil {
		return err
	}
	return j.Sync(ctx)
}

// Replicas the servers cannot hold are refused with ErrReplicas and a
// message that says what to change: more than one on a single server, or
// more than the cluster's servers.
func TestReplicasRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := journal.Open(ctx, setup(t), "s", "fp", journal.Options{Replicas: 3})
	if !errors.Is(err, journal.ErrReplicas) || !strings.Contains(err.Error(), "single server, not a cluster: set nats.replicas = 1") {
		t.Errorf("replicas = 3 on one server: %v", err)
	}
	c := testutil.NATSCluster(t, natscluster.Options{})
	nc, err := nats.Connect(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	_, err = journal.Open(ctx, js, "s", "fp", journal.Options{Replicas: 5})
	if !errors.Is(err, journal.ErrReplicas) || !strings.Contains(err.Error(), "nats.replicas = 5 needs 5 JetStream servers") {
		t.Errorf("replicas = 5 on three servers: %v", err)
	}
	if _, err := journal.Open(ctx, js, "s", "fp", journal.Options{Replicas: 3}); err != nil {
		t.Errorf("replicas = 3 on three servers: %v", err)
	}
}
