package monitor

import (
	"math"
	"slices"
	"time"
	"unsafe"
)

// Retention tiers. Every sample goes into each tier: the raw ring keeps the
// newest samples as they are, the coarser tiers keep aggregates (per
// metric: count, sum, min, max) of fixed-width time buckets. A tier whose
// width is not above the interval is skipped. The coarsest tier kept always
// covers the whole retention; the finer ones cover at most their span.
const (
	rawSpan    = 6 * time.Hour // newest samples kept at full resolution (720 at 30 s)
	rawMax     = 720           // … but never more than this many
	fineWidth  = 5 * time.Minute
	fineSpan   = 24 * time.Hour // 288 five-minute buckets
	coarseWide = time.Hour      // one-hour buckets over the whole retention
)

// ring is a bounded FIFO that grows up to max and then overwrites its
// oldest element.
type ring[T any] struct {
	buf     []T
	start   int // index of the oldest element once full
	n       int
	max     int
	wrapped bool // an element was overwritten
}

func newRing[T any](max int) ring[T] { return ring[T]{max: max} }

// push appends a zero element and returns it to be filled.
func (r *ring[T]) push() *T {
	var zero T
	if r.n < r.max {
		if r.n == len(r.buf) {
			nb := make([]T, min(r.max, max(16, 2*len(r.buf))))
			copy(nb, r.buf[:r.n])
			r.buf = nb
		}
		r.buf[r.n] = zero
		r.n++
		return &r.buf[r.n-1]
	}
	p := &r.buf[r.start]
	*p = zero
	r.start = (r.start + 1) % r.n
	r.wrapped = true
	return p
}

// at returns the i-th element, oldest first.
func (r *ring[T]) at(i int) *T { return &r.buf[(r.start+i)%len(r.buf)] }

func (r *ring[T]) last() *T {
	if r.n == 0 {
		return nil
	}
	return r.at(r.n - 1)
}

// bucket aggregates the samples whose time falls in [start, start+width).
type bucket struct {
	start int64 // unix ns, a multiple of the width
	t     int64 // time of the newest sample in it
	span  int64 // summed intervals
	n     uint32
	cnt   [numMetrics]uint32
	sum   [numMetrics]float64
	min   [numMetrics]float64
	max   [numMetrics]float64
}

func (b *bucket) add(s *Sample) {
	b.t = s.Time.UnixNano()
	b.span += int64(s.Interval)
	b.n++
	for id := range numMetrics {
		if !s.present(id) {
			continue
		}
		v := s.v[id]
		if b.cnt[id] == 0 {
			b.min[id], b.max[id] = v, v
		} else {
			b.min[id] = math.Min(b.min[id], v)
			b.max[id] = math.Max(b.max[id], v)
		}
		b.cnt[id]++
		b.sum[id] += v
	}
}

type tier struct {
	width   int64
	buckets ring[bucket]
}

// store is the bounded in-memory history. It is guarded by the monitor's
// mutex.
type store struct {
	retention int64
	raw       ring[Sample]
	tiers     []tier // finest first
}

func ceilDiv(a, b time.Duration) int { return int((a + b - 1) / b) }

func newStore(interval, retention time.Duration) *store {
	s := &store{retention: int64(retention)}
	s.raw = newRing[Sample](min(rawMax, ceilDiv(min(retention, rawSpan), interval)+1))
	widths := []struct{ w, span time.Duration }{{fineWidth, fineSpan}, {coarseWide, retention}}
	for i, t := range widths {
		if t.w <= interval {
			continue
		}
		span := min(t.span, retention)
		if i == len(widths)-1 {
			span = retention
		}
		s.tiers = append(s.tiers, tier{width: int64(t.w), buckets: newRing[bucket](ceilDiv(span, t.w) + 1)})
	}
	// The coarsest level (the raw ring when no tier is coarser than the
	// interval) must cover the whole retention.
	if len(s.tiers) == 0 {
		s.raw = newRing[Sample](ceilDiv(retention, interval) + 1)
	}
	return s
}

// add records a sample.
func (s *store) add(smp *Sample) {
	*s.raw.push() = *smp
	t := smp.Time.UnixNano()
	for i := range s.tiers {
		tr := &s.tiers[i]
		start := t - mod(t, tr.width)
		b := tr.buckets.last()
		if b == nil || b.start != start {
			b = tr.buckets.push()
			b.start = start
		}
		b.add(smp)
	}
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// boundBytes is the most memory the store's rings can hold, whatever the
// uptime: capacity × element size, per level.
func (s *store) boundBytes() int64 {
	n := int64(s.raw.max) * int64(unsafe.Sizeof(Sample{}))
	for _, t := range s.tiers {
		n += int64(t.buckets.max) * int64(unsafe.Sizeof(bucket{}))
	}
	return n
}

// heldBytes is the memory the rings hold now (their allocated buffers).
func (s *store) heldBytes() int64 {
	n := int64(cap(s.raw.buf)) * int64(unsafe.Sizeof(Sample{}))
	for _, t := range s.tiers {
		n += int64(cap(t.buckets.buf)) * int64(unsafe.Sizeof(bucket{}))
	}
	return n
}

// agg accumulates the entries of one level over a period.
type agg struct {
	span int64         // summed intervals of the entries
	res  time.Duration // resolution of the level used
	cnt  [numMetrics]uint64
	sum  [numMetrics]float64
	min  [numMetrics]float64
	max  [numMetrics]float64
	// first and last value (mean of an entry) and their times, for the
	// rate of change of gauges
	fv, lv [numMetrics]float64
	ft, lt [numMetrics]int64
	// points of one metric (keep >= 0) for its p95: value and weight
	keep   int
	points []wpoint
}

type wpoint struct {
	v float64
	w uint64
}

func (a *agg) addEntry(t int64, cnt uint32, id int, sum, lo, hi float64) {
	if a.cnt[id] == 0 {
		a.min[id], a.max[id] = lo, hi
		a.fv[id], a.ft[id] = sum/float64(cnt), t
	} else {
		a.min[id] = math.Min(a.min[id], lo)
		a.max[id] = math.Max(a.max[id], hi)
	}
	a.lv[id], a.lt[id] = sum/float64(cnt), t
	a.cnt[id] += uint64(cnt)
	a.sum[id] += sum
	if id == a.keep {
		a.points = append(a.points, wpoint{sum / float64(cnt), uint64(cnt)})
	}
}

func (a *agg) touch(span int64) { a.span += span }

// collect aggregates the entries whose time is in (from, to] from the
// finest level that reaches back to from (or the coarsest, which holds
// everything retained). keep is a metric whose points are kept for
// percentiles, or -1.
func (s *store) collect(from, to int64, interval time.Duration, keep int) *agg {
	a := &agg{keep: keep, res: interval}
	level := -1 // -1: raw
	if s.raw.n > 0 && s.raw.wrapped && s.raw.at(0).Time.UnixNano()-int64(s.raw.at(0).Interval) > from {
		level = len(s.tiers) - 1
		for i := range s.tiers {
			b := &s.tiers[i].buckets
			if b.n > 0 && (!b.wrapped || b.at(0).start <= from) {
				level = i
				break
			}
		}
	}
	if level < 0 {
		for i := range s.raw.n {
			smp := s.raw.at(i)
			t := smp.Time.UnixNano()
			if t <= from || t > to {
				continue
			}
			a.touch(int64(smp.Interval))
			for id := range numMetrics {
				if smp.present(id) {
					v := smp.v[id]
					a.addEntry(t, 1, id, v, v, v)
				}
			}
		}
		return a
	}
	tr := &s.tiers[level]
	a.res = time.Duration(tr.width)
	for i := range tr.buckets.n {
		b := tr.buckets.at(i)
		if b.t <= from || b.t > to {
			continue
		}
		a.touch(b.span)
		for id := range numMetrics {
			if b.cnt[id] > 0 {
				a.addEntry(b.t, b.cnt[id], id, b.sum[id], b.min[id], b.max[id])
			}
		}
	}
	return a
}

// value returns the aggregate value of metric id over the period: counts
// summed, gauges averaged over samples, rates as the ratio of their summed
// counts, differences as the difference of those.
func (a *agg) value(id int) (float64, bool) {
	d := &metricTable[id]
	switch d.kind {
	case kindRatio:
		return ratioOf(d, func(i int) (float64, bool) { return a.sum[i], a.cnt[i] > 0 })
	case kindDiff:
		x, ok1 := a.value(d.a)
		y, ok2 := a.value(d.b)
		return x - y, ok1 && ok2
	case kindCount:
		return a.sum[id], a.cnt[id] > 0
	}
	if a.cnt[id] == 0 {
		return 0, false
	}
	return a.sum[id] / float64(a.cnt[id]), true
}

// p95 is the weighted nearest-rank 95th percentile of the kept points.
func (a *agg) p95() float64 {
	if len(a.points) == 0 {
		return 0
	}
	pts := slices.Clone(a.points)
	slices.SortFunc(pts, func(x, y wpoint) int {
		switch {
		case x.v < y.v:
			return -1
		case x.v > y.v:
			return 1
		}
		return 0
	})
	var total uint64
	for _, p := range pts {
		total += p.w
	}
	rank := uint64(math.Ceil(0.95 * float64(total)))
	var seen uint64
	for _, p := range pts {
		seen += p.w
		if seen >= rank {
			return p.v
		}
	}
	return pts[len(pts)-1].v
}
