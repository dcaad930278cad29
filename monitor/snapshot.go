package monitor

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// A snapshot is the monitor's history, written by Snapshot and read back
// by WithRestore so that a restart (every deploy) keeps the trend lines,
// the health window and the alert history: the stored samples (the raw
// ring and the aggregate tiers) and the resolved alerts. Alerts firing at
// the snapshot are not carried over: their rules fire again on the new
// process's samples if the condition still holds.
//
// The file is an envelope around JSON, of the same shape as the pool's:
// the 8 bytes "BUMBAMON", the format version (uint32, big endian), the
// payload's length (uint64, big endian), the payload, and its SHA-256. A
// snapshot is refused as a whole, never half-applied, with an error
// wrapping ErrSnapshot, when it is truncated, altered, of another version,
// larger than MaxSnapshotBytes, inconsistent, or taken after the new
// monitor's now.

// SnapshotVersion is the monitor snapshot format this package writes and
// reads.
const SnapshotVersion = 1

// MaxSnapshotBytes bounds a snapshot's payload: WithRestore refuses a
// larger one before reading it. A monitor at the longest retention writes
// well under it (about 20 MiB).
const MaxSnapshotBytes = 64 << 20

// ErrSnapshot wraps every reason a snapshot is refused by WithRestore.
var ErrSnapshot = errors.New("monitor snapshot refused")

var monSnapshotMagic = [8]byte{'B', 'U', 'M', 'B', 'A', 'M', 'O', 'N'}

const snapshotHeader = 8 + 4 + 8

// snapDoc is the payload. Times are Unix nanoseconds (exact round trip);
// durations are Go duration strings.
type snapDoc struct {
	Version     int        `json:"version"`
	TakenUnixNs int64      `json:"takenUnixNs"`
	SinceUnixNs int64      `json:"sinceUnixNs"` // the history's start (New, or an earlier restore)
	Interval    string     `json:"interval"`
	Retention   string     `json:"retention"`
	Metrics     []Metric   `json:"metrics"` // the order of every per-metric array
	Raw         snapRing   `json:"raw"`
	Tiers       []snapTier `json:"tiers"`
	Alerts      []Alert    `json:"alerts"` // resolved, oldest first
}

type snapRing struct {
	Wrapped bool      `json:"wrapped"`
	Samples []snapSmp `json:"samples"`
}

type snapSmp struct {
	TUnixNs  int64     `json:"tUnixNs"`
	Interval string    `json:"interval"`
	Has      uint64    `json:"has"` // bit i: Metrics[i] present
	V        []float64 `json:"v"`
}

type snapTier struct {
	Width   string       `json:"width"`
	Wrapped bool         `json:"wrapped"`
	Buckets []snapBucket `json:"buckets"`
}

type snapBucket struct {
	StartUnixNs int64     `json:"startUnixNs"`
	TUnixNs     int64     `json:"tUnixNs"`
	Span        string    `json:"span"`
	N           uint32    `json:"n"`
	Cnt         []uint32  `json:"cnt"`
	Sum         []float64 `json:"sum"`
	Min         []float64 `json:"min"`
	Max         []float64 `json:"max"`
}

// Snapshot writes the monitor's history to w (see SnapshotVersion for the
// format). It is safe to call while the monitor runs and holds the
// monitor's read lock while it copies; a host calls it at shutdown or
// periodically.
func (m *Monitor) Snapshot(w io.Writer) error {
	doc := snapDoc{Version: SnapshotVersion, Interval: m.cfg.interval.String(), Retention: m.cfg.retention.String(),
		Metrics: make([]Metric, numMetrics), Tiers: []snapTier{}, Alerts: []Alert{}}
	for id := range numMetrics {
		doc.Metrics[id] = metricTable[id].name
	}
	m.mu.RLock()
	doc.TakenUnixNs = m.clk.Now().UnixNano()
	doc.SinceUnixNs = m.since.UnixNano()
	s := m.store
	doc.Raw = snapRing{Wrapped: s.raw.wrapped, Samples: make([]snapSmp, 0, s.raw.n)}
	for i := range s.raw.n {
		smp := s.raw.at(i)
		doc.Raw.Samples = append(doc.Raw.Samples, snapSmp{TUnixNs: smp.Time.UnixNano(), Interval: smp.Interval.String(),
			Has: smp.has, V: append([]float64(nil), smp.v[:]...)})
	}
	for _, t := range s.tiers {
		st := snapTier{Width: time.Duration(t.width).String(), Wrapped: t.buckets.wrapped, Buckets: make([]snapBucket, 0, t.buckets.n)}
		for i := range t.buckets.n {
			b := t.buckets.at(i)
			st.Buckets = append(st.Buckets, snapBucket{StartUnixNs: b.start, TUnixNs: b.t, Span: time.Duration(b.span).String(), N: b.n,
				Cnt: append([]uint32(nil), b.cnt[:]...), Sum: append([]float64(nil), b.sum[:]...),
				Min: append([]float64(nil), b.min[:]...), Max: append([]float64(nil), b.max[:]...)})
		}
		doc.Tiers = append(doc.Tiers, st)
	}
	for i := range m.history.n {
		doc.Alerts = append(doc.Alerts, *m.history.at(i))
	}
	m.mu.RUnlock()

	payload, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("monitor: snapshot: %w", err)
	}
	if len(payload) > MaxSnapshotBytes {
		return fmt.Errorf("monitor: snapshot: %d bytes, more than MaxSnapshotBytes (%d)", len(payload), MaxSnapshotBytes)
	}
	var head [snapshotHeader]byte
	copy(head[:8], monSnapshotMagic[:])
	binary.BigEndian.PutUint32(head[8:12], SnapshotVersion)
	binary.BigEndian.PutUint64(head[12:20], uint64(len(payload)))
	sum := sha256.Sum256(payload)
	bw := bufio.NewWriter(w)
	_, _ = bw.Write(head[:])
	_, _ = bw.Write(payload)
	_, _ = bw.Write(sum[:])
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("monitor: snapshot: write: %w", err)
	}
	return nil
}

// WithRestore makes New load a snapshot written by Snapshot from r (read
// to its end) into the new monitor's store and alert history, before its
// first sample. The new monitor's own interval and retention bound what is
// kept: the newest samples and buckets that fit, the tiers whose width it
// also has, the newest alerts up to WithAlertHistory. A snapshot that
// cannot be used makes New fail with an error wrapping ErrSnapshot; a nil
// r one wrapping ErrInvalidConfig.
func WithRestore(r io.Reader) Option {
	return optionFunc(func(c *config) {
		if r == nil {
			c.fail(invalid("restore", "nil reader", "an io.Reader of a snapshot"))
			return
		}
		c.restore = r
	})
}

func snapErr(format string, args ...any) error {
	return fmt.Errorf("monitor: restore: %w: "+format, append([]any{ErrSnapshot}, args...)...)
}

// readSnapshot checks the envelope and returns the decoded document.
func readSnapshot(r io.Reader) (*snapDoc, error) {
	var head [snapshotHeader]byte
	if n, err := io.ReadFull(r, head[:]); err != nil {
		return nil, snapErr("truncated header (%d of %d bytes): %v", n, snapshotHeader, err)
	}
	if !bytes.Equal(head[:8], monSnapshotMagic[:]) {
		return nil, snapErr("not a monitor snapshot (starts %q, want %q)", head[:8], monSnapshotMagic[:])
	}
	if v := binary.BigEndian.Uint32(head[8:12]); v != SnapshotVersion {
		return nil, snapErr("format version %d, this monitor reads version %d", v, SnapshotVersion)
	}
	size := binary.BigEndian.Uint64(head[12:20])
	if size > MaxSnapshotBytes {
		return nil, snapErr("payload of %d bytes, more than MaxSnapshotBytes (%d)", size, MaxSnapshotBytes)
	}
	payload, err := io.ReadAll(io.LimitReader(r, int64(size)))
	if err != nil {
		return nil, snapErr("read: %v", err)
	}
	if uint64(len(payload)) != size {
		return nil, snapErr("truncated: payload of %d bytes, the header says %d", len(payload), size)
	}
	var sum [sha256.Size]byte
	if n, err := io.ReadFull(r, sum[:]); err != nil {
		return nil, snapErr("truncated checksum (%d of %d bytes)", n, sha256.Size)
	}
	if got := sha256.Sum256(payload); got != sum {
		return nil, snapErr("checksum mismatch: the snapshot was altered or damaged")
	}
	var extra [1]byte
	if n, _ := r.Read(extra[:]); n > 0 {
		return nil, snapErr("data after the checksum")
	}
	var doc snapDoc
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, snapErr("payload: %v", err)
	}
	if doc.Version != SnapshotVersion {
		return nil, snapErr("payload version %d, the header says %d", doc.Version, SnapshotVersion)
	}
	return &doc, nil
}

// restore applies the snapshot to a new monitor (not yet shared) and
// returns the restored history's start.
func (m *Monitor) restore(r io.Reader) (since time.Time, err error) {
	doc, err := readSnapshot(r)
	if err != nil {
		return time.Time{}, err
	}
	now := m.clk.Now().UnixNano()
	if doc.TakenUnixNs > now {
		return time.Time{}, snapErr("taken at %v, after this monitor's now %v", time.Unix(0, doc.TakenUnixNs).UTC(), time.Unix(0, now).UTC())
	}
	if doc.SinceUnixNs > doc.TakenUnixNs {
		return time.Time{}, snapErr("history start %d after the snapshot %d", doc.SinceUnixNs, doc.TakenUnixNs)
	}
	// Map the snapshot's metric order onto this version's ids.
	if len(doc.Metrics) > 64 {
		return time.Time{}, snapErr("%d metrics, at most 64", len(doc.Metrics))
	}
	ids := make([]int, len(doc.Metrics))
	seen := map[Metric]bool{}
	for i, name := range doc.Metrics {
		if seen[name] {
			return time.Time{}, snapErr("metric %q listed twice", name)
		}
		seen[name] = true
		ids[i] = metricID(name) // -1: a metric this version does not have, dropped
	}
	nm := len(doc.Metrics)
	raw := make([]Sample, 0, len(doc.Raw.Samples))
	var last int64 = math.MinInt64
	for i, ss := range doc.Raw.Samples {
		iv, err := time.ParseDuration(ss.Interval)
		if err != nil || iv <= 0 {
			return time.Time{}, snapErr("raw sample %d: interval %q", i, ss.Interval)
		}
		if len(ss.V) != nm || (nm < 64 && ss.Has>>nm != 0) {
			return time.Time{}, snapErr("raw sample %d: %d values and presence %#x for %d metrics", i, len(ss.V), ss.Has, nm)
		}
		if ss.TUnixNs < last || ss.TUnixNs > doc.TakenUnixNs {
			return time.Time{}, snapErr("raw sample %d: time %d out of order or after the snapshot", i, ss.TUnixNs)
		}
		last = ss.TUnixNs
		smp := Sample{Time: time.Unix(0, ss.TUnixNs), Interval: iv}
		for j, id := range ids {
			if id < 0 || ss.Has&(1<<j) == 0 {
				continue
			}
			if !finite(ss.V[j]) {
				return time.Time{}, snapErr("raw sample %d: %s is %v", i, doc.Metrics[j], ss.V[j])
			}
			smp.set(id, ss.V[j])
		}
		raw = append(raw, smp)
	}
	tiers := make(map[int64][]bucket, len(doc.Tiers))
	wrapped := map[int64]bool{}
	for ti, st := range doc.Tiers {
		w, err := time.ParseDuration(st.Width)
		if err != nil || w <= 0 {
			return time.Time{}, snapErr("tier %d: width %q", ti, st.Width)
		}
		if _, dup := tiers[int64(w)]; dup {
			return time.Time{}, snapErr("tier %d: width %v twice", ti, w)
		}
		bs := make([]bucket, 0, len(st.Buckets))
		var prev int64 = math.MinInt64
		for bi, sb := range st.Buckets {
			span, err := time.ParseDuration(sb.Span)
			if err != nil || span < 0 {
				return time.Time{}, snapErr("tier %v bucket %d: span %q", w, bi, sb.Span)
			}
			if len(sb.Cnt) != nm || len(sb.Sum) != nm || len(sb.Min) != nm || len(sb.Max) != nm {
				return time.Time{}, snapErr("tier %v bucket %d: arrays of %d/%d/%d/%d values for %d metrics", w, bi, len(sb.Cnt), len(sb.Sum), len(sb.Min), len(sb.Max), nm)
			}
			if mod(sb.StartUnixNs, int64(w)) != 0 || sb.StartUnixNs <= prev || sb.TUnixNs < sb.StartUnixNs || sb.TUnixNs > doc.TakenUnixNs {
				return time.Time{}, snapErr("tier %v bucket %d: start %d / time %d out of order or not on the width", w, bi, sb.StartUnixNs, sb.TUnixNs)
			}
			prev = sb.StartUnixNs
			b := bucket{start: sb.StartUnixNs, t: sb.TUnixNs, span: int64(span), n: sb.N}
			for j, id := range ids {
				if id < 0 || sb.Cnt[j] == 0 {
					continue
				}
				if sb.Cnt[j] > sb.N || !finite(sb.Sum[j]) || !finite(sb.Min[j]) || !finite(sb.Max[j]) || sb.Min[j] > sb.Max[j] {
					return time.Time{}, snapErr("tier %v bucket %d: %s aggregates inconsistent", w, bi, doc.Metrics[j])
				}
				b.cnt[id], b.sum[id], b.min[id], b.max[id] = sb.Cnt[j], sb.Sum[j], sb.Min[j], sb.Max[j]
			}
			bs = append(bs, b)
		}
		tiers[int64(w)], wrapped[int64(w)] = bs, st.Wrapped
	}
	for i, a := range doc.Alerts {
		if a.State != StateResolved || a.Rule == "" {
			return time.Time{}, snapErr("alert %d: state %q of rule %q, want a resolved alert", i, a.State, a.Rule)
		}
	}

	// Everything checked: apply.
	s := m.store
	for i := range raw {
		*s.raw.push() = raw[i]
	}
	s.raw.wrapped = s.raw.wrapped || doc.Raw.Wrapped
	dropped := 0
	for w, bs := range tiers {
		found := false
		for i := range s.tiers {
			if s.tiers[i].width != w {
				continue
			}
			found = true
			for j := range bs {
				*s.tiers[i].buckets.push() = bs[j]
			}
			s.tiers[i].buckets.wrapped = s.tiers[i].buckets.wrapped || wrapped[w]
		}
		if !found {
			dropped++
		}
	}
	for _, a := range doc.Alerts {
		*m.history.push() = a
	}
	m.log.Info("monitor: restored a snapshot", "taken", time.Unix(0, doc.TakenUnixNs).UTC(),
		"samples", len(raw), "tiers", len(tiers)-dropped, "tiers_dropped", dropped, "alerts", len(doc.Alerts))
	return time.Unix(0, min(doc.SinceUnixNs, now)), nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
