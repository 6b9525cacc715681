package tomlcheck

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// The scanner reads the keys of every array of tables with their index: the
// checks below go through header counting, multi-line values that look like
// headers or keys, inline tables, quoted and dotted keys, and CRLF.
func TestPositions(t *testing.T) {
	text := strings.Join([]string{
		`# comment [[study]]`, // 1
		`[nats]`,              // 2
		`url = """`,           // 3
		`[[study]]`,           // 4
		`name = "x"`,          // 5
		`"""`,                 // 6
		`[[evaluator]]`,       // 7
		`command = [`,         // 8
		`  "a", # ]`,          // 9
		`  '''b`,              // 10
		`c''',`,               // 11
		`]`,                   // 12
		`objective = 'f'`,     // 13
		`[[study]]`,           // 14
		`name = "s0"`,         // 15
		`[[study.param]]`,     // 16
		`"name" = "p"`,        // 17
		`[[study]]`,           // 18
		"name = \"s1\"\r",     // 19
		`param = [`,           // 20
		`  {name = "a", min = 0},`,
		`  {name = "b", max = 1},`, // 22
		`]`,                        // 23
		`sub.deep.key = 1`,         // 24
	}, "\n")
	pos := scanPositions(text)
	for path, want := range map[string]int{
		"nats":                    2,
		"nats.url":                3,
		"evaluator[0]":            7,
		"evaluator[0].command":    8,
		"evaluator[0].objective":  13,
		"study[0]":                14,
		"study[0].name":           15,
		"study[0].param[0]":       16,
		"study[0].param[0].name":  17,
		"study[0].param[0].max":   16, // not written: its table's line
		"study[1].name":           19,
		"study[1].param[0].name":  21,
		"study[1].param[1].max":   22,
		"study[1].sub":            24,
		"study[1].sub.deep.key":   24,
		"study[2].name":           0,
		"evaluator[0].command[1]": 8, // array items are found by their key
	} {
		if got := pos.line(path); got != want {
			t.Errorf("line(%s) = %d, want %d", path, got, want)
		}
	}
}

// doc is a small schema of the kind a config has: a table and an array of
// tables with a nested one.
type doc struct {
	Server struct {
		Port int    `toml:"port"`
		Name string `toml:"name"`
	} `toml:"server"`
	Jobs []struct {
		Name  string `toml:"name"`
		Tasks []struct {
			Weight float64 `toml:"weight"`
		} `toml:"task"`
	} `toml:"job"`
}

// Unknown and misspelt keys, wrong types and the caller's own problems are
// all reported, each with its line and full key, sorted by line; a key of
// the wrong type keeps its default and what validation says of it is
// dropped.
func TestDocProblems(t *testing.T) {
	text := `[server]
prot = 4222
name = 7

[[job]]
name = "a"
  [[job.task]]
  weight = "heavy"
  colour = "red"
`
	var top struct {
		Server toml.Primitive   `toml:"server"`
		Jobs   []toml.Primitive `toml:"job"`
	}
	d, err := Parse([]byte(text), "jobs.toml", reflect.TypeFor[doc](), &top)
	if err != nil {
		t.Fatal(err)
	}
	var c doc
	c.Server.Name = "default"
	d.Decode(top.Server, &c.Server, "server", "server")
	var validation Problems
	validation.Add("server.name", "must not be %q", c.Server.Name) // of a key that did not decode: dropped
	validation.Add("job[0].name", "is taken")
	err = d.Finish(validation)
	want := []string{
		`jobs.toml:2: server.prot: unknown key in [server]; did you mean "port"?`,
		`jobs.toml:3: server.name: wrong type: got integer, want string`,
		`jobs.toml:6: job[0].name: is taken`,
		`jobs.toml:9: job[0].task[0].colour: unknown key in [[job.task]]; known keys: weight`,
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var p *Problem
	if !errors.As(err, &p) || p.Line != 2 {
		t.Errorf("errors.As: %+v", p)
	}
}

// A syntax error is reported at once, with its line.
func TestDocSyntaxError(t *testing.T) {
	var top struct{}
	_, err := Parse([]byte("a = 1\nb = [\n"), "x.toml", reflect.TypeFor[struct{}](), &top)
	var p *Problem
	if !errors.As(err, &p) || p.File != "x.toml" || p.Line == 0 {
		t.Fatalf("syntax error: %v (%+v)", err, p)
	}
}

// FuzzPositions checks that the key scanner survives any text.
func FuzzPositions(f *testing.F) {
	f.Add("a.b.c = 1\n[x.y]\n[[x.z]]\nq = [{a = 1}, [2], '''\n''']\n")
	f.Add("[[study]]\nparam = [{name = \"x\", min = \"0\"}]\n")
	f.Fuzz(func(t *testing.T, text string) {
		pos := scanPositions(text)
		for _, k := range pos.keys {
			if k.line < 1 || k.line > strings.Count(text, "\n")+1 {
				t.Fatalf("key %s on line %d of a %d-line text", k.path, k.line, strings.Count(text, "\n")+1)
			}
		}
	})
}
