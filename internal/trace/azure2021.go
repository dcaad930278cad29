package trace

import (
	"io"
	"strings"
	"time"
)

// ReadAzure2021 reads the Azure Functions 2021 per-invocation format,
// columns app, func, end_timestamp and duration (seconds) found by name, in
// any row order. See the package comment for the mapping.
func ReadAzure2021(r io.Reader, opt Options) (*Trace, error) {
	o, err := opt.resolve()
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
	// Rows are read into the builder keyed by app and func; keys are
	// decided once every row is known.
	b := newBuilder("azure2021", sourceAzure2021, input, o.MaxRequests)
	type fn struct{ app, fn string }
	var fns []fn
	tr := b.t
	for {
		rec, err := t.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		app, err := t.nonEmpty(rec, cols[0])
		if err != nil {
			return nil, err
		}
		name, err := t.nonEmpty(rec, cols[1])
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
		n := len(b.t.Specialists)
		k := b.specialist(app+"\x00"+name, app, o.Memory, o.ColdStart)
		if int(k) == n {
			s := b.t.Specialists[k].ID
			fns = append(fns, fn{app: s[:len(app)], fn: s[len(app)+1:]})
		}
		endNs, durNs := seconds(end), seconds(dur)
		if err := b.add(t.line, time.Duration(endNs-durNs), k); err != nil {
			return nil, err
		}
		tr.Durations = append(tr.Durations, time.Duration(durNs))
	}
	if tr.Len() == 0 {
		return nil, malformed(input, t.line+1, "no invocation rows after the header")
	}

	// Key: func when every func belongs to one app, else app/func.
	appOf := map[string]string{}
	joined := false
	for _, f := range fns {
		if a, ok := appOf[f.fn]; ok && a != f.app {
			joined = true
			break
		}
		appOf[f.fn] = f.app
	}
	for i, f := range fns {
		if joined {
			tr.Specialists[i].ID = f.app + "/" + f.fn
		} else {
			tr.Specialists[i].ID = f.fn
		}
	}
	minStart := tr.At[0]
	for _, at := range tr.At {
		minStart = min(minStart, at)
	}
	for i := range tr.At {
		tr.At[i] -= minStart
	}
	sortByTime(tr, func(a, b int32) int { return strings.Compare(tr.Specialists[a].ID, tr.Specialists[b].ID) })
	return finish(tr), nil
}
