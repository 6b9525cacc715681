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

	"github.com/zotune/zotune/wire"
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
	hasID   bool // the answer is a JSON object with an "id" member
	id      any  // that member, as decoded (a string when well-formed)
}

// parseLine parses one answer line: a number, or a JSON object with a
// numeric "value" whose other numeric fields become metrics. On failure it
// returns ReasonParse or ReasonNonFinite; it never returns a non-finite value
// or metric with a nil error. The id of a JSON object is returned even when
// its value is not finite, so that it can be checked first.
func parseLine(line string) (result, wire.Reason, error) {
	line = strings.TrimSpace(line)
	if line == "" {
		return result{}, wire.ReasonParse, errors.New("empty line")
	}
	if line[0] == '{' {
		return parseObject(line)
	}
	v, err := strconv.ParseFloat(line, 64)
	if err != nil {
		// ParseFloat saturates out-of-range input (1e999 is +Inf) and
		// reports ErrRange; the value is then judged below.
		if !errors.Is(err, strconv.ErrRange) {
			return result{}, wire.ReasonParse, fmt.Errorf("not a number or a JSON object with a numeric \"value\": %s", quote(line))
		}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return result{}, wire.ReasonNonFinite, fmt.Errorf("value is not finite: %s", quote(line))
	}
	return result{value: v}, "", nil
}

// bareNonFinite matches {"value": NaN} and friends, which some JSON encoders
// (Python's among them) write although it is not JSON.
var bareNonFinite = regexp.MustCompile(`"value"\s*:\s*[-+]?(?i:nan|inf|infinity)\b`)

func parseObject(line string) (result, wire.Reason, error) {
	obj, err := decodeObject(line)
	if err != nil {
		if !bareNonFinite.MatchString(line) {
			return result{}, wire.ReasonParse, fmt.Errorf("not a valid JSON object (%v): %s", err, quote(line))
		}
		// Read the id with the bare NaN taken out; the value is not finite
		// either way.
		var r result
		if obj, err := decodeObject(bareNonFinite.ReplaceAllString(line, `"value":null`)); err == nil {
			r.id, r.hasID = obj["id"]
		}
		return r, wire.ReasonNonFinite, fmt.Errorf("value is not finite: %s", quote(line))
	}
	var r result
	r.id, r.hasID = obj["id"]
	raw, ok := obj["value"]
	if !ok {
		return r, wire.ReasonParse, fmt.Errorf("JSON object has no \"value\": %s", quote(line))
	}
	num, ok := raw.(json.Number)
	if !ok {
		return r, wire.ReasonParse, fmt.Errorf("JSON \"value\" is not a number: %s", quote(line))
	}
	v, err := strconv.ParseFloat(string(num), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return r, wire.ReasonParse, fmt.Errorf("JSON \"value\" is not a number: %s", quote(line))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return r, wire.ReasonNonFinite, fmt.Errorf("value is not finite: %s", quote(line))
	}
	r.value = v
	for k, raw := range obj {
		num, ok := raw.(json.Number)
		if k == "value" || k == "id" || !ok {
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

// decodeObject decodes line, a whole JSON object and nothing else, keeping
// numbers as written.
func decodeObject(line string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var obj map[string]any
	err := dec.Decode(&obj)
	if err == nil {
		if _, tail := dec.Token(); tail != io.EOF {
			err = errors.New("trailing data after the object")
		}
	}
	return obj, err
}

// checkID reports whether r, parsed from line, answers the request with id
// want: when r names a request, it must be that one; with required, r must
// name one.
func checkID(r result, line, want string, required bool) error {
	example := answerExample(want)
	if !r.hasID {
		if !required {
			return nil
		}
		return fmt.Errorf("answer %s does not name its request: expected a JSON object echoing the request's id, like %s", quote(line), example)
	}
	id, ok := r.id.(string)
	switch {
	case !ok:
		return fmt.Errorf("answer's \"id\" is not a string: %s; expected the request's id, like %s", quote(line), example)
	case id != want:
		return fmt.Errorf("answer is for request %s, not for the request it was given, %s: %s", strconv.Quote(id), strconv.Quote(want), quote(line))
	}
	return nil
}

// answerExample is a well-formed answer to the request with id.
func answerExample(id string) string {
	b, _ := json.Marshal(id) // a string always encodes
	return `{"id":` + string(b) + `,"value":1.25}`
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
// which out is the tail and total the full length. A last line that names
// a request must name id's.
func parseOutput(out []byte, total int64, id string) (result, wire.Reason, error) {
	line, complete := lastLine(out, total)
	switch {
	case line == "" && total == 0:
		return result{}, wire.ReasonParse, errors.New("no output on stdout")
	case line == "":
		return result{}, wire.ReasonParse, errors.New("stdout has only blank lines")
	case !complete:
		return result{}, wire.ReasonParse, fmt.Errorf("last line of stdout is longer than %d KiB: %s", stdoutKeep>>10, quote(line))
	}
	r, reason, err := parseLine(line)
	if idErr := checkID(r, line, id, false); idErr != nil {
		return result{}, wire.ReasonParse, fmt.Errorf("last line of stdout: %w", idErr)
	}
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

// answer is one line a stdio simulator wrote, with what was known of its
// request when it arrived.
type answer struct {
	text     string
	overlong bool // longer than lineMax; text holds its start
	blank    bool // nothing but white space
	// early is set, in plain mode, for a line that arrived before the
	// simulator had read all of the request but its last bytes, which were
	// not sent yet: it cannot be the request's answer.
	early bool
	// unread is, in plain mode, how many bytes of the request were still
	// unread on the simulator's stdin when the line arrived; unreadErr is
	// set when that could not be told.
	unread    int
	unreadErr error
}

// lineSplitter cuts a stdio simulator's stdout into answer lines, trimmed;
// a line of white space only is emitted too, marked blank. A line that
// grows past lineMax is emitted at once, marked overlong, and the rest of
// it dropped. Not safe for concurrent use.
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
				s.emit(emit)
			}
			s.cut = false
		}
		p = rest
	}
}

// emit emits the line held, blank or not, and empties the buffer.
func (s *lineSplitter) emit(emit func(answer)) {
	text := strings.TrimSpace(string(s.buf))
	s.buf = s.buf[:0]
	emit(answer{text: text, blank: text == ""})
}

// flush emits the start of a line not yet ended, if there is one: at the
// end of output it is the final line, which needs no newline.
func (s *lineSplitter) flush(emit func(answer)) {
	if len(s.buf) > 0 && !s.cut {
		s.emit(emit)
	}
}

// partial returns the start of a line not yet ended, trimmed, and whether
// there is one (white space counts).
func (s *lineSplitter) partial() (string, bool) {
	if s.cut {
		return "", false
	}
	return strings.TrimSpace(string(s.buf)), len(s.buf) > 0
}
