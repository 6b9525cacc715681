// Package study turns a config into running studies: the config schema and
// its strict loader, the parameter space (named, bounded, log-scaled
// parameters mapped to the optimizer's unit box), the oracle layers between
// an optimizer and the transport (budget, space, tracking), and the outputs
// every study writes under data_dir/<study>/: summary.json (kept current
// while running) and trials.jsonl (one line per evaluation).
package study
