package journal_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/wire"
)

// BenchmarkJournal is what the journal costs per evaluation, for results
// of 64-parameter tasks against an embedded server's file store: stored
// one at a time, each waiting for its acknowledgement ("store", how
// direct dispatch journaled before), and appended as they arrive with one
// wait per batch of 64 ("append+sync", how it journals now). It reports
// µs/record (wall, this process and the server in it).
//
//	go test -run '^$' -bench Journal -benchtime 5000x ./journal
func BenchmarkJournal(b *testing.B) {
	names := make([]string, 64)
	params := wire.Params{}
	for i := range names {
		names[i] = fmt.Sprintf("x%d", i+1)
		params[names[i]] = 0.001 * float64(i)
	}
	for _, mode := range []string{"store", "append+sync"} {
		b.Run(mode, func(b *testing.B) {
			_, _, js := testutil.JetStream(b)
			ctx := context.Background()
			j, err := journal.Open(ctx, js, "s", "fp", journal.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				trial := wire.TrialID(i)
				t := &wire.Task{V: wire.Version, ID: "s/" + trial, Study: "s", Trial: trial, Objective: "o", Seed: 1,
					Params: params, Names: names, Epoch: j.Epoch()}
				r := &wire.Reply{V: wire.Version, ID: t.ID, Value: 1, Evaluator: "e", Started: time.Unix(0, 0).UTC()}
				if mode == "store" {
					err = journal.Store(ctx, js, t, r)
				} else if err = j.Append(ctx, t, r); err == nil && (i%64 == 63 || i == b.N-1) {
					err = j.Sync(ctx)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/record")
		})
	}
}
