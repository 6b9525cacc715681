package evaluator

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The evaluator logs a duration with its unit, not as a bare count of
// milliseconds.
func TestLogDurationUnit(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, "info")
	log.Warn().Dur("timeout", 1500*time.Millisecond).Msg("")
	if !strings.Contains(buf.String(), `"timeout":"1.5s"`) {
		t.Errorf("logged %s; want \"timeout\":\"1.5s\"", buf.String())
	}
}
