package trace

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/bumba/pooling/pool"
)

// ErrMalformed is wrapped by every error a reader returns for input that
// does not follow its format. The message names the input, the line (1 is
// the first line of the file) and the reason.
var ErrMalformed = errors.New("malformed trace")

// Request is one task in a trace.
type Request struct {
	// At is the offset from the trace start; non-decreasing in a Trace.
	At time.Duration
	// Key is the specialist: an Azure function, a cache key, a BUMBA
	// specialist ID.
	Key string
	// Group is the key's department: the owner hash (HashOwner) for Azure
	// 2019, the app hash for Azure 2021, "keys" for a key trace, the
	// department for the BUMBA workload.
	Group string
	// Memory is the number of bytes the specialist holds while warm.
	Memory int64
	// ColdStart is the cost of starting the specialist.
	ColdStart time.Duration
	// Duration is the execution time, 0 when the trace has none.
	Duration time.Duration
	// Priority is PriorityUnset unless the source has one (the BUMBA
	// workload: the task's priority).
	Priority pool.Priority
}

// Trace is a time-ordered stream of requests.
type Trace struct {
	// Name is the format or embedded trace name, e.g. "azure2019".
	Name string
	// Source is the provenance and licence line.
	Source string
	// Requests are sorted by At.
	Requests []Request
	// Keys is the number of distinct keys among Requests.
	Keys int
}

// Defaults shared by the readers.
const (
	// defaultColdStart is the BUMBA catalogue's cold start (1000 ms), used
	// when a trace has none and the options give none.
	defaultColdStart = time.Second
	// defaultMemory is the BUMBA catalogue's warm memory, 5 MiB, used when
	// a trace has none and the options give none.
	defaultMemory int64 = 5 << 20
	// maxRequests bounds the requests one trace may hold (2^28, about
	// 19 GB of Requests): a reader rejects a larger input instead of
	// exhausting memory.
	maxRequests = 1 << 28
)

// The Source lines of traces read from arbitrary readers (Open and
// Embedded add where the data came from).
const (
	sourceAzure2019 = `Azure Functions 2019 per-minute invocation counts (format of Azure Public Dataset "AzureFunctionsDataset2019", Shahrad et al., "Serverless in the Wild", USENIX ATC 2020, CC-BY 4.0)`
	sourceAzure2021 = `Azure Functions 2021 invocations (format of Azure Public Dataset AzureFunctionsInvocationTraceForTwoWeeksJan2021, Zhang et al., SOSP 2021, CC-BY 4.0)`
	sourceKeys      = `key access trace, one decimal key per line, no timestamps`
)

// malformed returns an error wrapping ErrMalformed for line of input.
func malformed(input string, line int, format string, args ...any) error {
	return fmt.Errorf("trace: %s: line %d: %s: %w", input, line, fmt.Sprintf(format, args...), ErrMalformed)
}

// defaults resolves zero options and rejects negative ones.
func defaults(coldStart time.Duration, memory int64) (time.Duration, int64, error) {
	switch {
	case coldStart < 0:
		return 0, 0, fmt.Errorf("trace: cold start %v: want a duration >= 0 (0 means %v)", coldStart, defaultColdStart)
	case memory < 0:
		return 0, 0, fmt.Errorf("trace: memory %d: want a size >= 0 bytes (0 means %d)", memory, defaultMemory)
	}
	if coldStart == 0 {
		coldStart = defaultColdStart
	}
	if memory == 0 {
		memory = defaultMemory
	}
	return coldStart, memory, nil
}

// table reads a CSV file with a header line, giving columns by name.
type table struct {
	input  string // name in errors
	r      *csv.Reader
	header []string
	cols   map[string]int // header name → 0-based column
	line   int            // line of the last record read
}

// newTable reads the header. Names are trimmed of spaces and of a leading
// UTF-8 byte-order mark; empty names are allowed (and unusable), repeated
// ones are not.
func newTable(input string, r io.Reader) (*table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked here, with a clearer message
	cr.ReuseRecord = true
	t := &table{input: input, r: cr, line: 1}
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
		if j, dup := t.cols[name]; dup {
			return nil, malformed(input, t.line, "bad header: column %q appears twice (columns %d and %d)", name, j+1, i+1)
		}
		t.cols[name] = i
	}
	return t, nil
}

// need returns the column of each name, or an error naming the first one
// missing.
func (t *table) need(names ...string) ([]int, error) {
	out := make([]int, len(names))
	for i, n := range names {
		c, ok := t.cols[n]
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
	v, err := strconv.ParseFloat(rec[c], 64)
	switch {
	case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
		return 0, t.errorf("%s = %q: not a finite number", t.field(c), rec[c])
	case v < 0:
		return 0, t.errorf("%s = %q: negative", t.field(c), rec[c])
	case v >= limit:
		return 0, t.errorf("%s = %q: too large (want less than %g)", t.field(c), rec[c], limit)
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

// countKeys returns the number of distinct keys among rs.
func countKeys(rs []Request) int {
	seen := make(map[string]struct{})
	for i := range rs {
		seen[rs[i].Key] = struct{}{}
	}
	return len(seen)
}
