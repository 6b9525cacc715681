package simexec

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/zotune/zotune/wire"
)

func TestParseLine(t *testing.T) {
	for _, tt := range []struct {
		line    string
		value   float64
		metrics map[string]float64
		reason  wire.Reason
	}{
		{line: "1.5", value: 1.5},
		{line: "  -2e3\r", value: -2000},
		{line: "0x1p-2", value: 0.25},
		{line: "1e-400", value: 0}, // underflows to zero: a finite value
		{line: "4.9e-324", value: 4.9e-324},
		{line: `{"value": 2, "iters": 3, "note": "x", "ok": true, "v": [1]}`, value: 2, metrics: map[string]float64{"iters": 3}},
		{line: `{"value": -0.5, "big": 1e999}`, value: -0.5},
		{line: "1e400", reason: wire.ReasonNonFinite},
		{line: "nan", reason: wire.ReasonNonFinite},
		{line: "NaN", reason: wire.ReasonNonFinite},
		{line: "+Inf", reason: wire.ReasonNonFinite},
		{line: "-infinity", reason: wire.ReasonNonFinite},
		{line: `{"value": 1e999}`, reason: wire.ReasonNonFinite},
		{line: `{"value": NaN, "x": 1}`, reason: wire.ReasonNonFinite},
		{line: `{"value":-Infinity}`, reason: wire.ReasonNonFinite},
		{line: "", reason: wire.ReasonParse},
		{line: "abc", reason: wire.ReasonParse},
		{line: "1.5 2", reason: wire.ReasonParse},
		{line: "1_000", value: 1000}, // Go number syntax, unambiguous
		{line: "[1]", reason: wire.ReasonParse},
		{line: `"1.5"`, reason: wire.ReasonParse},
		{line: `{"value": "1.5"}`, reason: wire.ReasonParse},
		{line: `{"value": "NaN"}`, reason: wire.ReasonParse},
		{line: `{"value": null}`, reason: wire.ReasonParse},
		{line: `{"value": {"a": 1}}`, reason: wire.ReasonParse},
		{line: `{"loss": 1}`, reason: wire.ReasonParse},
		{line: `{"value": 1} {}`, reason: wire.ReasonParse},
		{line: `{"value": 1}}`, reason: wire.ReasonParse},
		{line: `{"value": 1} 2`, reason: wire.ReasonParse},
		{line: `{"value": 1`, reason: wire.ReasonParse},
	} {
		t.Run(tt.line, func(t *testing.T) {
			res, reason, err := parseLine(tt.line)
			if reason != tt.reason || (err == nil) != (tt.reason == "") {
				t.Fatalf("parseLine(%q) = %v, %q, %v; want reason %q", tt.line, res, reason, err, tt.reason)
			}
			if err != nil {
				return
			}
			if res.value != tt.value || fmt.Sprint(res.metrics) != fmt.Sprint(tt.metrics) {
				t.Errorf("parseLine(%q) = %v %v, want %v %v", tt.line, res.value, res.metrics, tt.value, tt.metrics)
			}
		})
	}
}

func TestParseOutput(t *testing.T) {
	long := strings.Repeat("7", stdoutKeep+10)
	for _, tt := range []struct {
		name   string
		out    string
		total  int64 // 0: len(out)
		value  float64
		reason wire.Reason
		errHas string
	}{
		{name: "last line", out: "step 1\nstep 2\n3.25\n", value: 3.25},
		{name: "trailing blank lines", out: "1\n2\n\n  \n\t\n", value: 2},
		{name: "no newline", out: "junk\n-4", value: -4},
		{name: "crlf", out: "0.5\r\n", value: 0.5},
		{name: "empty", out: "", reason: wire.ReasonParse, errHas: "no output"},
		{name: "blank", out: "\n \n", reason: wire.ReasonParse, errHas: "blank"},
		{name: "garbage last", out: "1.5\ndone\n", reason: wire.ReasonParse, errHas: `"done"`},
		// A tail window whose only line was cut at the front must not
		// yield the number its end happens to spell.
		{name: "truncated line", out: long[:stdoutKeep], total: int64(len(long)), reason: wire.ReasonParse, errHas: "longer than"},
		{name: "long garbage quoted short", out: strings.Repeat("x", 1000), reason: wire.ReasonParse, errHas: "(1000 bytes)"},
		{name: "own id", out: `{"id": "demo/1", "value": 2, "n": 3}`, value: 2},
		{name: "other id", out: `{"id": "demo/2", "value": 2}`, reason: wire.ReasonParse, errHas: `request "demo/2", not for the request it was given, "demo/1"`},
		{name: "numeric id", out: `{"id": 1, "value": 2}`, reason: wire.ReasonParse, errHas: `"id" is not a string`},
		{name: "other id, not finite", out: `{"id": "demo/2", "value": NaN}`, reason: wire.ReasonParse, errHas: `"demo/2"`},
		{name: "own id, not finite", out: `{"id": "demo/1", "value": NaN}`, reason: wire.ReasonNonFinite, errHas: "not finite"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			total := tt.total
			if total == 0 {
				total = int64(len(tt.out))
			}
			res, reason, err := parseOutput([]byte(tt.out), total, "demo/1")
			if reason != tt.reason || (err == nil) != (tt.reason == "") {
				t.Fatalf("got %v, %q, %v; want reason %q", res, reason, err, tt.reason)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.errHas) {
					t.Errorf("error %q does not mention %q", err, tt.errHas)
				}
				if len(err.Error()) > quoteMax+200 {
					t.Errorf("error is %d bytes long", len(err.Error()))
				}
				return
			}
			if res.value != tt.value {
				t.Errorf("value %v, want %v", res.value, tt.value)
			}
		})
	}
}

func TestTailBuffer(t *testing.T) {
	b := newTailBuffer(8)
	for _, s := range []string{"abc", "defgh", "ijklmnopqrstuvwxyz", "0", "12"} {
		_, _ = b.Write([]byte(s))
	}
	tail, total := b.Tail()
	if string(tail) != "vwxyz012" || total != 3+5+18+1+2 {
		t.Errorf("Tail() = %q, %d", tail, total)
	}
	if s := b.String(); s != "...vwxyz012" {
		t.Errorf("String() = %q, want the tail marked as truncated", s)
	}
	// Many small writes stay bounded.
	for range 10000 {
		_, _ = b.Write([]byte("x\n"))
	}
	if len(b.buf) > 2*b.max {
		t.Errorf("buffer holds %d bytes for max %d", len(b.buf), b.max)
	}
	// The tail never starts inside a UTF-8 sequence.
	b = newTailBuffer(4)
	_, _ = b.Write([]byte("aé€"))
	if s := b.String(); s != "...€" {
		t.Errorf("String() = %q", s)
	}
}

func TestLineSplitter(t *testing.T) {
	var s lineSplitter
	var got []answer
	emit := func(a answer) { got = append(got, a) }
	for _, w := range []string{"1.5\n{\"val", "ue\": 2}\r\n\n  \n", " 3"} {
		s.write([]byte(w), emit)
	}
	if p, ok := s.partial(); p != "3" || !ok {
		t.Errorf("partial() = %q, %v, want \"3\", true", p, ok)
	}
	s.flush(emit)
	want := []answer{{text: "1.5"}, {text: `{"value": 2}`}, {blank: true}, {blank: true}, {text: "3"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("lines = %+v\nwant    %+v", got, want)
	}
	if p, ok := s.partial(); p != "" || ok {
		t.Errorf("partial() after flush = %q, %v", p, ok)
	}
	// White space not yet ended by a newline is pending output.
	s.write([]byte(" \t"), emit)
	if p, ok := s.partial(); p != "" || !ok {
		t.Errorf("partial() of white space = %q, %v; want \"\", true", p, ok)
	}
	s.flush(emit)
	if a := got[len(got)-1]; len(got) != 6 || !a.blank {
		t.Errorf("flushed white space: %+v", got)
	}

	// An overlong line is emitted as soon as it passes lineMax, and the
	// rest of it, up to its newline, is dropped.
	got = nil
	s.write([]byte(strings.Repeat("9", lineMax-1)), emit)
	if len(got) != 0 {
		t.Fatalf("emitted %+v before the line was complete or too long", got)
	}
	s.write([]byte("99"), emit)
	if len(got) != 1 || !got[0].overlong || len(got[0].text) != lineMax {
		t.Fatalf("overlong line: %d answers, first overlong=%v", len(got), len(got) > 0 && got[0].overlong)
	}
	s.write([]byte(strings.Repeat("8", 2*lineMax)), emit)
	if p, ok := s.partial(); ok || len(got) != 1 {
		t.Errorf("rest of an overlong line kept: partial %d bytes, %d answers", len(p), len(got))
	}
	s.write([]byte("88\n1\n"), emit)
	if len(got) != 2 || got[1].overlong || got[1].text != "1" {
		t.Errorf("line after an overlong one = %+v", got[1:])
	}
}

func TestWithoutCredentials(t *testing.T) {
	env := []string{"PATH=/bin", "NATS_TOKEN=t", "NATS_USER=u", "NATS_PASSWORD=p", "NATS_CREDS=/c",
		"NATS_URL=nats://a:b@h:4222", "HOME=/h", "NATS_TOKENISH=x"}
	got := withoutCredentials(env)
	if strings.Join(got, " ") != "PATH=/bin HOME=/h NATS_TOKENISH=x" {
		t.Errorf("withoutCredentials = %q", got)
	}
	if env[1] != "NATS_TOKEN=t" {
		t.Errorf("input modified: %q", env)
	}
	for url, secret := range map[string]bool{
		"nats://h:4222": false, "nats://tok@h": true, "h:4222": false, "u:p@h:4222": true,
		"nats://h:1,nats://u:p@g:2": true, "nats://h/path@x": false,
	} {
		if urlHasUserinfo(url) != secret {
			t.Errorf("urlHasUserinfo(%q) = %v", url, !secret)
		}
	}
}

func TestParseArg(t *testing.T) {
	for _, tt := range []struct {
		arg  string
		want string // segments: literals quoted, placeholders in <>
	}{
		{"plain", `"plain"`},
		{"", `""`},
		{"{x}", "<x>"},
		{"--x={x1}", `"--x="<x1>`},
		{"{a}{b}", "<a><b>"},
		{"{learning-rate}/{x.1}", `<learning-rate>"/"<x.1>`},
		{`{"a":1}`, `"{\"a\":1}"`},
		{"{}", `"{}"`},
		{"{ x }", `"{ x }"`},
		{"a{3}", `"a{3}"`},
		{"{3x}", `"{3x}"`},
		{"{x", `"{x"`},
		{"{{x}}", `"{"<x>"}"`},
	} {
		var b strings.Builder
		for _, s := range parseArg(tt.arg) {
			if s.name != "" {
				b.WriteString("<" + s.name + ">")
			} else {
				fmt.Fprintf(&b, "%q", s.lit)
			}
		}
		if b.String() != tt.want {
			t.Errorf("parseArg(%q) = %s, want %s", tt.arg, b.String(), tt.want)
		}
	}
}

// FuzzParseOutput checks that parsing a simulator's output never panics and
// never reports success with a value or metric that is not finite.
func FuzzParseOutput(f *testing.F) {
	for _, s := range []string{
		"1.5\n", "nan", "-Inf\n", "1e400", "0x1p-1074", "{\"value\": 1, \"m\": 2}\n",
		`{"value": NaN}`, `{"value": "1"}`, `{"value": 1e999, "m": -1e999}`, "x\n\n", "",
		"\xff\xfe\n1", `{"value": 1, "value": 2}`, `{"value": 1}{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		res, reason, err := parseOutput(out, int64(len(out)), "demo/1")
		if err != nil {
			if reason != wire.ReasonParse && reason != wire.ReasonNonFinite {
				t.Fatalf("failure with reason %q", reason)
			}
			return
		}
		if reason != "" {
			t.Fatalf("success with reason %q", reason)
		}
		if math.IsNaN(res.value) || math.IsInf(res.value, 0) {
			t.Fatalf("success with value %v", res.value)
		}
		for k, v := range res.metrics {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("success with metric %q = %v", k, v)
			}
		}
		// The reply must be sendable.
		if _, err := json.Marshal(wire.Reply{Value: res.value, Metrics: res.metrics}); err != nil {
			t.Fatalf("reply does not encode: %v", err)
		}
	})
}

// FuzzStdioAnswer feeds arbitrary simulator output, cut into lines as a
// stdio process's stdout is, to the judge of answers to request
// "s/000001": whatever it accepts must be a JSON object that names that
// request, exactly, with a finite value.
func FuzzStdioAnswer(f *testing.F) {
	for _, s := range []string{
		`{"id":"s/000001","value":1.5}` + "\n", `{"id":"s/000002","value":1.5}`, `{"value":1.5,"id":"s/000001"}`,
		"0.5\n", "\n", `{"id":1,"value":2}`, `{"id":"s/000001","value":NaN}`, `{"id":"s/000001","id":"x","value":1}`,
		`{"id":"s/000001\u0000","value":1}`, "{\"id\":\"s/000001\",\"value\":1}\n{\"id\":\"s/000001\",\"value\":2}\n",
	} {
		f.Add([]byte(s))
	}
	r := &Runner{answers: AnswersID}
	f.Fuzz(func(t *testing.T, out []byte) {
		var lines lineSplitter
		judge := func(a answer) {
			res, _, err := r.judge(a, "s/000001")
			if err != nil {
				return
			}
			var obj map[string]any
			if json.Unmarshal([]byte(a.text), &obj) != nil || obj["id"] != "s/000001" {
				t.Fatalf("accepted %q as the answer to s/000001", a.text)
			}
			if math.IsNaN(res.value) || math.IsInf(res.value, 0) {
				t.Fatalf("accepted %q with value %v", a.text, res.value)
			}
		}
		lines.write(out, judge)
		lines.flush(judge)
	})
}
