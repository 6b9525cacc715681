package simexec

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/zotune/zotune/wire"
)

// Reserved placeholder names (wire.Reserved), filled from the task rather
// than its params.
const (
	phSeed    = "seed"
	phTrial   = "trial"
	phStudy   = "study"
	phWorkdir = "workdir"
)

func isReserved(name string) bool { return slices.Contains(wire.Reserved, name) }

// argTemplate is one argv element split into literal text and placeholders.
type argTemplate []segment

// segment is literal text when name is empty, else the placeholder {name}.
type segment struct {
	lit  string
	name string
}

// parseArg splits arg into segments. A brace group {s} is a placeholder when
// s is an identifier (a letter or underscore, then letters, digits, '_', '.'
// or '-'); any other brace text is literal.
func parseArg(arg string) argTemplate {
	var t argTemplate
	var lit strings.Builder
	for i := 0; i < len(arg); {
		if arg[i] == '{' {
			if end := strings.IndexByte(arg[i+1:], '}'); end >= 0 {
				name := arg[i+1 : i+1+end]
				if isIdent(name) {
					if lit.Len() > 0 {
						t = append(t, segment{lit: lit.String()})
						lit.Reset()
					}
					t = append(t, segment{name: name})
					i += end + 2
					continue
				}
			}
		}
		lit.WriteByte(arg[i])
		i++
	}
	if lit.Len() > 0 || len(t) == 0 {
		t = append(t, segment{lit: lit.String()})
	}
	return t
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// HasPlaceholder reports whether arg, one element of a simulator command,
// holds a placeholder ({name}) that each evaluation replaces.
func HasPlaceholder(arg string) bool { return len(parseArg(arg).placeholders()) > 0 }

// placeholders returns the placeholder names used in t.
func (t argTemplate) placeholders() []string {
	var names []string
	for _, s := range t {
		if s.name != "" {
			names = append(names, s.name)
		}
	}
	return names
}

// vars holds what placeholders expand to for one evaluation.
type vars struct {
	params  map[string]float64
	labels  map[string]string // categorical parameters' values
	seed    int64
	trial   string
	study   string
	workdir string
}

// expand renders t with v. It fails on a placeholder that names neither a
// parameter nor a reserved value, and on a parameter whose name collides
// with a reserved placeholder used in t.
func (t argTemplate) expand(v *vars) (string, error) {
	if len(t) == 1 && t[0].name == "" {
		return t[0].lit, nil
	}
	var b strings.Builder
	for _, s := range t {
		if s.name == "" {
			b.WriteString(s.lit)
			continue
		}
		val, err := v.lookup(s.name)
		if err != nil {
			return "", err
		}
		b.WriteString(val)
	}
	return b.String(), nil
}

func (v *vars) lookup(name string) (string, error) {
	x, isParam := v.params[name]
	if isReserved(name) {
		if isParam {
			return "", fmt.Errorf("placeholder {%s} is ambiguous: the task has a parameter named %q", name, name)
		}
		switch name {
		case phSeed:
			return strconv.FormatInt(v.seed, 10), nil
		case phTrial:
			return v.trial, nil
		case phStudy:
			return v.study, nil
		default:
			return v.workdir, nil
		}
	}
	if !isParam {
		known := make([]string, 0, len(v.params))
		for k := range v.params {
			known = append(known, k)
		}
		sort.Strings(known)
		have := "the task has no parameters"
		if len(known) > 0 {
			have = "parameters: " + strings.Join(known, ", ")
		}
		return "", fmt.Errorf("unknown placeholder {%s} in command (%s; reserved: seed, trial, study, workdir)", name, have)
	}
	if l, ok := v.labels[name]; ok {
		return l, nil
	}
	return formatFloat(x), nil
}

// formatFloat writes x as the shortest decimal that parses back to x; an
// integral value below 1e21 without exponent (1000000, not 1e+06), so that
// an integer parameter reaches the simulator as an integer literal.
func formatFloat(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e21 {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}
