package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/zotune/zotune/internal/testutil"
)

// The command prints every node's URL and a [nats] table naming them all
// with replicas = 3, kills and starts a node on request, and stops the
// cluster when its context ends.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	in, cmds := io.Pipe()
	var out, errb testutil.SyncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"-n", "3", "-dir", t.TempDir()}, in, &out, &errb) }()
	t.Cleanup(func() { cancel(); cmds.Close() })

	testutil.WaitFor(t, time.Minute, "the usage to be printed", func() bool { return strings.Contains(out.String(), "commands:") })
	text := out.String()
	var urls []string
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], "nats://127.0.0.1:") {
			urls = append(urls, f[1])
		}
	}
	if len(urls) != 3 || !strings.Contains(text, "url = \""+strings.Join(urls, ",")+"\"\nreplicas = 3\n") || !strings.Contains(text, "JetStream meta leader: n") {
		t.Fatalf("output:\n%s", text)
	}
	for _, c := range []struct{ cmd, want string }{
		{"kill 2", "n2: kill done"},
		{"status", "n2  " + urls[1]},
		{"start n2", "n2: start done"},
		{"bogus 1", `unknown command "bogus"`},
		{"kill 9", "no node 9"},
	} {
		if _, err := io.WriteString(cmds, c.cmd+"\n"); err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, time.Minute, "the answer to "+c.cmd, func() bool { return strings.Contains(out.String(), c.want) })
	}
	if !strings.Contains(out.String(), "down") {
		t.Errorf("status did not show n2 down:\n%s", out.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still running 30s after its context ended")
	}
}

// Bad flags are a usage error.
func TestRunUsage(t *testing.T) {
	var out, errb testutil.SyncBuffer
	if code := run(context.Background(), []string{"-n", "0"}, strings.NewReader(""), &out, &errb); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
}
