package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/zotune/zotune/study"
)

// printSummaries writes one line per study that ran: its status, the
// evaluations it spent of its budget (how many succeeded and failed), its
// final and best values, and where its outputs are:
//
//	quartic: converged, 57 evaluations spent of 60 (34 succeeded, 23 failed), final value -0.25, best -0.25 → runs/quartic
func printSummaries(w io.Writer, sums []*study.Summary, dataDir string) {
	for _, s := range sums {
		if s == nil {
			continue
		}
		line := fmt.Sprintf("%s: %s, %s", s.Study, s.Status, s.Counts())
		if s.Final != nil {
			line += fmt.Sprintf(", final value %.6g", s.Final.Value)
		}
		if s.Best != nil {
			line += fmt.Sprintf(", best %.6g", s.Best.Value)
		}
		fmt.Fprintf(w, "%s → %s\n", line, filepath.Join(dataDir, s.Study))
	}
}
