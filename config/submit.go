package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/BurntSushi/toml"

	"github.com/zotune/zotune/internal/tomlcheck"
	"github.com/zotune/zotune/study"
)

// ParseStudies reads a study document, as `tunerd submit` sends it to a
// daemon: TOML, or JSON (an object). It
// holds one study at its top level (name = "...", objective = "...",
// [[param]] ...), or several as a config file writes them ([[study]] ...
// [[study.param]] ...). The keys, defaults, rules and messages are those
// of a config file's [[study]]; file names the document in messages ("":
// none). Relative paths do not occur in a study.
func ParseStudies(data []byte, file string) ([]study.Spec, error) {
	parse := tomlcheck.Parse
	if isJSON(data) {
		parse = tomlcheck.ParseJSON
	}
	var (
		configs []StudyConfig
		doc     *tomlcheck.Doc
		err     error
	)
	if hasStudyArray(data) {
		var top struct {
			Studies []toml.Primitive `toml:"study"`
		}
		type schema struct {
			Studies []StudyConfig `toml:"study"`
		}
		if doc, err = parse(data, file, reflect.TypeFor[schema](), &top); err != nil {
			return nil, err
		}
		for i, prim := range top.Studies {
			configs = append(configs, decodeStudy(doc, prim, fmt.Sprintf("study[%d]", i)))
		}
	} else {
		var top toml.Primitive
		if doc, err = parse(data, file, reflect.TypeFor[StudyConfig](), &top); err != nil {
			return nil, err
		}
		configs = []StudyConfig{decodeStudy(doc, top, "")}
	}
	specs, probs := studySpecs(configs, len(configs) > 1 || hasStudyArray(data))
	if len(configs) == 0 {
		probs.Add("study", "no study in the document; write one study's keys (name, objective, [[param]] ...) or [[study]] tables")
	}
	if err := doc.Finish(probs); err != nil {
		return nil, err
	}
	return specs, nil
}

// studySpecs returns the definitions of configs and their problems, each
// keyed by the study's place (study[i]) when indexed, else by its own key.
func studySpecs(configs []StudyConfig, indexed bool) ([]study.Spec, tomlcheck.Problems) {
	var ps tomlcheck.Problems
	specs := make([]study.Spec, len(configs))
	names := map[string]int{}
	for i := range configs {
		specs[i] = configs[i].Spec()
		key := ""
		if indexed {
			key = fmt.Sprintf("study[%d]", i)
		}
		ps = append(ps, specs[i].Problems().Under(key)...)
		name := specs[i].Name
		if first, dup := names[name]; dup && name != "" {
			ps.Add(key+".name", "duplicate study name %q (also study[%d])", name, first)
		} else {
			names[name] = i
		}
	}
	return specs, ps
}

// isJSON reports whether data is a JSON document: it starts with '{', or
// with '[' then '{' or ']' (an array, refused as such), blanks aside. A
// TOML document starts with a key, a comment or a [table] header.
func isJSON(data []byte) bool {
	t := bytes.TrimLeft(data, blanks)
	if len(t) > 0 && t[0] == '[' {
		t = bytes.TrimLeft(t[1:], blanks)
		return len(t) > 0 && (t[0] == '{' || t[0] == ']')
	}
	return len(t) > 0 && t[0] == '{'
}

const blanks = " \t\r\n\ufeff"

// hasStudyArray reports whether the document writes its studies as a
// config file does, under "study". A document that does not parse is
// not: parsing it as one study reports its syntax error.
func hasStudyArray(data []byte) bool {
	var top map[string]any
	if isJSON(data) {
		if json.Unmarshal(data, &top) != nil {
			return false
		}
	} else if _, err := toml.Decode(string(data), &top); err != nil {
		return false
	}
	_, ok := top["study"]
	return ok
}
