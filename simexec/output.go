package simexec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/zotune/zotune/transport"
)

// Output limits. A chatty simulator costs at most these many bytes of memory.
const (
	stdoutKeep = 64 << 10 // exec mode: tail of stdout kept to find the last line
	lineMax    = 64 << 10 // stdio mode: longest answer line accepted
	stderrKeep = 2 << 10  // tail of stderr attached to a failure
	quoteMax   = 200      // bytes of an offending line quoted in an error
)

// result is a parsed simulator answer.
type result struct {
	value   float64
	metrics map[string]float64
}

// parseLine parses one answer line: a number, or a JSON object with a
// numeric "value" whose other numeric fields become metrics. On failure it
// returns ReasonParse or ReasonNonFinite; it never returns a non-finite value
// or metric with a nil error.
func parseLine(line string) (result, transport.Reason, error) {
	line = strings.TrimSpace(line)
	if line == "" {
		return result{}, transport.ReasonParse, errors.New("empty line")
	}
	if line[0] == '{' {
		return parseObject(line)
	}
	v, err := strconv.ParseFloat(line, 64)
	if err != nil {
		// ParseFloat saturates out-of-range input (1e999 is +Inf) and
		// reports ErrRange; the value is then judged below.
		if !errors.Is(err, strconv.ErrRange) {
			return result{}, transport.ReasonParse, fmt.Errorf("not a number or a JSON object with a numeric \"value\": %s", quote(line))
		}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return result{}, transport.ReasonNonFinite, fmt.Errorf("value is not finite: %s", quote(line))
	}
	return result{value: v}, "", nil
}

// bareNonFinite matches {"value": NaN} and friends, which some JSON encoders
// (Python's among them) write although it is not JSON.
var bareNonFinite = regexp.MustCompile(`"value"\s*:\s*[-+]?(?i:nan|inf|infinity)\b`)

func parseObject(line string) (result, transport.Reason, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var obj map[string]any
	err := dec.Decode(&obj)
	if err == nil {
		if _, tail := dec.Token(); tail != io.EOF {
			err = errors.New("trailing data after the object")
		}
	}
	if err != nil {
		if bareNonFinite.MatchString(line) {
			return result{}, transport.ReasonNonFinite, fmt.Errorf("value is not finite: %s", quote(line))
		}
		return result{}, transport.ReasonParse, fmt.Errorf("not a valid JSON object (%v): %s", err, quote(line))
	}
	raw, ok := obj["value"]
	if !ok {
		return result{}, transport.ReasonParse, fmt.Errorf("JSON object has no \"value\": %s", quote(line))
	}
	num, ok := raw.(json.Number)
	if !ok {
		return result{}, transport.ReasonParse, fmt.Errorf("JSON \"value\" is not a number: %s", quote(line))
	}
	v, err := strconv.ParseFloat(string(num), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return result{}, transport.ReasonParse, fmt.Errorf("JSON \"value\" is not a number: %s", quote(line))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return result{}, transport.ReasonNonFinite, fmt.Errorf("value is not finite: %s", quote(line))
	}
	r := result{value: v}
	for k, raw := range obj {
		num, ok := raw.(json.Number)
		if k == "value" || !ok {
			continue
		}
		m, err := strconv.ParseFloat(string(num), 64)
		if err != nil || math.IsNaN(m) || math.IsInf(m, 0) {
			continue // out of float64 range; JSON cannot carry it on
		}
		if r.metrics == nil {
			r.metrics = make(map[string]float64)
		}
		r.metrics[k] = m
	}
	return r, "", nil
}

// lastLine returns the last non-empty line of out, trimmed. out may be only
// the tail of a longer output of total bytes; complete is false when the
// line may have been cut at the front by that truncation.
func lastLine(out []byte, total int64) (line string, complete bool) {
	whole := total <= int64(len(out))
	out = bytes.TrimRightFunc(out, isSpace)
	if len(out) == 0 {
		return "", true
	}
	i := bytes.LastIndexByte(out, '\n')
	return string(bytes.TrimSpace(out[i+1:])), i >= 0 || whole
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

// parseOutput parses the result from a simulator's stdout in exec mode, of
// which out is the tail and total the full length.
func parseOutput(out []byte, total int64) (result, transport.Reason, error) {
	line, complete := lastLine(out, total)
	switch {
	case line == "" && total == 0:
		return result{}, transport.ReasonParse, errors.New("no output on stdout")
	case line == "":
		return result{}, transport.ReasonParse, errors.New("stdout has only blank lines")
	case !complete:
		return result{}, transport.ReasonParse, fmt.Errorf("last line of stdout is longer than %d KiB: %s", stdoutKeep>>10, quote(line))
	}
	r, reason, err := parseLine(line)
	if err != nil {
		return result{}, reason, fmt.Errorf("last line of stdout: %w", err)
	}
	return r, "", nil
}

// quote returns s quoted, cut to quoteMax bytes.
func quote(s string) string {
	if len(s) <= quoteMax {
		return strconv.Quote(s)
	}
	cut := quoteMax
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("... (%d bytes)", len(s))
}

// tailBuffer is an io.Writer keeping the last max bytes written to it. It is
// safe for concurrent use.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	buf   []byte
	total int64
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

// Write implements io.Writer; it never fails.
func (b *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total += int64(n)
	if len(p) > b.max {
		p = p[len(p)-b.max:]
	}
	b.buf = append(b.buf, p...)
	// Compact only once the buffer has doubled: amortised O(1) per byte.
	if len(b.buf) > 2*b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return n, nil
}

// Tail returns a copy of the last max bytes and the total written.
func (b *tailBuffer) Tail() ([]byte, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.buf
	if len(t) > b.max {
		t = t[len(t)-b.max:]
	}
	return bytes.Clone(t), b.total
}

// String returns the tail as text for an error report: whitespace trimmed,
// starting at a character boundary, marked when older output was dropped.
func (b *tailBuffer) String() string {
	t, total := b.Tail()
	cut := 0
	for cut < len(t) && cut < utf8.UTFMax && !utf8.RuneStart(t[cut]) {
		cut++
	}
	s := strings.TrimSpace(string(t[cut:]))
	if s != "" && total > int64(len(t)) {
		s = "..." + s
	}
	return s
}

// answer is one line a stdio simulator wrote.
type answer struct {
	text     string
	overlong bool // longer than lineMax; text holds its start
}

// lineSplitter cuts a stdio simulator's stdout into answer lines, trimmed;
// blank lines are skipped. A line that grows past lineMax is emitted at
// once, marked overlong, and the rest of it dropped. Not safe for
// concurrent use.
type lineSplitter struct {
	buf []byte
	cut bool // the current line was emitted as overlong; drop up to its end
}

// write adds p, calling emit for each line it completes.
func (s *lineSplitter) write(p []byte, emit func(answer)) {
	for len(p) > 0 {
		chunk, rest, found := bytes.Cut(p, []byte{'\n'})
		if !s.cut {
			if room := lineMax - len(s.buf); len(chunk) > room {
				s.buf = append(s.buf, chunk[:room]...)
				a := answer{text: strings.TrimSpace(string(s.buf)), overlong: true}
				s.buf, s.cut = s.buf[:0], true
				emit(a)
			} else {
				s.buf = append(s.buf, chunk...)
			}
		}
		if found {
			if !s.cut {
				s.flush(emit)
			}
			s.cut = false
		}
		p = rest
	}
}

// flush emits the line written so far, if it is not blank; at the end of
// output it is the final line, which needs no newline.
func (s *lineSplitter) flush(emit func(answer)) {
	text := strings.TrimSpace(string(s.buf))
	s.buf = s.buf[:0]
	if text != "" && !s.cut {
		emit(answer{text: text})
	}
}

// partial returns the non-blank start of a line not yet ended, or "".
func (s *lineSplitter) partial() string {
	if s.cut {
		return ""
	}
	return strings.TrimSpace(string(s.buf))
}
