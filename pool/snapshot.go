package pool

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// A snapshot is what a pool has learned, written by Snapshot and read back
// by WithRestore so that a restart (every deploy) does not start cold.
//
// What the pool learns — the policy's experts and their misses, each
// specialist's gaps and use scores, the Predictor's sequence tables and
// mined workflows — is a function of the task stream. So a snapshot holds
// the stream itself, the last HistoryTasks tasks (specialist and time),
// and the warm set; a restored pool replays those tasks into its fresh
// policy and Predictor (a host Predictor too) before its first task, then
// starts the snapshot's warm specialists again in the background. Replaying
// instead of copying internal tables keeps the format independent of how
// the policy is built: a snapshot stays readable when the policy changes.
// What older tasks taught is lost; the policy lab measures the cost (see
// BENCHMARKS.md, "Warm restart").
//
// The file is an envelope around JSON: the 8 bytes "BUMBAPOL", the format
// version (uint32, big endian), the payload's length (uint64), the payload,
// and its SHA-256. A snapshot is refused, never half-applied, when it is
// truncated, altered, of another version, larger than its bound, or made
// for a different set of specialists.

// SnapshotVersion is the snapshot format this package writes and reads.
const SnapshotVersion = 1

// HistoryTasks is how many of the latest tasks a pool keeps for its
// snapshot (16 bytes each: 1 MiB).
const HistoryTasks = 1 << 16

// ErrSnapshot wraps every reason a snapshot is refused by WithRestore.
var ErrSnapshot = errors.New("pool snapshot refused")

var snapshotMagic = [8]byte{'B', 'U', 'M', 'B', 'A', 'P', 'O', 'L'}

// snapshotBound is the largest payload a pool of n specialists writes:
// a decimal index and a time offset per task, and each ID once.
func snapshotBound(n int) int64 { return 64<<10 + 48*HistoryTasks + 512*int64(n) }

// snapshotDoc is the payload (its version is the envelope's). Times are
// microseconds: an offset per task from StartUnixUs keeps the file small
// and whole.
type snapshotDoc struct {
	Specialists []string `json:"specialists"`
	Warm        []string `json:"warm"`
	StartUnixUs int64    `json:"startUnixUs"`
	Tasks       []int32  `json:"tasks"`     // index into Specialists
	OffsetsUs   []int64  `json:"offsetsUs"` // from StartUnixUs, one per task
}

// history is a ring of the latest tasks, under polMu.
type history struct {
	idx  []int32
	at   []int64
	head int // next write
	n    int
}

func (h *history) add(idx int32, at int64) {
	if h.idx == nil {
		h.idx = make([]int32, HistoryTasks)
		h.at = make([]int64, HistoryTasks)
	}
	h.idx[h.head], h.at[h.head] = idx, at
	h.head = (h.head + 1) % HistoryTasks
	h.n = min(h.n+1, HistoryTasks)
}

// each calls fn for the kept tasks, oldest first.
func (h *history) each(fn func(idx int32, at int64)) {
	for i := range h.n {
		j := (h.head - h.n + i + HistoryTasks) % HistoryTasks
		fn(h.idx[j], h.at[j])
	}
}

// Snapshot writes what the pool has learned to w (see SnapshotVersion for
// the format): the latest HistoryTasks tasks and the specialists warm now.
// It is safe to call while tasks run, and costs one copy of the history
// under the policy's lock; a host calls it at shutdown (before Close) or
// periodically.
func (p *Pool) Snapshot(w io.Writer) error {
	doc := snapshotDoc{Specialists: make([]string, len(p.list)), Warm: []string{}}
	for i, s := range p.list {
		doc.Specialists[i] = s.spec.ID
	}
	p.polMu.Lock()
	p.drainLocked()
	doc.Tasks = make([]int32, 0, p.hist.n)
	doc.OffsetsUs = make([]int64, 0, p.hist.n)
	first := true
	p.hist.each(func(idx int32, at int64) {
		us := at / 1e3
		if first {
			doc.StartUnixUs, first = us, false
		}
		doc.Tasks = append(doc.Tasks, idx)
		doc.OffsetsUs = append(doc.OffsetsUs, us-doc.StartUnixUs)
	})
	p.polMu.Unlock()
	for _, s := range p.list {
		s.mu.Lock()
		if st := s.state; st == StateWarm || st == StateActive || st == StateWarming {
			doc.Warm = append(doc.Warm, s.spec.ID)
		}
		s.mu.Unlock()
	}
	payload, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("pool: snapshot: %w", err)
	}
	var head [20]byte
	copy(head[:8], snapshotMagic[:])
	binary.BigEndian.PutUint32(head[8:12], SnapshotVersion)
	binary.BigEndian.PutUint64(head[12:20], uint64(len(payload)))
	sum := sha256.Sum256(payload)
	bw := bufio.NewWriter(w)
	bw.Write(head[:])
	bw.Write(payload)
	bw.Write(sum[:])
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("pool: snapshot: write: %w", err)
	}
	return nil
}

// WithRestore has New read a snapshot written by Snapshot from r and start
// from what it holds: its tasks are replayed into the policy and the
// Predictor before New returns, and its warm specialists (at most the warm
// cap) are started in the background. New fails with an error wrapping
// ErrSnapshot, naming the reason, when the snapshot is truncated, altered,
// of another version, over its size bound (1 MiB per 16 384 tasks plus
// 512 bytes per specialist), or made for other specialists. A nil r restores
// nothing.
func WithRestore(r io.Reader) Option {
	return optionFunc(func(cfg *config) { cfg.restore = r })
}

// readSnapshot reads and checks a snapshot for the pool's specialists.
func (p *Pool) readSnapshot(r io.Reader) (*snapshotDoc, error) {
	bound := snapshotBound(len(p.list))
	var head [20]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, fmt.Errorf("pool: snapshot: header: %w: %w", err, ErrSnapshot)
	}
	if !bytes.Equal(head[:8], snapshotMagic[:]) {
		return nil, fmt.Errorf("pool: snapshot: not a pool snapshot (magic %q): %w", head[:8], ErrSnapshot)
	}
	if v := binary.BigEndian.Uint32(head[8:12]); v != SnapshotVersion {
		return nil, fmt.Errorf("pool: snapshot: version %d: this build reads %d: %w", v, SnapshotVersion, ErrSnapshot)
	}
	n := binary.BigEndian.Uint64(head[12:20])
	if n > uint64(bound) {
		return nil, fmt.Errorf("pool: snapshot: payload of %d bytes: allowed at most %d for %d specialists: %w", n, bound, len(p.list), ErrSnapshot)
	}
	body := make([]byte, n+sha256.Size)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("pool: snapshot: truncated payload (want %d bytes): %w: %w", n, err, ErrSnapshot)
	}
	payload, sum := body[:n], body[n:]
	if got := sha256.Sum256(payload); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("pool: snapshot: checksum mismatch: %w", ErrSnapshot)
	}
	var extra [1]byte
	if k, _ := r.Read(extra[:]); k > 0 {
		return nil, fmt.Errorf("pool: snapshot: data after the checksum: %w", ErrSnapshot)
	}
	var doc snapshotDoc
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("pool: snapshot: payload: %w: %w", err, ErrSnapshot)
	}
	if err := p.sameSpecialists(doc.Specialists); err != nil {
		return nil, err
	}
	if len(doc.Tasks) != len(doc.OffsetsUs) || len(doc.Tasks) > HistoryTasks {
		return nil, fmt.Errorf("pool: snapshot: %d tasks and %d times: want equal counts, at most %d: %w",
			len(doc.Tasks), len(doc.OffsetsUs), HistoryTasks, ErrSnapshot)
	}
	prev := int64(0)
	for i, k := range doc.Tasks {
		if k < 0 || int(k) >= len(doc.Specialists) {
			return nil, fmt.Errorf("pool: snapshot: task %d names specialist %d of %d: %w", i, k, len(doc.Specialists), ErrSnapshot)
		}
		if doc.OffsetsUs[i] < prev {
			return nil, fmt.Errorf("pool: snapshot: task %d is earlier than the one before: %w", i, ErrSnapshot)
		}
		prev = doc.OffsetsUs[i]
	}
	for _, id := range doc.Warm {
		if p.byID[id] == nil {
			return nil, fmt.Errorf("pool: snapshot: warm specialist %q is unknown: %w", id, ErrSnapshot)
		}
	}
	return &doc, nil
}

// sameSpecialists refuses a snapshot made for other specialists, naming
// the first difference.
func (p *Pool) sameSpecialists(ids []string) error {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		switch {
		case seen[id]:
			return fmt.Errorf("pool: snapshot: specialist %q listed twice: %w", id, ErrSnapshot)
		case p.byID[id] == nil:
			return fmt.Errorf("pool: snapshot: made for specialist %q, which this pool does not have: %w", id, ErrSnapshot)
		}
		seen[id] = true
	}
	for _, s := range p.list {
		if !seen[s.spec.ID] {
			return fmt.Errorf("pool: snapshot: this pool's specialist %q is not in the snapshot: %w", s.spec.ID, ErrSnapshot)
		}
	}
	return nil
}

// replay feeds a checked snapshot's tasks to the policy and the Predictor,
// as if they had just run, before the pool's goroutine starts. Predictions
// are ignored: nothing is pre-warmed for the past.
func (p *Pool) replay(doc *snapshotDoc) {
	byIndex := make([]*specialist, len(doc.Specialists)) // the snapshot's order may not be the pool's
	for i, id := range doc.Specialists {
		byIndex[i] = p.byID[id]
	}
	for i, k := range doc.Tasks {
		s := byIndex[k]
		at := (doc.StartUnixUs + doc.OffsetsUs[i]) * 1e3
		p.model.Access(s.idx, at, s.weight)
		p.hist.add(s.idx, at)
		if p.fast != nil {
			p.seqBuf = p.fast.observeIndex(p.toSeq[s.idx], p.seqBuf[:0])
		} else {
			p.predBuf = p.callObserve(time.Unix(0, at), s, p.predBuf[:0])
		}
	}
}

// rewarm starts a restored snapshot's warm specialists, at most the warm
// cap, in the background.
func (p *Pool) rewarm(doc *snapshotDoc) {
	var batch []*specialist
	for _, id := range doc.Warm {
		if len(batch) == p.maxWarm {
			break
		}
		if s := p.byID[id]; s.pending.CompareAndSwap(false, true) {
			batch = append(batch, s)
		}
	}
	if len(batch) > 0 {
		p.startBatch(batch, false)
	}
}
