package stats

import (
	"fmt"
	"sync"
	"time"
)

// Counts are the successes and failures a Window holds.
type Counts struct {
	Successes uint64
	Failures  uint64
}

// Total returns Successes + Failures.
func (c Counts) Total() uint64 { return c.Successes + c.Failures }

// SuccessRate returns Successes / Total, and 1 when the window is empty (no
// evidence of failure).
func (c Counts) SuccessRate() float64 {
	t := c.Total()
	if t == 0 {
		return 1
	}
	return float64(c.Successes) / float64(t)
}

// Window counts successes and failures over a rolling span of time, in a
// ring of equal buckets (span/buckets wide). An event at time t counts while
// now is less than one span after the start of t's bucket, so the effective
// span is between span-span/buckets and span. Time comes from the caller;
// a time earlier than the newest one seen counts in the newest bucket.
// Window is safe for concurrent use; each call holds a short mutex and
// never allocates.
type Window struct {
	mu      sync.Mutex
	width   int64 // bucket width, ns
	started bool
	head    int64 // index of the newest bucket (time / width)
	ring    []Counts
	total   Counts
}

// NewWindow returns a Window over span, split in buckets buckets. span/
// buckets must be at least one nanosecond.
func NewWindow(span time.Duration, buckets int) (*Window, error) {
	if buckets < 1 {
		return nil, fmt.Errorf("stats: window buckets %d: must be at least 1", buckets)
	}
	if span <= 0 || int64(span)/int64(buckets) < 1 {
		return nil, fmt.Errorf("stats: window span %v: must be positive and at least one nanosecond per bucket", span)
	}
	return &Window{width: int64(span) / int64(buckets), ring: make([]Counts, buckets)}, nil
}

// Span returns the window's span (bucket width × buckets).
func (w *Window) Span() time.Duration { return time.Duration(w.width * int64(len(w.ring))) }

// floorDiv is a / b rounded toward minus infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// slot returns the ring position of bucket index i (any sign).
func (w *Window) slot(i int64) int {
	n := int64(len(w.ring))
	return int((i%n + n) % n)
}

// advance moves the head to now's bucket, expiring the buckets it passes.
// w.mu must be held.
func (w *Window) advance(now time.Time) {
	idx := floorDiv(now.UnixNano(), w.width)
	if !w.started {
		w.started, w.head = true, idx
		return
	}
	if idx <= w.head {
		return
	}
	n := int64(len(w.ring))
	from := w.head + 1
	if idx-w.head > n {
		from = idx - n + 1
	}
	for i := from; i <= idx; i++ {
		b := &w.ring[w.slot(i)]
		w.total.Successes -= b.Successes
		w.total.Failures -= b.Failures
		*b = Counts{}
	}
	w.head = idx
}

// Record counts one success (ok) or failure at now and returns the counts
// in the window after it.
func (w *Window) Record(now time.Time, ok bool) Counts {
	w.mu.Lock()
	w.advance(now)
	b := &w.ring[w.slot(w.head)]
	if ok {
		b.Successes++
		w.total.Successes++
	} else {
		b.Failures++
		w.total.Failures++
	}
	c := w.total
	w.mu.Unlock()
	return c
}

// Counts returns the counts in the window at now.
func (w *Window) Counts(now time.Time) Counts {
	w.mu.Lock()
	w.advance(now)
	c := w.total
	w.mu.Unlock()
	return c
}

// Reset forgets every event.
func (w *Window) Reset() {
	w.mu.Lock()
	clear(w.ring)
	w.total = Counts{}
	w.started = false
	w.mu.Unlock()
}
