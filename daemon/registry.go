package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/study"
)

// registryBucket is the JetStream key-value bucket of a serving daemon's
// studies, next to the journal: one key per study.
const registryBucket = "ZOTUNE_STUDIES"

// registryVersion is the version of an entry's encoding.
const registryVersion = 1

// entry is what the registry keeps of a study: enough to run it again
// after a restart of the daemon. A study from the config file is defined
// there (Spec is the config's at the time); one submitted over the API by
// Spec alone.
type entry struct {
	V       int        `json:"v"`
	Name    string     `json:"name"`
	Origin  string     `json:"origin"` // api.OriginConfig or api.OriginAPI
	State   string     `json:"state"`  // api.StateActive or api.StateStopped
	Created time.Time  `json:"created"`
	Spec    study.Spec `json:"spec"`
	// Owner is the daemon whose config file defines the study (Origin
	// config); "" for a study submitted over the API, or recorded before
	// daemons had ids.
	Owner string `json:"owner,omitempty"`
	// Driver is the daemon that drove the study last: its data_dir holds
	// the study's outputs.
	Driver string `json:"driver,omitempty"`
	// Ended is the status a study finished with (converged, target,
	// budget or failed for good), set by its driver; no daemon takes it up
	// again. "": it has not finished.
	Ended string `json:"ended,omitempty"`
}

// registry is the studies of a serving daemon, kept in a key-value bucket
// so that a restarted daemon runs again every study that was active.
type registry struct {
	kv jetstream.KeyValue
}

// openRegistry opens (creating it if need be) the registry bucket.
func openRegistry(ctx context.Context, js jetstream.JetStream, replicas int) (*registry, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      registryBucket,
		Description: "zotune: the studies a tunerd serves",
		History:     1,
		Replicas:    max(replicas, 1),
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("daemon: study registry: %w", journal.ReplicasError(err, replicas))
	}
	return &registry{kv: kv}, nil
}

// put stores e, and returns the revision of its entry.
func (r *registry) put(ctx context.Context, e *entry) (uint64, error) {
	e.V = registryVersion
	data, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	rev, err := r.kv.Put(ctx, e.Name, data)
	if err != nil {
		return 0, fmt.Errorf("daemon: recording study %s: %w", e.Name, err)
	}
	return rev, nil
}

// errBusyEntry is returned by update when the entry kept changing under it.
var errBusyEntry = errors.New("the entry kept changing")

// update applies change to the entry of name, with optimistic
// concurrency: when another daemon changed it meanwhile, change is applied
// again to what it wrote. An entry deleted meanwhile stays deleted.
func (r *registry) update(ctx context.Context, name string, change func(*entry)) error {
	for range 10 {
		kve, err := r.kv.Get(ctx, name)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("daemon: updating study %s: %w", name, err)
		}
		var e entry
		if err := json.Unmarshal(kve.Value(), &e); err != nil {
			return fmt.Errorf("daemon: updating study %s: its entry cannot be read: %w", name, err)
		}
		change(&e)
		data, err := json.Marshal(&e)
		if err != nil {
			return err
		}
		_, err = r.kv.Update(ctx, name, data, kve.Revision())
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
			continue
		}
		if err != nil {
			return fmt.Errorf("daemon: updating study %s: %w", name, err)
		}
		return nil
	}
	return fmt.Errorf("daemon: updating study %s: %w", name, errBusyEntry)
}

// decode reads an entry of the bucket: nil and why when it cannot be run.
func decodeEntry(key string, data []byte) (*entry, error) {
	var e entry
	if err := json.Unmarshal(data, &e); err != nil || e.V != registryVersion || e.Name != key {
		return nil, fmt.Errorf("study registry entry %q cannot be read (version %d): %v", key, e.V, err)
	}
	if ps := e.Spec.Problems(); len(ps) > 0 {
		return nil, fmt.Errorf("study registry entry %q: %w", key, ps.Err())
	}
	return &e, nil
}

// remove deletes the entry of study name.
func (r *registry) remove(ctx context.Context, name string) error {
	if err := r.kv.Purge(ctx, name); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("daemon: removing study %s: %w", name, err)
	}
	return nil
}

// load returns every entry, oldest first. An entry that cannot be read is
// reported in bad (with its key) and left in the bucket for an operator to
// look at: a daemon does not drop what it cannot read.
func (r *registry) load(ctx context.Context) (entries []*entry, bad []error, err error) {
	lister, err := r.kv.ListKeys(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("daemon: study registry: %w", err)
	}
	for key := range lister.Keys() {
		kve, err := r.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, nil, fmt.Errorf("daemon: study registry: %s: %w", key, err)
		}
		e, err := decodeEntry(key, kve.Value())
		if err != nil {
			bad = append(bad, err)
			continue
		}
		entries = append(entries, e)
	}
	sortEntries(entries)
	return entries, bad, nil
}
