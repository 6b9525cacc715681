package evaluator

// The evaluator's logs, and those of every program that serves
// evaluations with this package (tunerd included), write durations with
// their unit.
import _ "github.com/zotune/zotune/internal/logfmt"
