package trace

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"time"
)

// Header names ReadCSV recognises, lower-cased.
var (
	csvTimeNames = []string{"timestamp", "time", "ts", "clock_time", "t"}
	csvKeyNames  = []string{"key", "obj_id", "object_id", "id", "anonymized key"}
)

// ReadCSV reads a timestamped key trace: comma-separated lines of a
// timestamp in seconds (a non-negative number, fractions allowed) and a
// key (any non-empty text), with further fields ignored — the shape of
// the Twitter cache traces and of libCacheSim's CSV traces. A first line
// whose first field is not a number is a header: the time column is then
// the one named timestamp, time, ts, clock_time or t and the key column
// key, obj_id, object_id, id or "anonymized key" (any case); without a
// header they are columns 1 and 2. At is the timestamp minus the
// smallest; rows out of order are sorted stably by time (file order kept
// for equal times). Group is "csv".
func ReadCSV(r io.Reader, opt Options) (*Trace, error) {
	o, err := opt.resolve()
	if err != nil {
		return nil, err
	}
	const input = "csv"
	if r == nil {
		return nil, malformed(input, 1, "empty file (nil reader)")
	}
	ll := &limitedLines{r: r, limit: maxLine}
	cr := csv.NewReader(ll)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	b := newBuilder("csv", sourceCSV, input, o.MaxRequests)
	tc, kc := 0, 1
	first := true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, malformed(input, pe.Line, "bad CSV: %v", pe.Err)
			}
			if errors.Is(err, errLongLine) {
				return nil, malformed(input, ll.lines+1, "line longer than %d bytes", maxLine)
			}
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if first {
			first = false
			if _, err := parseNumber(rec[0], maxSeconds); err != nil && len(rec) > 0 {
				if tc, kc, err = csvHeader(rec); err != nil {
					return nil, malformed(input, line, "%v", err)
				}
				continue
			}
		}
		if len(rec) <= max(tc, kc) {
			return nil, malformed(input, line, "%d fields, want at least %d", len(rec), max(tc, kc)+1)
		}
		ts, err := parseNumber(rec[tc], maxSeconds)
		if err != nil {
			return nil, malformed(input, line, "column %d (time) = %q: %v", tc+1, rec[tc], err)
		}
		key := strings.TrimSpace(rec[kc])
		if key == "" {
			return nil, malformed(input, line, "column %d (key) is empty", kc+1)
		}
		k, ok := b.index[key]
		if !ok {
			k = b.specialist(key, "csv", o.Memory, o.ColdStart)
		}
		if err := b.add(line, time.Duration(seconds(ts)), k); err != nil {
			return nil, err
		}
	}
	t := b.t
	if t.Len() == 0 {
		return nil, malformed(input, 1, "no requests")
	}
	least := t.At[0]
	for _, at := range t.At {
		least = min(least, at)
	}
	for i := range t.At {
		t.At[i] -= least
	}
	sortByTime(t, nil)
	return finish(t), nil
}

// csvHeader finds the time and key columns of a header.
func csvHeader(rec []string) (tc, kc int, err error) {
	tc, kc = -1, -1
	for i, name := range rec {
		n := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))
		for _, w := range csvTimeNames {
			if n == w && tc < 0 {
				tc = i
			}
		}
		for _, w := range csvKeyNames {
			if n == w && kc < 0 {
				kc = i
			}
		}
	}
	if tc < 0 || kc < 0 {
		return 0, 0, errors.New("header without a time column (" + strings.Join(csvTimeNames, ", ") + ") or a key column (" + strings.Join(csvKeyNames, ", ") + ")")
	}
	return tc, kc, nil
}

var errLongLine = errors.New("line too long")

// limitedLines passes r through, failing once a CSV record (a line, or
// several inside quotes) exceeds limit bytes, so that a CSV reader never
// buffers an unbounded record.
type limitedLines struct {
	r       io.Reader
	limit   int
	run     int // bytes of the current record
	inQuote bool
	lines   int // lines ended so far: the long record starts on line lines+1
}

func (l *limitedLines) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, c := range p[:n] {
		switch {
		case c == '"':
			l.inQuote = !l.inQuote
		case c == '\n' && !l.inQuote:
			l.run = 0
			l.lines++
			continue
		}
		l.run++
		if l.run > l.limit {
			return 0, errLongLine
		}
	}
	return n, err
}
