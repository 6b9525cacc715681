package logfmt

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// A duration field carries its unit: Dur writes "5s", not 5000.
func TestDurationHasUnit(t *testing.T) {
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	log.Info().Dur("heartbeat", 5*time.Second).Dur("retry_in", 250*time.Millisecond).Msg("")
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%q: %v", buf.String(), err)
	}
	if got["heartbeat"] != "5s" || got["retry_in"] != "250ms" {
		t.Errorf("durations logged as %v and %v; want \"5s\" and \"250ms\": %s", got["heartbeat"], got["retry_in"], buf.String())
	}
}
