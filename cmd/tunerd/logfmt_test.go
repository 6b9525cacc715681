package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// tunerd logs a duration with its unit, not as a bare count of
// milliseconds.
func TestLogDurationUnit(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "info")
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Dur("heartbeat", 5*time.Second).Msg("")
	if !strings.Contains(buf.String(), `"heartbeat":"5s"`) {
		t.Errorf("logged %s; want \"heartbeat\":\"5s\"", buf.String())
	}
}
