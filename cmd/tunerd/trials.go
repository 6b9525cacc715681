package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/study"
)

func trialsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var format string
	var offset, limit int
	return clientCommand{
		name: "tunerd trials",
		usage: `Usage: tunerd trials [flags] STUDY

Prints a study's trial history, as its trials.jsonl records it: every
evaluation, succeeded or failed, in the order it was recorded.
  --format F          jsonl (a JSON object per line, default) or csv (a
                      header, then a row per trial: its fields, a column per
                      parameter, then metric.NAME per metric)
  --offset N          start at the Nth trial (0-based)
  --limit N           at most N trials (default: all)
`,
		args: args,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&format, "format", "jsonl", "jsonl or csv")
			fs.IntVar(&offset, "offset", 0, "first trial")
			fs.IntVar(&limit, "limit", 0, "most trials")
		},
		positional: func(a []string) string {
			if format != "jsonl" && format != "csv" {
				return fmt.Sprintf("--format %q: want jsonl or csv", format)
			}
			if offset < 0 || limit < 0 {
				return "--offset and --limit must be >= 0"
			}
			return exactly(1, "one study name")(a)
		},
		call: func(ctx context.Context, c *api.Client, _ *nats.Conn, a []string) error {
			lines, err := fetchTrials(ctx, c, a[0], offset, limit)
			if err != nil {
				return err
			}
			if format == "csv" {
				return writeCSV(stdout, lines)
			}
			for _, l := range lines {
				fmt.Fprintf(stdout, "%s\n", l)
			}
			return nil
		},
	}.run(ctx, stdout, stderr)
}

// fetchTrials gets the trials from offset on, limit of them (0: all), a
// page at a time.
func fetchTrials(ctx context.Context, c *api.Client, name string, offset, limit int) ([]json.RawMessage, error) {
	var out []json.RawMessage
	for {
		page := api.MaxTrialsLimit
		if limit > 0 {
			page = min(page, limit-len(out))
		}
		p, err := c.Trials(ctx, api.TrialsRequest{Study: name, Offset: offset, Limit: page})
		if err != nil {
			return nil, err
		}
		out = append(out, p.Trials...)
		if p.Next == nil || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
		offset = *p.Next
	}
}

// writeCSV writes trial lines as CSV: the fixed fields, a column per
// parameter, then one per metric.
func writeCSV(w io.Writer, lines []json.RawMessage) error {
	trials := make([]study.Trial, len(lines))
	paramSet, metricSet := map[string]bool{}, map[string]bool{}
	for i, l := range lines {
		if err := json.Unmarshal(l, &trials[i]); err != nil {
			return fmt.Errorf("trial %d: %w", i, err)
		}
		for k := range trials[i].Params {
			paramSet[k] = true
		}
		for k := range trials[i].Metrics {
			metricSet[k] = true
		}
	}
	fixed := []string{"trial", "seed", "value", "error", "reason", "evaluator", "started", "seconds"}
	names, metrics := sortedKeys(paramSet), sortedKeys(metricSet)
	header := slices.Clone(fixed)
	for _, n := range names {
		if slices.Contains(fixed, n) {
			n = "param." + n
		}
		header = append(header, n)
	}
	for _, m := range metrics {
		header = append(header, "metric."+m)
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(header)
	for _, t := range trials {
		row := []string{t.Trial, strconv.FormatInt(t.Seed, 10), optFloat(t.Value), t.Error, t.Reason, t.Evaluator,
			t.Started.Format(time.RFC3339Nano), strconv.FormatFloat(t.Seconds, 'g', -1, 64)}
		for _, n := range names {
			v, ok := t.Params[n]
			row = append(row, optFloat(map[bool]*float64{true: &v}[ok]))
		}
		for _, m := range metrics {
			v, ok := t.Metrics[m]
			row = append(row, optFloat(map[bool]*float64{true: &v}[ok]))
		}
		_ = cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// optFloat formats an optional float exactly, "" for none.
func optFloat(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
