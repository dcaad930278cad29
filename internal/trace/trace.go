package trace

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bumba/pooling/pool"
)

// ErrMalformed is wrapped by every error a reader returns for input that
// does not follow its format or exceeds a limit of Options. The message
// names the input, the line (1 is the first line of the file), the column
// where there is one, and the reason.
var ErrMalformed = errors.New("malformed trace")

// Request is one task of a trace, as Trace.Request assembles it.
type Request struct {
	// At is the offset from the trace start; non-decreasing in a Trace.
	At time.Duration
	// Key is the specialist: an Azure function, a cache key, a BUMBA
	// specialist ID.
	Key string
	// Group is the key's department (see the package comment per format).
	Group string
	// Memory is the number of bytes the specialist holds while warm.
	Memory int64
	// ColdStart is the cost of starting the specialist.
	ColdStart time.Duration
	// Duration is the execution time, 0 when the trace has none.
	Duration time.Duration
	// Priority is PriorityUnset unless the source has one.
	Priority pool.Priority
}

// Specialist is one distinct key of a trace and what it costs.
type Specialist struct {
	ID        string
	Group     string
	Memory    int64
	ColdStart time.Duration
	// Duration is the task time of each of its requests unless the trace
	// has Durations per request.
	Duration time.Duration
	// Priority is the specialist's own priority (PriorityUnset: none).
	Priority pool.Priority
}

// Trace is a time-ordered sequence of requests, held by column: 12 bytes
// a request (its time and its specialist's index), plus 8 when durations
// differ per request and 1 when priorities do. Specialists are numbered in
// the order of their first request, and every one has at least one.
type Trace struct {
	// Name is the format or embedded trace name, e.g. "azure2019".
	Name string
	// Source is the provenance and licence line.
	Source string
	// Specialists are the distinct keys; Key[i] indexes them.
	Specialists []Specialist
	// At is each request's time, non-decreasing.
	At []time.Duration
	// Key is each request's specialist (an index into Specialists).
	Key []int32
	// Durations, when not nil, is each request's task time; otherwise
	// each request takes its specialist's Duration.
	Durations []time.Duration
	// Priorities, when not nil, is each request's priority; otherwise its
	// specialist's.
	Priorities []pool.Priority
}

// Len is the number of requests.
func (t *Trace) Len() int { return len(t.At) }

// Keys is the number of distinct keys.
func (t *Trace) Keys() int { return len(t.Specialists) }

// Request assembles request i.
func (t *Trace) Request(i int) Request {
	s := &t.Specialists[t.Key[i]]
	r := Request{At: t.At[i], Key: s.ID, Group: s.Group, Memory: s.Memory, ColdStart: s.ColdStart, Duration: s.Duration, Priority: s.Priority}
	if t.Durations != nil {
		r.Duration = t.Durations[i]
	}
	if t.Priorities != nil {
		r.Priority = t.Priorities[i]
	}
	return r
}

// DurationOf is request i's task time.
func (t *Trace) DurationOf(i int) time.Duration {
	if t.Durations != nil {
		return t.Durations[i]
	}
	return t.Specialists[t.Key[i]].Duration
}

// All yields every request in order.
func (t *Trace) All() iter.Seq2[int, Request] {
	return func(yield func(int, Request) bool) {
		for i := range t.At {
			if !yield(i, t.Request(i)) {
				return
			}
		}
	}
}

// Options tune the readers. Zero values mean the defaults given.
type Options struct {
	// Seed places invocations inside their minute (Azure 2019 and the
	// synthetic trace) and seeds the BUMBA workload.
	Seed uint64
	// ColdStart is every specialist's start when the trace has none; 0
	// means 1 s (the BUMBA catalogue's 1000 ms).
	ColdStart time.Duration
	// Memory is every specialist's warm memory when the trace has none;
	// 0 means 5 MiB (the BUMBA catalogue's).
	Memory int64
	// Spacing is the time between two accesses of a trace without
	// timestamps (keys, arc); 0 means 1 s.
	Spacing time.Duration
	// MaxRequests bounds the requests a trace may hold; 0 means
	// DefaultMaxRequests. A larger input is refused, naming the line.
	MaxRequests int
	// MaxPerMinute bounds one Azure 2019 count (one function, one
	// minute); 0 means DefaultMaxPerMinute.
	MaxPerMinute int
}

// Limits of Options.
const (
	// DefaultMaxRequests (2^27, 134 M) is about 1.6 GB of Trace and as
	// much again in a replay.
	DefaultMaxRequests = 1 << 27
	// DefaultMaxPerMinute (2^20) is 17 476 invocations a second of one
	// function, for a whole minute.
	DefaultMaxPerMinute = 1 << 20
	// maxLine bounds a line of a line-oriented trace (keys, arc, csv).
	maxLine = 1 << 16
	// maxRecord bounds a record of the Azure CSV files (a day of minute
	// counts is about 3–10 KB).
	maxRecord = 1 << 20
	// defaultColdStart and defaultMemory are the BUMBA catalogue's.
	defaultColdStart       = time.Second
	defaultMemory    int64 = 5 << 20
)

// resolved is Options with the defaults applied and checked.
type resolved struct {
	Options
}

func (o Options) resolve() (resolved, error) {
	switch {
	case o.ColdStart < 0:
		return resolved{}, fmt.Errorf("trace: cold start %v: want a duration >= 0 (0 means %v)", o.ColdStart, defaultColdStart)
	case o.Memory < 0:
		return resolved{}, fmt.Errorf("trace: memory %d: want a size >= 0 bytes (0 means %d)", o.Memory, defaultMemory)
	case o.Spacing < 0:
		return resolved{}, fmt.Errorf("trace: spacing %v: want a duration >= 0 (0 means 1s)", o.Spacing)
	case o.MaxRequests < 0:
		return resolved{}, fmt.Errorf("trace: max requests %d: want >= 0 (0 means %d)", o.MaxRequests, DefaultMaxRequests)
	case o.MaxPerMinute < 0:
		return resolved{}, fmt.Errorf("trace: max per minute %d: want >= 0 (0 means %d)", o.MaxPerMinute, DefaultMaxPerMinute)
	}
	if o.ColdStart == 0 {
		o.ColdStart = defaultColdStart
	}
	if o.Memory == 0 {
		o.Memory = defaultMemory
	}
	if o.Spacing == 0 {
		o.Spacing = time.Second
	}
	if o.MaxRequests == 0 {
		o.MaxRequests = DefaultMaxRequests
	}
	if o.MaxPerMinute == 0 {
		o.MaxPerMinute = DefaultMaxPerMinute
	}
	return resolved{o}, nil
}

// The Source lines of traces read from arbitrary readers (Open and
// Embedded add where the data came from).
const (
	sourceAzure2019 = `Azure Functions 2019 per-minute invocation counts (format of Azure Public Dataset "AzureFunctionsDataset2019", Shahrad et al., "Serverless in the Wild", USENIX ATC 2020, CC-BY 4.0)`
	sourceAzure2021 = `Azure Functions 2021 invocations (format of Azure Public Dataset AzureFunctionsInvocationTraceForTwoWeeksJan2021, Zhang et al., SOSP 2021, CC-BY 4.0)`
	sourceKeys      = `key access trace, one decimal key per line, no timestamps`
	sourceARC       = `block trace in the ARC format (Megiddo & Modha, FAST 2003): "start count ignored request" per line, one access per block, no timestamps`
	sourceCSV       = `timestamped key trace: CSV of timestamp (seconds) and key`
)

// malformed returns an error wrapping ErrMalformed for line of input.
func malformed(input string, line int, format string, args ...any) error {
	return fmt.Errorf("trace: %s: line %d: %s: %w", input, line, fmt.Sprintf(format, args...), ErrMalformed)
}

// builder collects the requests of a reader, bounded by limit.
type builder struct {
	t      *Trace
	index  map[string]int32
	limit  int
	input  string
	groups interner
}

func newBuilder(name, source, input string, limit int) *builder {
	return &builder{t: &Trace{Name: name, Source: source}, index: map[string]int32{}, limit: limit, input: input, groups: interner{}}
}

// specialist returns id's index, adding it with these costs if new.
func (b *builder) specialist(id, group string, memory int64, coldStart time.Duration) int32 {
	if k, ok := b.index[id]; ok {
		return k
	}
	id = strings.Clone(id)
	group = b.groups.get(group)
	k := int32(len(b.t.Specialists))
	b.index[id] = k
	b.t.Specialists = append(b.t.Specialists, Specialist{ID: id, Group: group, Memory: memory, ColdStart: coldStart})
	return k
}

// add appends one request, read at line.
func (b *builder) add(line int, at time.Duration, k int32) error {
	if len(b.t.At) >= b.limit {
		return malformed(b.input, line, "more than %d requests (the reader's MaxRequests)", b.limit)
	}
	b.t.At = append(b.t.At, at)
	b.t.Key = append(b.t.Key, k)
	return nil
}

// finish renumbers the specialists in the order of their first request
// (dropping those without one) and returns the trace.
func finish(t *Trace) *Trace {
	newIdx := make([]int32, len(t.Specialists))
	for i := range newIdx {
		newIdx[i] = -1
	}
	order := make([]Specialist, 0, len(t.Specialists))
	for i, k := range t.Key {
		n := newIdx[k]
		if n < 0 {
			n = int32(len(order))
			newIdx[k] = n
			order = append(order, t.Specialists[k])
		}
		t.Key[i] = n
	}
	t.Specialists = order
	return t
}

// sortByTime orders the requests by At, stably, with ties broken by
// tie(a, b) on specialist indexes when given.
func sortByTime(t *Trace, tie func(a, b int32) int) {
	n := len(t.At)
	if slices.IsSortedFunc(seqIndex(n), func(i, j int) int {
		return cmp.Or(cmp.Compare(t.At[i], t.At[j]), tieOr(tie, t.Key[i], t.Key[j]))
	}) {
		return
	}
	perm := seqIndex(n)
	slices.SortStableFunc(perm, func(i, j int) int {
		return cmp.Or(cmp.Compare(t.At[i], t.At[j]), tieOr(tie, t.Key[i], t.Key[j]))
	})
	t.At = permute(t.At, perm)
	t.Key = permute(t.Key, perm)
	if t.Durations != nil {
		t.Durations = permute(t.Durations, perm)
	}
	if t.Priorities != nil {
		t.Priorities = permute(t.Priorities, perm)
	}
}

func tieOr(tie func(a, b int32) int, a, b int32) int {
	if tie == nil {
		return 0
	}
	return tie(a, b)
}

func seqIndex(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func permute[T any](xs []T, perm []int) []T {
	out := make([]T, len(xs))
	for i, p := range perm {
		out[i] = xs[p]
	}
	return out
}

// FromRequests builds a trace from requests in any order (sorted stably
// by At); each key's costs are those of its first request. It is for
// tests and hand-made traces.
func FromRequests(name string, rs []Request) *Trace {
	b := newBuilder(name, "hand-made requests", name, math.MaxInt)
	t := b.t
	t.Durations = make([]time.Duration, 0, len(rs))
	t.Priorities = make([]pool.Priority, 0, len(rs))
	for _, r := range rs {
		k := b.specialist(r.Key, r.Group, r.Memory, r.ColdStart)
		_ = b.add(0, r.At, k)
		t.Durations = append(t.Durations, r.Duration)
		t.Priorities = append(t.Priorities, r.Priority)
	}
	sortByTime(t, nil)
	return finish(t)
}

// table reads a CSV file with a header line, giving columns by name
// (compared without case: invitro's tools lower-case them).
type table struct {
	input  string // name in errors
	r      *csv.Reader
	header []string
	cols   map[string]int // lower-cased header name → 0-based column
	line   int            // line of the last record read
	ll     *limitedLines
}

// newTable reads the header. Names are trimmed of spaces and of a leading
// UTF-8 byte-order mark; empty names are allowed (and unusable), repeated
// ones are not.
func newTable(input string, r io.Reader) (*table, error) {
	ll := &limitedLines{r: r, limit: maxRecord}
	cr := csv.NewReader(ll)
	cr.FieldsPerRecord = -1 // checked here, with a clearer message
	cr.ReuseRecord = true
	t := &table{input: input, r: cr, line: 1, ll: ll}
	rec, err := cr.Read()
	if err == io.EOF {
		return nil, malformed(input, 1, "empty file, want a header line")
	}
	if err != nil {
		return nil, t.csvError(err)
	}
	t.line, _ = cr.FieldPos(0)
	t.header = make([]string, len(rec))
	t.cols = make(map[string]int, len(rec))
	for i, name := range rec {
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff")
		}
		name = strings.TrimSpace(name)
		t.header[i] = name
		if name == "" {
			continue
		}
		low := strings.ToLower(name)
		if j, dup := t.cols[low]; dup {
			return nil, malformed(input, t.line, "bad header: column %q appears twice (columns %d and %d)", name, j+1, i+1)
		}
		t.cols[low] = i
	}
	return t, nil
}

// has reports the column of a name.
func (t *table) has(name string) (int, bool) {
	c, ok := t.cols[strings.ToLower(name)]
	return c, ok
}

// need returns the column of each name, or an error naming the first one
// missing.
func (t *table) need(names ...string) ([]int, error) {
	out := make([]int, len(names))
	for i, n := range names {
		c, ok := t.has(n)
		if !ok {
			return nil, malformed(t.input, 1, "bad header: missing column %q", n)
		}
		out[i] = c
	}
	return out, nil
}

// next returns the next record (valid until the next call), or io.EOF.
func (t *table) next() ([]string, error) {
	rec, err := t.r.Read()
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, t.csvError(err)
	}
	t.line, _ = t.r.FieldPos(0)
	if len(rec) != len(t.header) {
		return nil, t.errorf("wrong field count: %d fields, want %d as in the header", len(rec), len(t.header))
	}
	return rec, nil
}

// errorf reports a problem on the last record read.
func (t *table) errorf(format string, args ...any) error {
	return malformed(t.input, t.line, format, args...)
}

// field names column c of the header for messages.
func (t *table) field(c int) string {
	return fmt.Sprintf("column %d (%q)", c+1, t.header[c])
}

func (t *table) csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return malformed(t.input, pe.Line, "bad CSV: %v", pe.Err)
	}
	if errors.Is(err, errLongLine) {
		return malformed(t.input, t.ll.lines+1, "record longer than %d bytes", maxRecord)
	}
	return fmt.Errorf("trace: %s: read: %w", t.input, err)
}

// nonEmpty returns rec[c], or an error if it is empty.
func (t *table) nonEmpty(rec []string, c int) (string, error) {
	if rec[c] == "" {
		return "", t.errorf("empty %s", t.field(c))
	}
	return rec[c], nil
}

// number parses rec[c] as a finite float in [0, limit).
func (t *table) number(rec []string, c int, limit float64) (float64, error) {
	v, err := parseNumber(rec[c], limit)
	if err != nil {
		return 0, t.errorf("%s = %q: %v", t.field(c), rec[c], err)
	}
	return v, nil
}

// parseNumber parses s as a finite float in [0, limit).
func parseNumber(s string, limit float64) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	switch {
	case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
		return 0, errors.New("not a finite number")
	case v < 0:
		return 0, errors.New("negative")
	case v >= limit:
		return 0, fmt.Errorf("too large (want less than %g)", limit)
	}
	return v, nil
}

// interner shares one string per distinct value, cloned so that it does
// not pin the CSV reader's record buffer.
type interner map[string]string

func (in interner) get(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	v := strings.Clone(s)
	in[v] = v
	return v
}

// maxSeconds bounds timestamps and durations so that they fit a
// time.Duration in nanoseconds (10^9 s is 31 years).
const maxSeconds = 1e9

// seconds converts non-negative seconds below maxSeconds to nanoseconds,
// rounded.
func seconds(s float64) int64 {
	return int64(math.Round(s * float64(time.Second)))
}
