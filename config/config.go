// Package config reads tunerd's config file, config.toml: how to reach
// NATS, how the daemon runs, the evaluator processes it starts itself, and
// the studies. Decoding is strict (internal/tomlcheck): unknown keys, wrong
// types and impossible values are all reported at once, each with its file,
// line and key. Relative paths are resolved against the file's folder.
// ParseStudies reads a study document submitted to a running daemon, TOML
// or JSON, by the same rules. The TOML structs stop here: each study
// becomes a study.Spec, and tunerd turns the rest into the daemon's typed
// settings. The rules of a study's own fields are the study package's
// (study.Spec.Problems), and those of a simulator command the simexec
// package's.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/zotune/zotune/internal/tomlcheck"
	"github.com/zotune/zotune/simexec"
	"github.com/zotune/zotune/study"
)

// Error is one problem with a config: the key at fault, where it is
// written, and what is wrong with it. Load and Parse return one per line
// of their error.
type Error = tomlcheck.Problem

// Config is a tunerd config file: how to reach NATS, how the daemon runs,
// the evaluator processes tunerd starts itself, and the studies to run.
type Config struct {
	NATS       NATSConfig        `toml:"nats"`
	Daemon     DaemonConfig      `toml:"daemon"`
	Evaluators []EvaluatorConfig `toml:"evaluator"`
	Studies    []StudyConfig     `toml:"study"`

	// Dir is the directory of the config file. Relative paths in the file
	// were resolved against it when it was loaded.
	Dir string `toml:"-"`
}

// Default returns the defaults a config file is decoded over.
func Default() Config {
	return Config{NATS: defaultNATS(), Daemon: defaultDaemon()}
}

// Study returns the study called name.
func (c *Config) Study(name string) (*StudyConfig, bool) {
	for i := range c.Studies {
		if c.Studies[i].Name == name {
			return &c.Studies[i], true
		}
	}
	return nil, false
}

// Specs returns the definitions of c's studies.
func (c *Config) Specs() []study.Spec {
	specs := make([]study.Spec, len(c.Studies))
	for i := range c.Studies {
		specs[i] = c.Studies[i].Spec()
	}
	return specs
}

// Load reads the config file at path. See Parse.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: read config: %w", err)
	}
	return parse(data, filepath.Dir(path), path)
}

// Parse decodes a config over Default, rejecting unknown keys and wrong
// types, resolves relative paths against dir, and validates the result.
// Every problem found is reported, one *Error per line of the returned
// error, sorted by line.
func Parse(data []byte, dir string) (*Config, error) {
	return parse(data, dir, "")
}

// document is the top level of a config file. Each table is decoded on its
// own, over its defaults, so that a wrong type is traced to the element it
// is in and the other elements are still checked.
type document struct {
	NATS       toml.Primitive   `toml:"nats"`
	Daemon     toml.Primitive   `toml:"daemon"`
	Evaluators []toml.Primitive `toml:"evaluator"`
	Studies    []toml.Primitive `toml:"study"`
}

func parse(data []byte, dir, file string) (*Config, error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("config: config directory: %w", err)
	}
	var top document
	doc, err := tomlcheck.Parse(data, file, reflect.TypeFor[Config](), &top)
	if err != nil {
		return nil, err
	}
	c := Default()
	c.Dir = absDir
	if doc.Defined("nats") {
		doc.Decode(top.NATS, &c.NATS, "nats", "nats")
	}
	if doc.Defined("daemon") {
		doc.Decode(top.Daemon, &c.Daemon, "daemon", "daemon")
	}
	for i, prim := range top.Evaluators {
		ev := defaultEvaluator()
		doc.Decode(prim, &ev, fmt.Sprintf("evaluator[%d]", i), "evaluator")
		c.Evaluators = append(c.Evaluators, ev)
	}
	for i, prim := range top.Studies {
		c.Studies = append(c.Studies, decodeStudy(doc, prim, fmt.Sprintf("study[%d]", i)))
	}
	c.resolvePaths()
	if err := doc.Finish(c.problems()); err != nil {
		return nil, err
	}
	return &c, nil
}

// resolvePaths makes the file paths of c absolute, relative to c.Dir. The
// simulator command is resolved only when it names a path ("./sim",
// "bin/sim"); a bare name ("python3") is left for the PATH lookup. A
// later argument is resolved too when it is "." or "..", starts with "./"
// or "../", or names a file that exists in c.Dir (see commandPath), so
// that ["go", "-C", ".", "run", "./sims/x"], ["python3", "./sim.py"] and
// ["python3", "sim.py"] work from the evaluator's per-run working
// directory.
func (c *Config) resolvePaths() {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(c.Dir, p)
	}
	c.NATS.Creds = abs(c.NATS.Creds)
	c.NATS.NKey = abs(c.NATS.NKey)
	c.NATS.TLSCA = abs(c.NATS.TLSCA)
	c.NATS.TLSCert = abs(c.NATS.TLSCert)
	c.NATS.TLSKey = abs(c.NATS.TLSKey)
	c.Daemon.DataDir = abs(c.Daemon.DataDir)
	for i := range c.Evaluators {
		e := &c.Evaluators[i]
		if len(e.Command) > 0 && strings.ContainsAny(e.Command[0], "/"+string(filepath.Separator)) {
			e.Command[0] = abs(e.Command[0])
		}
		for j := 1; j < len(e.Command); j++ {
			if c.commandPath(e.Command[j]) {
				e.Command[j] = abs(e.Command[j])
			}
		}
		e.Dir = abs(e.Dir)
	}
}

// commandPath reports whether a, an argument of a simulator command after
// the program, is a path relative to the config's folder: ".", "..", one
// that starts with "./" or "../", or one without a placeholder that names
// a regular file in c.Dir ("sim.py", "data/input.csv"). A word that names
// no file there ("--seed", "fast", "-m") is left alone, and so is a
// folder, which might be a module or package name ("python3 -m pkg").
func (c *Config) commandPath(a string) bool {
	if a == "." || a == ".." || strings.HasPrefix(a, "./") || strings.HasPrefix(a, "../") {
		return true
	}
	if a == "" || filepath.IsAbs(a) || simexec.HasPlaceholder(a) {
		return false
	}
	fi, err := os.Stat(filepath.Join(c.Dir, a))
	return err == nil && fi.Mode().IsRegular()
}

// Validate reports every impossible value in c, one *Error per line of the
// returned error. It does not change c.
func (c *Config) Validate() error {
	return c.problems().Err()
}

func (c *Config) problems() tomlcheck.Problems {
	var ps tomlcheck.Problems
	c.NATS.check(&ps)
	c.Daemon.check(&ps)
	served := map[string]bool{}
	for i, e := range c.Evaluators {
		e.check(&ps, fmt.Sprintf("evaluator[%d]", i))
		served[e.Objective] = true
	}
	_, sps := studySpecs(c.Studies, true)
	ps = append(ps, sps...)
	for i := range c.Studies {
		s := &c.Studies[i]
		key := fmt.Sprintf("study[%d]", i)
		// With an embedded server only the evaluators tunerd starts can
		// answer; with an external one they may be anywhere.
		if c.NATS.URL == "" && s.Objective != "" && !served[s.Objective] {
			ps.Add(key+".objective", "study %q needs objective %q, which no [[evaluator]] serves (served: %s); "+
				"add an [[evaluator]] for it, or set nats.url to use evaluators started elsewhere",
				s.Name, s.Objective, servedList(served))
		}
	}
	return ps
}

// servedList names the objectives evaluators serve, for a message.
func servedList(served map[string]bool) string {
	var objs []string
	for o := range served {
		if o != "" {
			objs = append(objs, strconv.Quote(o))
		}
	}
	if len(objs) == 0 {
		return "none"
	}
	slices.Sort(objs)
	return strings.Join(objs, ", ")
}
