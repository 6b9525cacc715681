package tomlcheck

import "testing"

// A JSON document's keys are indexed as the TOML they stand for would be,
// with the lines of the JSON text.
func TestScanJSON(t *testing.T) {
	text := `{
  "name": "a",
  "study": [
    {"seed": 1},
    {
      "param": [{"min": 0}, {"max": [1,
         2]}],
      "x y": {"z": null}
    }
  ]
}`
	pos := scanJSON([]byte(text))
	for path, want := range map[string]int{
		"name":                   2,
		"study":                  3,
		"study[0]":               4,
		"study[0].seed":          4,
		"study[1]":               5,
		"study[1].param[0].min":  6,
		"study[1].param[1].max":  6,
		`study[1]."x y".z`:       8,
		"study[1].param[1].init": 6, // not written: its table's line
		"nowhere":                0,
	} {
		if got := pos.line(path); got != want {
			t.Errorf("line(%s) = %d, want %d", path, got, want)
		}
	}
}
