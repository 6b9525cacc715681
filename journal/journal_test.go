package journal_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/transport"
)

func setup(t *testing.T) jetstream.JetStream {
	t.Helper()
	s, err := transport.StartServer(transport.ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	nc, err := transport.Connect(transport.ConnOptions{URL: s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func task(trial string, x float64) (*transport.Task, *transport.Reply) {
	t := &transport.Task{V: transport.Version, ID: "s/" + trial, Study: "s", Trial: trial, Objective: "o", Seed: 3, Params: map[string]float64{"x": x}}
	return t, &transport.Reply{V: transport.Version, ID: t.ID, Value: x * x, Evaluator: "e", Started: time.Unix(0, 0).UTC()}
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
	if err := j.Append(ctx, tk, rep); err != nil {
		t.Fatal(err)
	}
	// A duplicate result (at-least-once delivery) does not replace the first.
	_, dup := task("000001", 0.5)
	dup.Value = 99
	if err := j.Append(ctx, tk, dup); err != nil {
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
	if err := transport.SameTask(&rec.Task, tk); err != nil {
		t.Fatal(err)
	}
	other, _ := task("000001", 0.75)
	if err := transport.SameTask(&rec.Task, other); !errors.Is(err, transport.ErrMismatch) {
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
	if err := j.Append(ctx, tk, rep); err != nil {
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

func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(`{"v":1,"task":{"v":1,"id":"s/1"},"reply":{"v":1,"id":"s/1","value":2}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := transport.DecodeRecord(data)
		if err == nil && (r.Task.ID == "" || r.Reply.ID != r.Task.ID) {
			t.Fatalf("accepted %+v", r)
		}
	})
}
