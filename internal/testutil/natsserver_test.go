package testutil

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestMain(m *testing.M) {
	code := m.Run()
	RemoveNATSServerBinary()
	os.Exit(code)
}

// A nats-server process with JetStream accepts connections once
// NATSServer returns, applies the config text it was given, and keeps its
// port and store across a restart.
func TestNATSServer(t *testing.T) {
	p := NATSServer(t, NATSServerOptions{StoreDir: t.TempDir(), Config: `authorization { token: "s3cret" }`})
	if _, err := nats.Connect(p.URL, nats.Token("wrong")); err == nil {
		t.Fatal("connected with a wrong token: the config text was not applied")
	}
	nc, err := nats.Connect(p.URL, nats.Token("s3cret"), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "s.1", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	port := p.Port
	p.Restart(t)
	if p.Port != port {
		t.Errorf("port %d after the restart, was %d", p.Port, port)
	}
	// The client reconnects by itself; JetStream answers once the server
	// has recovered its store.
	var s jetstream.Stream
	WaitFor(t, 30*time.Second, "the stream after the restart", func() bool {
		var err error
		s, err = js.Stream(ctx, "S")
		return err == nil
	})
	if m, err := s.GetMsg(ctx, 1); err != nil || string(m.Data) != "kept" {
		t.Fatalf("message after the restart: %v, %v", m, err)
	}
}
