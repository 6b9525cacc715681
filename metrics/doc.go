// Package metrics is tunerd's Prometheus instrumentation: counters of the
// evaluations every study records (Metrics is a study.Observer), a
// histogram of how long evaluations take, and gauges of each study's
// progress and certificate and of each objective's evaluator slots, read
// from a Source when Prometheus scrapes. Every metric is named zotune_* and
// documented in docs/metrics.md.
//
// A Metrics has a registry of its own (with the Go runtime and process
// collectors), so two daemons in one process, or tests, never share
// series.
package metrics
