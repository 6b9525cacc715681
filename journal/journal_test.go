package journal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/transport"
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
		data, err := json.Marshal(transport.Record{V: wire.Version, Task: *tk, Reply: *rep})
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
	// Every generation: the straggler is the trial's first record.
	if rec, err := transport.Lookup(ctx, mustStream(t, js), "s", "000001"); err != nil || rec == nil || rec.Reply.Value != 99*99 {
		t.Fatalf("first record of any generation: %+v, %v", rec, err)
	}

	if _, err := js.Publish(ctx, wire.ResultSubject("s", "000002"), []byte(`{"v":7}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Lookup(ctx, "000002"); !errors.Is(err, transport.ErrBadRecord) || !errors.Is(err, wire.ErrVersion) {
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
		r, err := transport.DecodeRecord(data)
		if err == nil && (r.Task.ID == "" || r.Reply.ID != r.Task.ID) {
			t.Fatalf("accepted %+v", r)
		}
	})
}
