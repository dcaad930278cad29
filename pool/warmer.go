package pool

import (
	"context"

	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"
)

// WarmRequest asks a Warmer to start one specialist. Start does the whole
// start, including the pool's bookkeeping; it runs under the pool's own
// lifetime, not under the context of whoever asked first.
type WarmRequest struct {
	ID    string
	Start func() error
}

// Warmer runs specialist starts for the pool.
//
// Warm starts every request in batch and returns when each has finished or
// ctx has ended: errs[i] is batch[i]'s outcome (ctx.Err() for one given up
// on). A request for an ID whose start is already under way joins that start
// instead of beginning another. A start given up on by its caller goes on, so
// that others waiting for it still get it.
type Warmer interface {
	Warm(ctx context.Context, batch []WarmRequest) (errs []error)
}

// ConcurrentWarmer is the default Warmer: one start per specialist at a time
// (singleflight), at most a fixed number of starts at once (a weighted
// semaphore), and a batch's starts run side by side.
type ConcurrentWarmer struct {
	sem    *semaphore.Weighted
	flight singleflight.Group
}

// NewConcurrentWarmer returns a Warmer running at most concurrency starts at
// once (values below 1 mean 1).
func NewConcurrentWarmer(concurrency int) *ConcurrentWarmer {
	if concurrency < 1 {
		concurrency = 1
	}
	return &ConcurrentWarmer{sem: semaphore.NewWeighted(int64(concurrency))}
}

// Warm implements Warmer.
func (w *ConcurrentWarmer) Warm(ctx context.Context, batch []WarmRequest) []error {
	errs := make([]error, len(batch))
	chans := make([]<-chan singleflight.Result, len(batch))
	for i, r := range batch {
		r := r
		chans[i] = w.flight.DoChan(r.ID, func() (any, error) {
			// The slot is taken inside the shared call so joiners do not
			// each take one. The wait for it is not tied to the caller's ctx:
			// others may be waiting for this start.
			if err := w.sem.Acquire(context.Background(), 1); err != nil {
				return nil, err
			}
			defer w.sem.Release(1)
			return nil, r.Start()
		})
	}
	for i, ch := range chans {
		select {
		case res := <-ch:
			errs[i] = res.Err
		case <-ctx.Done():
			errs[i] = ctx.Err()
		}
	}
	return errs
}
