package trace_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/internal/trace"
)

// #11.5: a 60-byte file with one count of 4 000 000 is refused, naming
// the line and the column, instead of becoming hundreds of MB.
func TestAzure2019CountsAreBounded(t *testing.T) {
	inv := "HashOwner,HashApp,HashFunction,1,2\no,a,f,1,4000000\n"
	require.Less(t, len(inv), 61)
	_, err := trace.ReadAzure2019(strings.NewReader(inv), nil, nil, trace.Options{})
	require.ErrorIs(t, err, trace.ErrMalformed)
	assert.Contains(t, err.Error(), `line 2: column 5 ("2") = "4000000": more than 1048576 invocations of one function in one minute`)

	// The total: three counts of 40 under a bound of 100.
	inv = "HashOwner,HashApp,HashFunction,1,2\no,a,f,40,40\no,a,g,40,0\n"
	_, err = trace.ReadAzure2019(strings.NewReader(inv), nil, nil, trace.Options{MaxRequests: 100})
	require.ErrorIs(t, err, trace.ErrMalformed)
	assert.Contains(t, err.Error(), `line 3: column 4 ("1") = "40": more than 100 invocations in all`)
	tr, err := trace.ReadAzure2019(strings.NewReader(inv), nil, nil, trace.Options{MaxRequests: 120})
	require.NoError(t, err)
	assert.Equal(t, 120, tr.Len())

	// A record beyond 1 MiB is refused as it is read.
	huge := "HashOwner,HashApp,HashFunction,1\no,a," + strings.Repeat("f", 2<<20) + ",1\n"
	_, err = trace.ReadAzure2019(strings.NewReader(huge), nil, nil, trace.Options{})
	require.ErrorIs(t, err, trace.ErrMalformed)
	assert.Contains(t, err.Error(), "invocations.csv: line 2: record longer than 1048576 bytes")
}

// A full day as invitro writes it: identity columns first, minute_1 …
// minute_1440, no Trigger; the sized samples' N_run.csv and N_mem.csv (the
// latter per app) beside N_inv.csv.
func TestAzure2019InvitroDayLayout(t *testing.T) {
	var b strings.Builder
	b.WriteString("HashFunction,HashApp,HashOwner")
	for m := 1; m <= 1440; m++ {
		fmt.Fprintf(&b, ",minute_%d", m)
	}
	b.WriteString("\n")
	for _, fn := range []string{"f1", "f2"} {
		b.WriteString(fn + ",app-" + fn + ",owner")
		for m := 1; m <= 1440; m++ {
			c := 0
			if fn == "f1" && m%60 == 0 || fn == "f2" && (m == 1 || m == 1440) {
				c = 1
			}
			fmt.Fprintf(&b, ",%d", c)
		}
		b.WriteString("\n")
	}
	dir := t.TempDir()
	write := func(name, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	write("2_inv.csv", b.String())
	write("2_run.csv", "HashFunction,HashApp,HashOwner,Count,Average,Minimum\nf1,app-f1,owner,24,250,100.0\n")
	write("2_mem.csv", "HashApp,HashOwner,SampleCount,AverageAllocatedMb\napp-f2,owner,9,300\n")

	for _, path := range []string{dir, filepath.Join(dir, "2_inv.csv")} {
		format, err := trace.Detect(path)
		require.NoError(t, err)
		assert.Equal(t, "azure2019", format)
		tr, err := trace.Open("", path, trace.Options{Seed: 1})
		require.NoError(t, err, path)
		assert.Equal(t, 26, tr.Len(), "24 hourly + 2")
		assert.Equal(t, 2, tr.Keys())
		// Minute 1 is t = 0; minute 1440 ends the day.
		assert.Less(t, tr.At[tr.Len()-1], 1440*time.Minute)
		assert.GreaterOrEqual(t, tr.At[tr.Len()-1], 1439*time.Minute)
		costs := map[string]trace.Request{}
		for _, r := range tr.All() {
			costs[r.Key] = r
		}
		assert.Equal(t, 250*time.Millisecond, costs["f1"].Duration)
		assert.Equal(t, int64(5<<20), costs["f1"].Memory, "no memory row for app-f1")
		assert.Equal(t, int64(300<<20), costs["f2"].Memory, "memory per app")
		assert.Equal(t, "owner", costs["f2"].Group)
		assert.Contains(t, tr.Source, "2_inv.csv")
	}

	// Two sized samples in one directory: the path must say which.
	write("3_inv.csv", b.String())
	_, err := trace.Open("azure2019", dir, trace.Options{})
	require.ErrorIs(t, err, trace.ErrUnknownFormat)
	assert.ErrorContains(t, err, "2_inv.csv, 3_inv.csv")
}

// The public dataset's day files, with lower-cased headers as invitro's
// tools write them, and no durations or memory file.
func TestAzure2019PublicDayNames(t *testing.T) {
	dir := t.TempDir()
	inv := "hashowner,hashapp,hashfunction,trigger,1,2,3\no,a,f,http,1,0,2\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "invocations_per_function_md.anon.d03.csv"), []byte(inv), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "function_durations_percentiles.anon.d03.csv"),
		[]byte("HashOwner,HashApp,HashFunction,Average\no,a,f,20\n"), 0o644))
	l, err := trace.Azure2019Files(dir)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "function_durations_percentiles.anon.d03.csv"), l.Durations)
	assert.Empty(t, l.Memory, "no app_memory_percentiles file")
	tr, err := trace.Open("auto", dir, trace.Options{})
	require.NoError(t, err)
	assert.Equal(t, 3, tr.Len())
	assert.Equal(t, 20*time.Millisecond, tr.Request(0).Duration)
	assert.Contains(t, tr.Source, "no memory file")
}

func TestARC(t *testing.T) {
	tr, err := trace.ReadARC(strings.NewReader("10 3 0 0\n\n11 1 0 1\r\n7 2 0 2"), trace.Options{Spacing: time.Millisecond, ColdStart: 3 * time.Millisecond})
	require.NoError(t, err)
	var keys []string
	for _, r := range tr.All() {
		keys = append(keys, r.Key)
		assert.Equal(t, 3*time.Millisecond, r.ColdStart)
	}
	assert.Equal(t, []string{"10", "11", "12", "11", "7", "8"}, keys)
	assert.Equal(t, 5*time.Millisecond, tr.At[5])
	assert.Equal(t, 5, tr.Keys())

	for _, tc := range []struct{ in, want string }{
		{"", "line 1: no accesses"},
		{"1 0 0 0\n", "line 1: no accesses"},
		{"1 2 3 4 5\n", "line 1: 5 fields"},
		{"1 2\n1 x 0 0\n", `line 2: field 2 = "x": not a non-negative integer`},
		{"1 -2 0 0\n", `line 1: field 2 = "-2"`},
		{"1 2000000 0 0\n", "line 1: field 2 = 2000000: more than 1048576 blocks on one line"},
		{"1 5 0 0\n1 5 0 0\n1 5 0 0\n", "line 3: more than 12 requests"},
		{strings.Repeat("1", 70000) + " 1\n", "line 1: line longer than 65536 bytes"},
	} {
		_, err := trace.ReadARC(strings.NewReader(tc.in), trace.Options{MaxRequests: 12})
		require.ErrorIs(t, err, trace.ErrMalformed, tc.in)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestCSV(t *testing.T) {
	// Twitter-style, no header, extra fields, out of order.
	in := "100,k1,10,200,7,get,0\n100.5,k2,1,1,7,get,0\n99.25,k1,10,200,7,get,0\n"
	tr, err := trace.ReadCSV(strings.NewReader(in), trace.Options{})
	require.NoError(t, err)
	require.Equal(t, 3, tr.Len())
	assert.Equal(t, []time.Duration{0, 750 * time.Millisecond, 1250 * time.Millisecond}, tr.At)
	assert.Equal(t, "k1", tr.Request(0).Key)
	assert.Equal(t, "k1", tr.Request(1).Key)
	assert.Equal(t, "k2", tr.Request(2).Key)

	// A header names the columns.
	tr, err = trace.ReadCSV(strings.NewReader("obj_id,Timestamp\na,5\nb,5\na,6\n"), trace.Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "a"}, []string{tr.Request(0).Key, tr.Request(1).Key, tr.Request(2).Key})
	assert.Equal(t, time.Second, tr.At[2])

	for _, tc := range []struct{ in, want string }{
		{"", "line 1: no requests"},
		{"when,what\n1,a\n", "line 1: header without a time column"},
		{"1,a\nsoon,b\n", `line 2: column 1 (time) = "soon": not a finite number`},
		{"1,a\n2\n", "line 2: 1 fields, want at least 2"},
		{"1,a\n-2,b\n", "line 2: column 1 (time) = \"-2\": negative"},
		{"1,\n", "line 1: column 2 (key) is empty"},
		{"1,\"a\n", "bad CSV"},
		{"1,a\n2," + strings.Repeat("b", 70000) + "\n", "line 2: line longer than 65536 bytes"},
		{"1,a\n2,b\n3,c\n", "line 3: more than 2 requests"},
	} {
		_, err := trace.ReadCSV(strings.NewReader(tc.in), trace.Options{MaxRequests: 2})
		require.ErrorIs(t, err, trace.ErrMalformed, tc.in)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestKeysBounded(t *testing.T) {
	_, err := trace.ReadKeys(strings.NewReader("1\n2\n3\n4\n"), trace.Options{MaxRequests: 3})
	require.ErrorIs(t, err, trace.ErrMalformed)
	assert.Contains(t, err.Error(), "line 4: more than 3 requests")
	_, err = trace.ReadKeys(strings.NewReader("1\n"+strings.Repeat("7", 70000)+"\n"), trace.Options{})
	require.ErrorIs(t, err, trace.ErrMalformed)
	assert.Contains(t, err.Error(), "line 2: line longer than")
}

func TestDetect(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, text, want string }{
		{"a.txt", "17\n18\n", "keys"},
		{"b.lis", "100 8 0 1\n", "arc"},
		{"c.csv", "1.5,key,9\n", "csv"},
		{"d.csv", "timestamp,key\n1,a\n", "csv"},
		{"e.csv", "app,func,end_timestamp,duration\n", "azure2021"},
		{"f.csv", "\ufeffHashOwner,HashApp,HashFunction,1\n", "azure2019"},
		{"invocations.csv", "whatever\n", "azure2019"},
	} {
		p := filepath.Join(dir, tc.name)
		require.NoError(t, os.WriteFile(p, []byte(tc.text), 0o644))
		got, err := trace.Detect(p)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, got, tc.name)
	}
	p := filepath.Join(dir, "g.bin")
	require.NoError(t, os.WriteFile(p, []byte("PK\x03\x04 not a trace\n"), 0o644))
	_, err := trace.Detect(p)
	require.ErrorIs(t, err, trace.ErrUnknownFormat)
	assert.ErrorContains(t, err, `first line "PK\x03\x04 not a trace"`)
	_, err = trace.Detect(filepath.Join(dir, "missing"))
	assert.True(t, errors.Is(err, os.ErrNotExist))
	empty := t.TempDir()
	_, err = trace.Detect(empty)
	assert.True(t, errors.Is(err, os.ErrNotExist), "a directory without an invocations file")
}

func TestSynthetic(t *testing.T) {
	so := trace.SyntheticOptions{Functions: 50, Invocations: 20_000, Minutes: 120}
	a, err := trace.Synthetic(so, trace.Options{Seed: 4})
	require.NoError(t, err)
	b, err := trace.Synthetic(so, trace.Options{Seed: 4})
	require.NoError(t, err)
	assert.Equal(t, a, b, "same options, same trace")
	assert.InDelta(t, 20_000, a.Len(), 4_000)
	assert.Equal(t, 50, a.Keys())
	checkSorted(t, a)
	assert.Less(t, a.At[a.Len()-1], 120*time.Minute)
	groups := map[string]bool{}
	for _, s := range a.Specialists {
		groups[s.Group] = true
		assert.Positive(t, s.Duration)
		assert.GreaterOrEqual(t, s.Memory, int64(128<<20))
	}
	assert.Less(t, len(groups), 50, "owners hold several functions")
	c, err := trace.Synthetic(so, trace.Options{Seed: 5})
	require.NoError(t, err)
	assert.NotEqual(t, a.Key, c.Key)

	_, err = trace.Synthetic(so, trace.Options{MaxRequests: 1000})
	assert.ErrorContains(t, err, "MaxRequests")
	_, err = trace.Synthetic(trace.SyntheticOptions{Functions: -1}, trace.Options{})
	assert.Error(t, err)
}

// BenchmarkSynthetic generates the day-long 1 000-function, ~12 M
// invocation trace: the lab's cost per task for generating and sorting.
func BenchmarkSynthetic(b *testing.B) {
	b.ReportAllocs()
	var n int
	for b.Loop() {
		tr, err := trace.Synthetic(trace.SyntheticOptions{}, trace.Options{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		n = tr.Len()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/task")
	b.ReportMetric(float64(n), "tasks")
}
