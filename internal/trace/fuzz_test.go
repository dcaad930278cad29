package trace_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bumba/pooling/internal/trace"
)

// fuzzLimit keeps every fuzzed input's trace small: the bound itself is
// under test (a count or a block range asking for more is refused).
const fuzzLimit = 5000

// checkTrace asserts what every reader promises of a trace it accepts.
func checkTrace(t *testing.T, tr *trace.Trace) {
	t.Helper()
	if tr.Len() == 0 || tr.Len() > fuzzLimit {
		t.Fatalf("%d requests (limit %d)", tr.Len(), fuzzLimit)
	}
	if len(tr.Key) != tr.Len() || tr.Durations != nil && len(tr.Durations) != tr.Len() {
		t.Fatalf("columns of different lengths")
	}
	used := make([]bool, tr.Keys())
	next := int32(0)
	for i, k := range tr.Key {
		if k < 0 || int(k) >= tr.Keys() {
			t.Fatalf("request %d: key %d of %d", i, k, tr.Keys())
		}
		if !used[k] {
			if k != next {
				t.Fatalf("specialist %d first requested before %d", k, next)
			}
			used[k] = true
			next++
		}
		if i > 0 && tr.At[i] < tr.At[i-1] {
			t.Fatalf("request %d before request %d", i, i-1)
		}
		if tr.At[i] < 0 || tr.DurationOf(i) < 0 {
			t.Fatalf("request %d: negative time", i)
		}
	}
	if int(next) != tr.Keys() {
		t.Fatalf("%d specialists, %d requested", tr.Keys(), next)
	}
}

func fuzzOptions() trace.Options { return trace.Options{MaxRequests: fuzzLimit, MaxPerMinute: 1000} }

func FuzzReadAzure2019(f *testing.F) {
	f.Add(inv2019, dur2019, mem2019)
	f.Add(inv2019Shuffled, "", "")
	f.Add("HashFunction,HashApp,HashOwner,minute_1,minute_2\nf,a,o,1,4000000\n", "HashFunction,Average\nf,1\n", "HashApp,AverageAllocatedMb\na,12\n")
	f.Add("hashowner,hashapp,hashfunction,trigger,1\no,a,f,http,3\n", "", "")
	f.Fuzz(func(t *testing.T, inv, dur, mem string) {
		tr, err := trace.ReadAzure2019(strings.NewReader(inv), reader(dur), reader(mem), fuzzOptions())
		if err == nil {
			checkTrace(t, tr)
		}
	})
}

func FuzzReadAzure2021(f *testing.F) {
	f.Add("app,func,end_timestamp,duration\nA,f2,10.5,0.5\nA,f1,3.25,1.25\nB,g1,2.5,0.5\n")
	f.Add("duration,end_timestamp,func,app,extra\n1,3,f,B,x\n1,1,f,A,y\n")
	f.Add("app,func,end_timestamp,duration\na,f,1e300,1\n")
	f.Fuzz(func(t *testing.T, in string) {
		tr, err := trace.ReadAzure2021(strings.NewReader(in), fuzzOptions())
		if err == nil {
			checkTrace(t, tr)
		}
	})
}

func FuzzReadKeys(f *testing.F) {
	f.Add("17\n-3\r\n17\n 0042 \n5")
	f.Add("1\n\n2\n")
	f.Fuzz(func(t *testing.T, in string) {
		tr, err := trace.ReadKeys(strings.NewReader(in), fuzzOptions())
		if err == nil {
			checkTrace(t, tr)
		}
	})
}

func FuzzReadARC(f *testing.F) {
	f.Add("10 3 0 0\n\n11 1 0 1\r\n7 2 0 2")
	f.Add("9223372036854775800 100 0 0\n")
	f.Add("1 1048576 0 0\n")
	f.Fuzz(func(t *testing.T, in string) {
		tr, err := trace.ReadARC(strings.NewReader(in), fuzzOptions())
		if err == nil {
			checkTrace(t, tr)
		}
	})
}

func FuzzReadCSV(f *testing.F) {
	f.Add("100,k1,10,200,7,get,0\n100.5,k2,1,1,7,get,0\n99.25,k1,10,200,7,get,0\n")
	f.Add("obj_id,Timestamp\na,5\nb,5\na,6\n")
	f.Add("1,\"a\nb\",3\n")
	f.Fuzz(func(t *testing.T, in string) {
		tr, err := trace.ReadCSV(strings.NewReader(in), fuzzOptions())
		if err == nil {
			checkTrace(t, tr)
		}
	})
}

// FuzzOpenDetected writes the input to a file, detects its format and
// reads it as detected: detection never panics, and whatever it names
// either reads within the bounds or fails with an error.
func FuzzOpenDetected(f *testing.F) {
	for _, s := range []string{"17\n18\n", "100 8 0 1\n", "1.5,key,9\n", "app,func,end_timestamp,duration\na,f,1,1\n",
		"HashOwner,HashApp,HashFunction,1\no,a,f,2\n", "\x00\x01"} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in string) {
		p := filepath.Join(dir, "trace")
		if err := os.WriteFile(p, []byte(in), 0o644); err != nil {
			t.Fatal(err)
		}
		format, err := trace.Detect(p)
		if err != nil {
			return
		}
		tr, err := trace.Open(format, p, fuzzOptions())
		if err == nil {
			checkTrace(t, tr)
		}
	})
}
