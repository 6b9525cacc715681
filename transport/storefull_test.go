package transport_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
)

// A batch larger than the study's slots whose tasks cannot be queued (the
// store is full) fails with ErrStoreFull, saying so, rather than wait
// forever for a slot that only a result of an unqueued task could free.
func TestQueueStoreFullFailsBatch(t *testing.T) {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		JetStreamMaxStore: 512 << 10, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(s.Shutdown)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js := newJS(t, nc)
	ensure(t, js, fast)
	j, err := journal.Open(t.Context(), js, study, "fingerprint", journal.Options{Objective: obj})
	if err != nil {
		t.Fatal(err)
	}
	q, err := transport.OpenQueue(t.Context(), js, j, transport.QueueOptions{Objective: obj, Study: study, Durable: fast,
		Slots: transport.NewSlots(1), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	fill(t, js)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err = q.Send(ctx, []*wire.Task{sqTask("000001", j.Epoch(), 1), sqTask("000002", j.Epoch(), 2)})
	if !errors.Is(err, transport.ErrStoreFull) {
		t.Fatalf("Send on a full store: %v, want ErrStoreFull", err)
	}
}

// fill stores messages until the server's store refuses more.
func fill(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	ctx := t.Context()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "FILL", Subjects: []string{"fill"}}); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 32<<10)
	for range 64 {
		if _, err := js.Publish(ctx, "fill", chunk); err != nil {
			return
		}
	}
	t.Fatal("the store took 2 MiB: not full")
}
