package monitor

import (
	"fmt"
	"time"

	"github.com/bumba/pooling/internal/jsonx"
)

// Summary summarises one metric over a period.
type Summary struct {
	Metric Metric    `json:"metric"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Resolution is the spacing of the data used: the interval for the
	// newest hours, 5 minutes or 1 hour further back (see the package
	// documentation); a coarse bucket counts whole if its newest sample
	// falls in the period.
	Resolution time.Duration `json:"resolutionMs"`
	// Count is the number of samples that had the metric.
	Count uint64 `json:"count"`
	// Sum adds the samples' values (for counts: the events in the period).
	Sum float64 `json:"sum"`
	// Avg is the period's value: for counts and gauges the mean per
	// sample; for rates the ratio of the period's summed counts (errors /
	// calls over the hour, not a mean of 30-second ratios); for
	// differences the difference of those.
	Avg float64 `json:"avg"`
	// Min, Max and P95 are over the samples' values (P95 by nearest rank;
	// over 5-minute or 1-hour buckets, over the buckets' means weighted by
	// their sample counts).
	Min float64 `json:"min"`
	Max float64 `json:"max"`
	P95 float64 `json:"p95"`
	// Rate is per second: for counts, Sum over the time the samples cover;
	// for other metrics, the change from the first to the last value over
	// the time between them.
	Rate float64 `json:"rate"`
}

// MarshalJSON writes the Summary in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (s Summary) MarshalJSON() ([]byte, error) { return jsonx.Marshal(s) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier form).
func (s *Summary) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, s) }

// Query summarises a metric over the samples taken in (from, to], within
// the retention. An unknown metric gets ErrUnknownMetric; from after to,
// ErrInvalidConfig.
func (m *Monitor) Query(metric Metric, from, to time.Time) (Summary, error) {
	id := metricID(metric)
	if id < 0 {
		return Summary{}, fmt.Errorf("monitor: query %q: %w", metric, ErrUnknownMetric)
	}
	if from.After(to) {
		return Summary{}, fmt.Errorf("monitor: query %s: from %v after to %v: %w", metric, from, to, ErrInvalidConfig)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	from = m.clampFrom(from)
	a := m.store.collect(m.lowerBound(from), to.UnixNano(), m.cfg.interval, id)
	s := Summary{Metric: metric, From: from, To: to, Resolution: a.res, Count: a.cnt[id], Sum: a.sum[id]}
	if a.cnt[id] == 0 {
		return s, nil
	}
	s.Min, s.Max, s.P95 = a.min[id], a.max[id], a.p95()
	s.Avg, _ = a.value(id)
	switch metricTable[id].kind {
	case kindCount:
		if a.span > 0 {
			s.Rate = s.Sum / time.Duration(a.span).Seconds()
		}
	default:
		if dt := a.lt[id] - a.ft[id]; dt > 0 {
			s.Rate = (a.lv[id] - a.fv[id]) / time.Duration(dt).Seconds()
		}
	}
	return s, nil
}

// clampFrom keeps a period inside the retention and after New. m.mu held.
func (m *Monitor) clampFrom(from time.Time) time.Time {
	if oldest := m.clk.Now().Add(-m.cfg.retention); from.Before(oldest) {
		from = oldest
	}
	if from.Before(m.since) {
		from = m.since
	}
	return from
}

// lowerBound is the exclusive lower bound, in unix ns, of the samples in a
// period from from: a sample taken at New's very instant still counts.
func (m *Monitor) lowerBound(from time.Time) int64 {
	if !from.After(m.since) {
		return m.since.UnixNano() - 1
	}
	return from.UnixNano()
}
