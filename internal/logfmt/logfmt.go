// Package logfmt sets how zotune's programs write log fields that zerolog
// leaves to a global setting. Importing it is enough: tunerd and the
// evaluator do (the evaluator package imports it, so every program that
// serves evaluations does too).
//
// Durations are written as Go duration strings with their unit ("5s",
// "1m30s", "250ms"), not zerolog's default of a bare number of
// milliseconds, which a reader cannot tell from a count.
package logfmt

import "github.com/rs/zerolog"

func init() {
	zerolog.DurationFieldFormat = zerolog.DurationFormatString
}
