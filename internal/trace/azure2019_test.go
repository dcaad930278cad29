package trace_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/internal/trace"
	"github.com/bumba/pooling/pool"
)

// A small trace: three functions, minutes 480–482, in the public layout.
const (
	inv2019 = `HashOwner,HashApp,HashFunction,Trigger,480,481,482
o1,a1,f1,http,2,0,1
o1,a2,f2,timer,0,3,0
o2,a3,f3,queue,1,1,0
`
	// The same counts with the columns shuffled and named minute_N.
	inv2019Shuffled = `minute_482,HashFunction,minute_480,Trigger,HashApp,minute_481,HashOwner
1,f1,2,http,a1,0,o1
0,f2,0,timer,a2,3,o1
0,f3,1,queue,a3,1,o2
`
	dur2019 = `HashOwner,HashApp,HashFunction,Average,Count,Minimum
o1,a1,f1,100,3,90.0
o1,a2,f2,2.5,3,1.0
o9,a9,f9,7,1,7.0
`
	mem2019 = `HashFunction,HashOwner,HashApp,SampleCount,AverageAllocatedMb
f1,o1,a1,10,128.0
f2,o1,a2,10,1.5
`
)

func read2019(t *testing.T, inv, dur, mem string, opt trace.Options) *trace.Trace {
	t.Helper()
	tr, err := trace.ReadAzure2019(strings.NewReader(inv), reader(dur), reader(mem), opt)
	require.NoError(t, err)
	checkSorted(t, tr)
	return tr
}

// reader returns nil for "", so that tests can leave a file out.
func reader(s string) io.Reader {
	if s == "" {
		return nil
	}
	return strings.NewReader(s)
}

// checkSorted checks the stream's order: by At, ties by Key.
func checkSorted(t *testing.T, tr *trace.Trace) {
	t.Helper()
	for i := 1; i < tr.Len(); i++ {
		a, b := tr.At[i-1], tr.At[i]
		ka, kb := tr.Specialists[tr.Key[i-1]].ID, tr.Specialists[tr.Key[i]].ID
		if a > b || a == b && ka > kb {
			t.Fatalf("requests %d and %d out of order: %v %q, %v %q", i-1, i, a, ka, b, kb)
		}
	}
}

// minuteKeys gives, minute by minute, the sorted keys of the requests.
func minuteKeys(tr *trace.Trace) map[int][]string {
	out := map[int][]string{}
	for _, r := range all(tr) {
		m := int(r.At / time.Minute)
		out[m] = append(out[m], r.Key)
	}
	for _, ks := range out {
		slices.Sort(ks)
	}
	return out
}

func TestAzure2019Small(t *testing.T) {
	tr := read2019(t, inv2019, dur2019, mem2019, trace.Options{Seed: 1, Memory: 7 << 20})
	assert.Equal(t, "azure2019", tr.Name)
	assert.Contains(t, tr.Source, "CC-BY 4.0")
	assert.Equal(t, 3, tr.Keys())
	require.Len(t, all(tr), 8)
	assert.Equal(t, map[int][]string{
		0: {"f1", "f1", "f3"},
		1: {"f2", "f2", "f2", "f3"},
		2: {"f1"},
	}, minuteKeys(tr))

	// Per-function attributes, checked by hand against the inputs.
	want := map[string]trace.Request{
		"f1": {Key: "f1", Group: "o1", Memory: 128 << 20, ColdStart: time.Second, Duration: 100 * time.Millisecond},
		"f2": {Key: "f2", Group: "o1", Memory: 3 << 19, ColdStart: time.Second, Duration: 2500 * time.Microsecond},
		"f3": {Key: "f3", Group: "o2", Memory: 7 << 20, ColdStart: time.Second}, // no duration or memory row
	}
	for _, r := range all(tr) {
		got := r
		got.At = 0
		assert.Equal(t, want[r.Key], got)
		assert.Equal(t, pool.PriorityUnset, r.Priority)
	}
	// Strings are shared per function, not allocated per invocation.
	rs := all(tr)
	for _, r := range rs[1:] {
		if r.Key == rs[0].Key {
			assert.Same(t, unsafeData(rs[0].Key), unsafeData(r.Key))
		}
	}
}

// TestAzure2019Placement pins the documented placement: offsets drawn
// uniformly in [0, 1 min) by PCG(Seed, 0x9e3779b97f4a7c15), minute by
// minute, function by function in row order; then sorted per minute.
func TestAzure2019Placement(t *testing.T) {
	const seed = 42
	tr := read2019(t, inv2019, "", "", trace.Options{Seed: seed})
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	draw := func(minute int, keys ...string) []trace.Request {
		var out []trace.Request
		for _, k := range keys {
			at := time.Duration(minute)*time.Minute + time.Duration(rng.Uint64N(uint64(time.Minute)))
			out = append(out, trace.Request{At: at, Key: k})
		}
		slices.SortFunc(out, func(a, b trace.Request) int {
			if a.At != b.At {
				return int(a.At - b.At)
			}
			return strings.Compare(a.Key, b.Key)
		})
		return out
	}
	var want []trace.Request
	want = append(want, draw(0, "f1", "f1", "f3")...)
	want = append(want, draw(1, "f2", "f2", "f2", "f3")...)
	want = append(want, draw(2, "f1")...)
	require.Len(t, all(tr), len(want))
	for i, r := range all(tr) {
		assert.Equal(t, want[i].At, r.At, "request %d", i)
		assert.Equal(t, want[i].Key, r.Key, "request %d", i)
		// Without durations.csv and memory.csv: the defaults.
		assert.Equal(t, int64(5<<20), r.Memory)
		assert.Equal(t, time.Duration(0), r.Duration)
	}
}

func TestAzure2019ColumnsByName(t *testing.T) {
	shuffledDur := `Count,Average,HashFunction,HashApp,HashOwner
3,100,f1,a1,o1
3,2.5,f2,a2,o1
`
	for seed := range uint64(5) {
		opt := trace.Options{Seed: seed}
		a := read2019(t, inv2019, dur2019, mem2019, opt)
		b := read2019(t, inv2019Shuffled, shuffledDur, mem2019, opt)
		require.Equal(t, a, b, "seed %d", seed)
	}
}

func TestAzure2019MinuteOrigin(t *testing.T) {
	// Minute columns out of order and with a gap: the smallest is t = 0,
	// the missing minute 482 is empty.
	tr := read2019(t, "HashOwner,HashApp,HashFunction,483,481\no,a,f,1,2\n", "", "", trace.Options{})
	assert.Equal(t, map[int][]string{0: {"f", "f"}, 2: {"f"}}, minuteKeys(tr))
	// A function without invocations is no key.
	tr = read2019(t, "HashOwner,HashApp,HashFunction,0\no,a,f,1\no,a,g,0\n", "", "", trace.Options{})
	assert.Equal(t, 1, tr.Keys())
	assert.Len(t, all(tr), 1)
}

func TestAzure2019JoinedKeys(t *testing.T) {
	// f appears under two owners: every key becomes owner/app/function.
	inv := "HashOwner,HashApp,HashFunction,1\no1,a1,f,1\no2,a2,f,1\no2,a2,g,1\n"
	tr := read2019(t, inv, "", "", trace.Options{})
	assert.Equal(t, 3, tr.Keys())
	assert.ElementsMatch(t, []string{"o1/a1/f", "o2/a2/f", "o2/a2/g"}, minuteKeys(tr)[0])
}

func TestAzure2019MemoryPerApp(t *testing.T) {
	// The public dataset's memory file has no HashFunction: per app.
	inv := "HashOwner,HashApp,HashFunction,1\no1,a1,f,1\no1,a1,g,1\no2,a2,h,1\n"
	mem := "HashOwner,HashApp,SampleCount,AverageAllocatedMb\no1,a1,5,64\n"
	tr := read2019(t, inv, "", mem, trace.Options{ColdStart: 3 * time.Second})
	got := map[string]int64{}
	for _, r := range all(tr) {
		got[r.Key] = r.Memory
		assert.Equal(t, 3*time.Second, r.ColdStart)
	}
	assert.Equal(t, map[string]int64{"f": 64 << 20, "g": 64 << 20, "h": 5 << 20}, got)
}

func TestAzure2019Determinism(t *testing.T) {
	// 30 functions over 10 minutes, counts up to 40.
	var b strings.Builder
	b.WriteString("HashOwner,HashApp,HashFunction")
	for m := range 10 {
		fmt.Fprintf(&b, ",%d", 600+m)
	}
	b.WriteString("\n")
	rng := rand.New(rand.NewPCG(9, 9))
	for f := range 30 {
		fmt.Fprintf(&b, "o%d,a%d,f%02d", f%4, f%7, f)
		for range 10 {
			fmt.Fprintf(&b, ",%d", rng.IntN(41))
		}
		b.WriteString("\n")
	}
	inv := b.String()
	a := read2019(t, inv, "", "", trace.Options{Seed: 1})
	again := read2019(t, inv, "", "", trace.Options{Seed: 1})
	other := read2019(t, inv, "", "", trace.Options{Seed: 2})
	require.Equal(t, a, again, "same seed, same stream")
	require.Len(t, all(other), len(all(a)))
	assert.NotEqual(t, all(a), all(other), "another seed, another order")
	assert.Equal(t, minuteKeys(a), minuteKeys(other), "same per-minute counts")
}

func TestAzure2019Malformed(t *testing.T) {
	const head = "HashOwner,HashApp,HashFunction,480,481\n"
	for _, tc := range []struct {
		name, inv, dur, mem string
		want                string // with the input and line
	}{
		{"empty", "", "", "", "invocations.csv: line 1: empty file"},
		{"missing column", "HashOwner,HashFunction,480\no,f,1\n", "", "", `invocations.csv: line 1: bad header: missing column "HashApp"`},
		{"no minutes", "HashOwner,HashApp,HashFunction,Trigger\no,a,f,http\n", "", "", "line 1: bad header: no minute columns"},
		{"minute twice", "HashOwner,HashApp,HashFunction,480,minute_480\no,a,f,1,1\n", "", "", "line 1: bad header: minute 480 appears twice"},
		{"column twice", "HashOwner,HashApp,HashFunction,HashApp,480\no,a,f,a,1\n", "", "", `line 1: bad header: column "HashApp" appears twice`},
		{"minute out of range", "HashOwner,HashApp,HashFunction,999999999\no,a,f,1\n", "", "", "line 1: bad header: minute column"},
		{"header only", head, "", "", "line 2: no function rows"},
		{"non-numeric count", head + "o,a,f,1,2\no,a,g,x,2\n", "", "", `invocations.csv: line 3: column 4 ("480") = "x": count not a non-negative integer`},
		{"fractional count", head + "o,a,f,1,2.5\n", "", "", `line 2: column 5 ("481") = "2.5": count not`},
		{"negative count", head + "o,a,f,1,2\no,a,g,1,2\no,a,h,-1,2\n", "", "", `line 4: column 4 ("480") = "-1": negative count`},
		{"field count", head + "o,a,f,1,2\no,a,g,1\n", "", "", "line 3: wrong field count: 4 fields, want 5"},
		{"empty function", head + "o,a,,1,2\n", "", "", `line 2: empty column 3 ("HashFunction")`},
		{"repeated function", head + "o,a,f,1,2\no,a,g,1,2\no,a,f,3,4\n", "", "", "line 4: function o/a/f repeats line 2"},
		{"bad quote", head + "o,a,f,1,2\no,\"a,g,1,2\n", "", "", "line 3: bad CSV"},
		{"blank lines skipped", head + "o,a,f,1,2\n\no,a,g,1\n", "", "", "line 4: wrong field count"},

		{"durations blank header", head + "o,a,f,1,2\n", " ", "", "durations.csv: line 1: bad header: missing column \"Average\""},
		{"durations missing value", head + "o,a,f,1,2\n", "HashFunction,Count\nf,1\n", "", `durations.csv: line 1: bad header: missing column "Average"`},
		{"durations no identity", head + "o,a,f,1,2\n", "HashOwner,Average\no,1\n", "", "durations.csv: line 1: bad header: no HashFunction or HashApp column"},
		{"durations negative", head + "o,a,f,1,2\n", "HashFunction,Average\ng,1\nf,-3\n", "", `durations.csv: line 3: column 2 ("Average") = "-3": negative`},
		{"durations not a number", head + "o,a,f,1,2\n", "HashFunction,Average\nf,fast\n", "", `durations.csv: line 2: column 2 ("Average") = "fast": not a finite number`},
		{"durations NaN", head + "o,a,f,1,2\n", "HashFunction,Average\nf,NaN\n", "", `durations.csv: line 2: column 2 ("Average") = "NaN": not a finite number`},
		{"durations repeated", head + "o,a,f,1,2\n", "HashFunction,Average\nf,1\nf,2\n", "", "durations.csv: line 3: row for f repeats line 2"},
		{"memory too large", head + "o,a,f,1,2\n", "", "HashApp,AverageAllocatedMb\na,1e20\n", `memory.csv: line 2: column 2 ("AverageAllocatedMb") = "1e20": too large`},
		{"memory field count", head + "o,a,f,1,2\n", "", "HashApp,AverageAllocatedMb\na,1,2\n", "memory.csv: line 2: wrong field count: 3 fields, want 2"},
		{"memory empty", head + "o,a,f,1,2\n", "", "\n\n", "memory.csv: line 1: empty file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := trace.ReadAzure2019(strings.NewReader(tc.inv), reader(tc.dur), reader(tc.mem), trace.Options{})
			require.ErrorIs(t, err, trace.ErrMalformed)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestAzure2019Options(t *testing.T) {
	_, err := trace.ReadAzure2019(strings.NewReader(inv2019), nil, nil, trace.Options{ColdStart: -1})
	require.Error(t, err)
	assert.NotErrorIs(t, err, trace.ErrMalformed)
	_, err = trace.ReadAzure2019(strings.NewReader(inv2019), nil, nil, trace.Options{Memory: -1})
	require.Error(t, err)
	_, err = trace.ReadAzure2019(nil, nil, nil, trace.Options{})
	require.ErrorIs(t, err, trace.ErrMalformed)
}
