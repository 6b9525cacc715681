package tomlcheck

import (
	"slices"
	"strconv"
	"strings"
)

// Key positions.
//
// The TOML decoder does not say where a key is written, and names keys in
// arrays of tables without their index. positions is an index of every key
// of a (syntactically valid) config by its full path, built by scanning the
// text once: study[1].param[0].max is the max key under the first
// [[study.param]] after the second [[study]].

// keyLine is one key as written.
type keyLine struct {
	path  string   // with array indices: study[1].param[0].max
	parts []string // without: study, param, max
	line  int
}

type positions struct {
	keys  []keyLine      // in the order written
	lines map[string]int // path → line of its first occurrence
}

// line returns the line path is written on. A path that is not written
// (a missing required key) gets the line of the nearest table holding it;
// 0 means not even that was found.
func (p positions) line(path string) int {
	for path != "" {
		if l, ok := p.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// joinKey appends a key part to a path, quoting it unless it is bare.
func joinKey(path, part string) string {
	if part == "" || strings.ContainsFunc(part, func(r rune) bool { return !isBare(r) }) {
		part = strconv.Quote(part)
	}
	if path == "" {
		return part
	}
	return path + "." + part
}

func isBare(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
}

// scanner reads just enough TOML to know which key is on which line. It
// assumes the text parsed, but stops or skips ahead on anything unexpected
// rather than failing.
type scanner struct {
	s      string
	i      int
	line   int
	pos    positions
	arrays map[string]int // indexed path of an array of tables → elements so far
}

func scanPositions(text string) positions {
	sc := &scanner{
		s:      strings.TrimPrefix(text, "\ufeff"),
		line:   1,
		pos:    positions{lines: map[string]int{}},
		arrays: map[string]int{},
	}
	sc.document()
	return sc.pos
}

func (sc *scanner) peek() byte {
	if sc.i < len(sc.s) {
		return sc.s[sc.i]
	}
	return 0
}

func (sc *scanner) record(path string, parts []string, line int) {
	sc.pos.keys = append(sc.pos.keys, keyLine{path: path, parts: parts, line: line})
	if _, ok := sc.pos.lines[path]; !ok {
		sc.pos.lines[path] = line
	}
}

func (sc *scanner) skipSpace() {
	for sc.i < len(sc.s) && (sc.s[sc.i] == ' ' || sc.s[sc.i] == '\t') {
		sc.i++
	}
}

// skipBlank skips spaces, newlines and comments.
func (sc *scanner) skipBlank() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\r':
			sc.i++
		case '\n':
			sc.i++
			sc.line++
		case '#':
			sc.skipToEOL()
		default:
			return
		}
	}
}

// skipToEOL moves to the next newline, leaving it unread.
func (sc *scanner) skipToEOL() {
	for sc.i < len(sc.s) && sc.s[sc.i] != '\n' {
		sc.i++
	}
}

func (sc *scanner) document() {
	var (
		table      string   // indexed path of the current table
		tableParts []string // the same without indices
	)
	for sc.i < len(sc.s) {
		sc.skipBlank()
		if sc.i >= len(sc.s) {
			return
		}
		line := sc.line
		if sc.peek() == '[' {
			array := strings.HasPrefix(sc.s[sc.i:], "[[")
			sc.i++
			if array {
				sc.i++
			}
			parts := sc.keyParts()
			sc.skipToEOL()
			if len(parts) == 0 {
				continue
			}
			paths := sc.header(parts, array)
			for n, path := range paths { // a header implies its parent tables
				sc.record(path, parts[:n+1:n+1], line)
			}
			table, tableParts = paths[len(paths)-1], parts
			continue
		}
		start := sc.i
		parts := sc.keyParts()
		sc.skipSpace()
		if len(parts) == 0 || sc.peek() != '=' {
			if sc.i == start {
				sc.i++
			}
			sc.skipToEOL()
			continue
		}
		sc.i++
		sc.keyValue(table, tableParts, parts, line)
	}
}

// keyValue records the key parts (after '=') under the table at path and
// scans its value.
func (sc *scanner) keyValue(path string, tableParts, parts []string, line int) {
	full := slices.Concat(tableParts, parts)
	for n, p := range parts {
		path = joinKey(path, p)
		end := len(tableParts) + n + 1
		sc.record(path, full[:end:end], line) // a dotted key implies its tables
	}
	sc.value(path, full)
}

// header resolves the parts of a table header to indexed paths, one per
// prefix: a part naming an array of tables refers to its last element, and
// [[...]] starts a new element.
func (sc *scanner) header(parts []string, array bool) []string {
	paths := make([]string, len(parts))
	path := ""
	for n, part := range parts {
		path = joinKey(path, part)
		count, isArray := sc.arrays[path]
		switch {
		case array && n == len(parts)-1:
			sc.arrays[path] = count + 1
			path += "[" + strconv.Itoa(count) + "]"
		case isArray && count > 0:
			path += "[" + strconv.Itoa(count-1) + "]"
		}
		paths[n] = path
	}
	return paths
}

// keyParts reads a possibly dotted key.
func (sc *scanner) keyParts() []string {
	var parts []string
	for {
		sc.skipSpace()
		var part string
		switch c := sc.peek(); {
		case c == '"' || c == '\'':
			s, ok := sc.quoted(c)
			if !ok {
				return parts
			}
			part = s
		case c < 0x80 && isBare(rune(c)):
			start := sc.i
			for sc.i < len(sc.s) && sc.s[sc.i] < 0x80 && isBare(rune(sc.s[sc.i])) {
				sc.i++
			}
			part = sc.s[start:sc.i]
		default:
			return parts
		}
		parts = append(parts, part)
		sc.skipSpace()
		if sc.peek() != '.' {
			return parts
		}
		sc.i++
	}
}

// quoted reads a one-line string quoted with q and returns its value.
func (sc *scanner) quoted(q byte) (string, bool) {
	start := sc.i
	sc.i++
	for sc.i < len(sc.s) {
		switch c := sc.s[sc.i]; {
		case c == '\n':
			return "", false
		case c == '\\' && q == '"':
			sc.i += 2
		case c == q:
			sc.i++
			raw := sc.s[start:sc.i]
			if q == '\'' {
				return raw[1 : len(raw)-1], true
			}
			if s, err := strconv.Unquote(raw); err == nil {
				return s, true
			}
			return raw[1 : len(raw)-1], true
		default:
			sc.i++
		}
	}
	return "", false
}

// value skips over a value, recording the keys of inline tables in it.
func (sc *scanner) value(path string, parts []string) {
	sc.skipSpace()
	switch c := sc.peek(); c {
	case '"', '\'':
		if strings.HasPrefix(sc.s[sc.i:], strings.Repeat(string(c), 3)) {
			sc.multiline(c)
		} else {
			sc.quoted(c)
		}
	case '[':
		sc.i++
		for n := 0; sc.i < len(sc.s); {
			sc.skipBlank()
			switch sc.peek() {
			case ']':
				sc.i++
				return
			case ',':
				sc.i++
				n++
			default:
				start := sc.i
				sc.value(path+"["+strconv.Itoa(n)+"]", parts)
				if sc.i == start {
					sc.i++
				}
			}
		}
	case '{':
		sc.i++
		for sc.i < len(sc.s) {
			sc.skipBlank()
			switch sc.peek() {
			case '}':
				sc.i++
				return
			case ',':
				sc.i++
			default:
				line := sc.line
				start := sc.i
				keys := sc.keyParts()
				sc.skipSpace()
				if len(keys) == 0 || sc.peek() != '=' {
					if sc.i == start {
						sc.i++
					}
					continue
				}
				sc.i++
				sc.keyValue(path, parts, keys, line)
			}
		}
	default:
		for sc.i < len(sc.s) && !strings.ContainsRune(",]}#\r\n", rune(sc.s[sc.i])) {
			sc.i++
		}
	}
}

// multiline skips a multi-line string quoted with q.
func (sc *scanner) multiline(q byte) {
	sc.i += 3
	delim := strings.Repeat(string(q), 3)
	for sc.i < len(sc.s) {
		switch c := sc.s[sc.i]; {
		case c == '\n':
			sc.line++
			sc.i++
		case c == '\\' && q == '"':
			sc.i++
			if sc.i < len(sc.s) && sc.s[sc.i] == '\n' {
				sc.line++
			}
			sc.i++
		case strings.HasPrefix(sc.s[sc.i:], delim):
			sc.i += 3
			// Up to two more quotes belong to the string.
			for k := 0; k < 2 && sc.peek() == q; k++ {
				sc.i++
			}
			return
		default:
			sc.i++
		}
	}
}
