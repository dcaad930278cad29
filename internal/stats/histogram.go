package stats

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// Histogram layout. Values below 2*subCount are counted exactly; above that,
// every power-of-two range [2^k, 2^(k+1)) is split into subCount equal
// buckets, so a bucket's width is at most 1/subCount (3.125 %) of the values
// it holds. The whole non-negative int64 range fits in NumBuckets buckets.
const (
	subBits  = 5
	subCount = 1 << subBits
	// NumBuckets is the number of buckets of a Histogram.
	NumBuckets = (64 - subBits + 1) * subCount
	// RelativeError is the largest relative error of a reported quantile:
	// a quantile lies in a bucket at most this fraction of its value wide.
	RelativeError = 1.0 / subCount
)

// bucketIndex returns the bucket counting v (v >= 0).
func bucketIndex(v uint64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1
	return (e+1)<<subBits + int(v>>uint(e)) - subCount
}

// bucketBounds returns the smallest and largest value bucket i counts.
func bucketBounds(i int) (lo, hi uint64) {
	if i < subCount {
		return uint64(i), uint64(i)
	}
	e := uint(i>>subBits - 1)
	m := uint64(i&(subCount-1) + subCount)
	lo = m << e
	return lo, lo + (1 << e) - 1
}

// Histogram counts non-negative int64 values (typically nanoseconds) in
// fixed log-linear buckets. Record is lock-free and never allocates. The zero
// value is ready to use. A Histogram must not be copied after first use.
type Histogram struct {
	count   atomic.Uint64
	sum     atomic.Uint64
	max     atomic.Int64
	buckets [NumBuckets]atomic.Uint64
}

// Record counts v. Negative values count as 0.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.buckets[bucketIndex(uint64(v))].Add(1)
	h.count.Add(1)
	h.sum.Add(uint64(v))
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count returns how many values were recorded.
func (h *Histogram) Count() uint64 { return h.count.Load() }

// Snapshot returns a copy of the histogram's current counts. Under
// concurrent Record calls the copy may miss values recorded meanwhile; its
// Count is the sum of its buckets, so it is always self-consistent.
func (h *Histogram) Snapshot() Snapshot {
	s := Snapshot{buckets: make([]uint64, NumBuckets)}
	for i := range h.buckets {
		n := h.buckets[i].Load()
		s.buckets[i] = n
		s.Count += n
	}
	s.Sum = h.sum.Load()
	s.Max = h.max.Load()
	return s
}

// Snapshot is a point-in-time copy of a Histogram. The zero value is an
// empty snapshot.
type Snapshot struct {
	// Count is the number of values in the snapshot.
	Count uint64
	// Sum is the sum of the values (it may include values recorded while
	// the snapshot was taken).
	Sum uint64
	// Max is the largest value recorded.
	Max     int64
	buckets []uint64
}

// Merge adds o's counts to s.
func (s *Snapshot) Merge(o Snapshot) {
	if o.Count == 0 {
		return
	}
	if s.buckets == nil {
		s.buckets = make([]uint64, NumBuckets)
	}
	for i, n := range o.buckets {
		s.buckets[i] += n
	}
	s.Count += o.Count
	s.Sum += o.Sum
	if o.Max > s.Max {
		s.Max = o.Max
	}
}

// Mean returns the arithmetic mean of the values, 0 when empty.
func (s Snapshot) Mean() float64 {
	if s.Count == 0 {
		return 0
	}
	return float64(s.Sum) / float64(s.Count)
}

// Quantile returns the q-quantile (q in [0, 1]; 0.99 is p99) of the values:
// the upper bound of the bucket holding the value of rank ceil(q*Count),
// never above Max. The true value is at most RelativeError below it. An
// empty snapshot returns 0; q outside [0, 1] is clamped, NaN counts as 0.
func (s Snapshot) Quantile(q float64) int64 {
	if s.Count == 0 {
		return 0
	}
	if !(q > 0) {
		q = 0
	} else if q > 1 {
		q = 1
	}
	rank := uint64(math.Ceil(q * float64(s.Count)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, n := range s.buckets {
		seen += n
		if seen >= rank {
			_, hi := bucketBounds(i)
			if hi > uint64(s.Max) {
				return s.Max
			}
			return int64(hi)
		}
	}
	return s.Max
}
