package journal

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/wire"
)

// Arrival is a result the watch saw stored: its record, or why it could
// not be read (an error wrapping ErrBadRecord).
type Arrival struct {
	Trial  string
	Record *Record
	Err    error
}

// Watch is a feed of the study's results as evaluators store them.
type Watch struct {
	cc jetstream.ConsumeContext
}

// Watch calls deliver, one at a time, with every result of the study
// stored since the journal was opened, until Stop. Results stored before
// Open are the journal's Stored trials; together the two miss none, also
// across a reconnect or a server restart (the watch resumes where it
// was).
func (j *Journal) Watch(ctx context.Context, deliver func(Arrival)) (*Watch, error) {
	cons, err := j.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{wire.ResultSubject(j.study, "*")},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    j.watchFrom,
	})
	if err != nil {
		return nil, fmt.Errorf("journal: watching results of %s: %w", j.study, err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		subj := m.Subject()
		a := Arrival{Trial: subj[strings.LastIndexByte(subj, '.')+1:]}
		a.Record, a.Err = DecodeRecord(m.Data())
		if a.Err != nil {
			a.Err = fmt.Errorf("journal: result %s: %w", subj, a.Err)
		}
		deliver(a)
	})
	if err != nil {
		return nil, fmt.Errorf("journal: watching results of %s: %w", j.study, err)
	}
	return &Watch{cc: cc}, nil
}

// Stop ends the feed.
func (w *Watch) Stop() { w.cc.Stop() }
