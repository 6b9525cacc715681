// Package testutil holds helpers shared by the tests of several packages:
// an embedded NATS server with JetStream; a real nats-server process, built
// from the module's go.mod, with the configuration a test gives it; test
// certificates, nkey users and an operator for its TLS and authentication;
// a buffer safe for a writer and polling readers; a simulator that waits
// until the test lets it answer (GatedSim); and WaitFor, the one way tests
// wait for something to happen. It is imported by tests only.
package testutil

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/internal/natsserver"
	"github.com/zotune/zotune/transport"
)

// JetStream starts an embedded NATS server with JetStream (loopback, a
// random port, its store in a temporary directory) and connects to it. The
// server and connection are closed when the test ends.
func JetStream(tb testing.TB) (*natsserver.Server, *nats.Conn, jetstream.JetStream) {
	tb.Helper()
	srv, err := natsserver.Start(natsserver.Options{StoreDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Close)
	nc, err := transport.Connect(transport.ConnOptions{URL: srv.URL()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return srv, nc, js
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers and readers.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what has been written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitFor polls cond every few milliseconds until it holds, and fails the
// test, naming what it waited for, if it does not within timeout. Tests
// wait with it for things that happen in other goroutines or processes,
// never with a bare sleep.
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for wait := time.Millisecond; !cond(); wait = min(2*wait, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(wait)
	}
}
