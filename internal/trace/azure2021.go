package trace

import (
	"cmp"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Azure2021Options tune ReadAzure2021.
type Azure2021Options struct {
	// DefaultColdStart is every function's cold start (the trace has
	// none); 0 means 1 s.
	DefaultColdStart time.Duration
	// DefaultMemory is every function's memory (the trace has none); 0
	// means 5 MiB.
	DefaultMemory int64
}

// maxSeconds bounds timestamps and durations so that they fit a
// time.Duration in nanoseconds (10^9 s is 31 years).
const maxSeconds = 1e9

// ReadAzure2021 reads the Azure Functions 2021 per-invocation format,
// columns app, func, end_timestamp and duration (seconds) found by name, in
// any row order. See the package comment for the mapping.
func ReadAzure2021(r io.Reader, opt Azure2021Options) (*Trace, error) {
	coldStart, memory, err := defaults(opt.DefaultColdStart, opt.DefaultMemory)
	if err != nil {
		return nil, err
	}
	const input = "azure2021 csv"
	if r == nil {
		return nil, malformed(input, 1, "empty file (nil reader)")
	}
	t, err := newTable(input, r)
	if err != nil {
		return nil, err
	}
	cols, err := t.need("app", "func", "end_timestamp", "duration")
	if err != nil {
		return nil, err
	}
	type row struct {
		app, fn         string
		start, duration int64 // ns
	}
	var rows []row
	strs := interner{}
	for {
		rec, err := t.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rows) == maxRequests {
			return nil, t.errorf("more than %d invocations", maxRequests)
		}
		app, err := t.nonEmpty(rec, cols[0])
		if err != nil {
			return nil, err
		}
		fn, err := t.nonEmpty(rec, cols[1])
		if err != nil {
			return nil, err
		}
		end, err := t.number(rec, cols[2], maxSeconds)
		if err != nil {
			return nil, err
		}
		dur, err := t.number(rec, cols[3], maxSeconds)
		if err != nil {
			return nil, err
		}
		endNs, durNs := seconds(end), seconds(dur)
		rows = append(rows, row{app: strs.get(app), fn: strs.get(fn), start: endNs - durNs, duration: durNs})
	}
	if len(rows) == 0 {
		return nil, malformed(input, t.line+1, "no invocation rows after the header")
	}

	// Key: func when every func belongs to one app, else app/func.
	appOf := map[string]string{}
	joined := false
	for _, r := range rows {
		if a, ok := appOf[r.fn]; ok && a != r.app {
			joined = true
			break
		}
		appOf[r.fn] = r.app
	}
	keyOf := map[[2]string]string{}
	minStart := rows[0].start
	for _, r := range rows {
		minStart = min(minStart, r.start)
	}
	reqs := make([]Request, len(rows))
	for i, r := range rows {
		k, ok := keyOf[[2]string{r.app, r.fn}]
		if !ok {
			k = r.fn
			if joined {
				k = r.app + "/" + r.fn
			}
			keyOf[[2]string{r.app, r.fn}] = k
		}
		reqs[i] = Request{
			At: time.Duration(r.start - minStart), Key: k, Group: r.app,
			Memory: memory, ColdStart: coldStart, Duration: time.Duration(r.duration),
		}
	}
	slices.SortStableFunc(reqs, func(a, b Request) int {
		return cmp.Or(cmp.Compare(a.At, b.At), strings.Compare(a.Key, b.Key))
	})
	return &Trace{Name: "azure2021", Source: sourceAzure2021, Requests: reqs, Keys: len(keyOf)}, nil
}

// seconds converts non-negative seconds below maxSeconds to nanoseconds,
// rounded.
func seconds(s float64) int64 {
	return int64(math.Round(s * float64(time.Second)))
}
