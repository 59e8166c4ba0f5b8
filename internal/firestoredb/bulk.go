package firestoredb

import (
	"context"
	"errors"

	"cloud.google.com/go/firestore"
)

// bulk is a BulkWriter that keeps its jobs, for the writes of export,
// import, erase and the migrations: no hot path, many documents, no
// transaction. A document may be written once per bulk.
type bulk struct {
	bw   *firestore.BulkWriter
	jobs []*firestore.BulkWriterJob
}

func (b *bulk) set(ref *firestore.DocumentRef, data any, opts ...firestore.SetOption) error {
	j, err := b.bw.Set(ref, data, opts...)
	if err != nil {
		return err
	}
	b.jobs = append(b.jobs, j)
	return nil
}

func (b *bulk) delete(ref *firestore.DocumentRef) error {
	j, err := b.bw.Delete(ref)
	if err != nil {
		return err
	}
	b.jobs = append(b.jobs, j)
	return nil
}

// runBulk gives fill a bulk, sends what it queued (also when fill failed)
// and waits for every write: fill's error first, else the writes that
// failed, joined. The writes that committed are counted in Stats.
func (s *Store) runBulk(ctx context.Context, fill func(b *bulk) error) error {
	b := &bulk{bw: s.client.BulkWriter(ctx)}
	err := fill(b)
	b.bw.End()
	var errs []error
	for _, j := range b.jobs {
		if _, err := j.Results(); err != nil {
			errs = append(errs, err)
		} else {
			s.writes.Add(1)
		}
	}
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}
