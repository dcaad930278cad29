package policy_test

import (
	"container/heap"
	"flag"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bumba/pooling/internal/trace"
	"github.com/bumba/pooling/pool/internal/policy"
)

var replayAll = flag.Bool("replay", false, "replay every embedded trace through the model and log the misses")

// keyed is a trace as specialist indices and times.
type keyed struct {
	keys []int32
	at   []int64
	n    int
}

func load(t testing.TB, name string) keyed {
	t.Helper()
	tr, err := trace.Embedded(name, trace.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	idx := map[string]int32{}
	var k keyed
	for _, r := range tr.All() {
		i, ok := idx[r.Key]
		if !ok {
			i = int32(len(idx))
			idx[r.Key] = i
		}
		k.keys = append(k.keys, i)
		k.at = append(k.at, int64(r.At))
	}
	k.n = len(idx)
	return k
}

// follow replays tr through a demand cache of capacity c that evicts what
// the model says, and returns its misses.
func follow(t testing.TB, tr keyed, c int) (misses int, m *policy.Model) {
	m, err := policy.New(policy.Config{Specialists: tr.n, MaxWarm: c, Sizes: make([]int64, tr.n), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	held := make([]bool, tr.n)
	count := 0
	var buf []int32
	for i, k := range tr.keys {
		m.Access(k, tr.at[i], 1)
		if held[k] {
			continue
		}
		misses++
		if count >= c {
			buf = m.Victims(buf[:0], 1, func(v int32) bool { return v != k })
			v := buf[0]
			held[v] = false
			m.Remove(v)
			count--
		}
		held[k] = true
		m.Admit(k)
		count++
	}
	return misses, m
}

// belady is the offline optimum's misses for capacity c.
func belady(tr keyed, c int) int {
	next := make([]int, len(tr.keys))
	last := make([]int, tr.n)
	for i := range last {
		last[i] = math.MaxInt
	}
	for i := len(tr.keys) - 1; i >= 0; i-- {
		next[i] = last[tr.keys[i]]
		last[tr.keys[i]] = i
	}
	in := make([]bool, tr.n)
	nextOf := make([]int, tr.n)
	h := &maxHeap{}
	misses, count := 0, 0
	for i, k := range tr.keys {
		nextOf[k] = next[i]
		if in[k] {
			heap.Push(h, entry{next[i], k})
			continue
		}
		misses++
		if count >= c {
			for {
				e := heap.Pop(h).(entry)
				if in[e.k] && nextOf[e.k] == e.next {
					in[e.k] = false
					count--
					break
				}
			}
		}
		in[k] = true
		count++
		heap.Push(h, entry{next[i], k})
	}
	return misses
}

type entry struct {
	next int
	k    int32
}
type maxHeap []entry

func (h maxHeap) Len() int           { return len(h) }
func (h maxHeap) Less(i, j int) bool { return h[i].next > h[j].next }
func (h maxHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *maxHeap) Push(x any)        { *h = append(*h, x.(entry)) }
func (h *maxHeap) Pop() any          { o := *h; x := o[len(o)-1]; *h = o[:len(o)-1]; return x }

// synthetic workloads on which different families win.
func synthetic(kind string, seed uint64) keyed {
	r := rand.New(rand.NewPCG(seed, 7))
	var k keyed
	add := func(key int32, at int64) {
		k.keys = append(k.keys, key)
		k.at = append(k.at, at)
		k.n = max(k.n, int(key)+1)
	}
	const tasks = 200000
	switch kind {
	case "scan": // a skewed hot set, interrupted by one-off scans (recency loses)
		z := rand.NewZipf(r, 1.2, 2, 999)
		next := int32(1000)
		for i := int64(0); len(k.keys) < tasks; i++ {
			if r.IntN(10) < 3 {
				add(next, i*1e6)
				next++
			} else {
				add(int32(z.Uint64()), i*1e6)
			}
		}
	case "drift": // the hot set moves on (frequency loses)
		for i := int64(0); len(k.keys) < tasks; i++ {
			base := int32(i / 100)
			add(base+int32(r.IntN(100)), i*1e6)
		}
	case "timers": // functions on fixed periods plus Poisson noise
		type fn struct{ period, next int64 }
		var fns []fn
		for j := 0; j < 600; j++ {
			p := int64(10+r.IntN(600)) * 1e9
			fns = append(fns, fn{p, int64(r.IntN(600)) * 1e9})
		}
		for t := int64(0); len(k.keys) < tasks; t += 1e8 {
			for j := range fns {
				if fns[j].next <= t {
					add(int32(j), t)
					fns[j].next += fns[j].period
				}
			}
			if r.IntN(4) == 0 {
				add(int32(600+r.IntN(400)), t)
			}
		}
	}
	return k
}

// TestFollowsTheBestExpert replays workloads where different families
// win: the model must end near the best expert and ahead of the worst.
func TestFollowsTheBestExpert(t *testing.T) {
	for _, kind := range []string{"scan", "drift", "timers"} {
		tr := synthetic(kind, 1)
		c := map[string]int{"scan": 200, "drift": 150, "timers": 50}[kind]
		got, m := follow(t, tr, c)
		ex := m.ExpertMisses()
		best, worst, bestName := math.MaxInt, 0, ""
		for name, v := range ex {
			if int(v) < best {
				best, bestName = int(v), name
			}
			worst = max(worst, int(v))
		}
		t.Logf("%s: %d keys, %d tasks, cap %d: model %d (leader %s, %d switches); best %s; experts %v",
			kind, tr.n, len(tr.keys), c, got, m.Leader(), m.Switches(), bestName, ex)
		if float64(got) > 1.03*float64(best)+float64(2*c) {
			t.Errorf("%s: model %d misses, best expert (%s) %d", kind, got, bestName, best)
		}
		if worst > best*11/10 && got >= worst {
			t.Errorf("%s: model %d misses, worst expert %d", kind, got, worst)
		}
	}
}

// TestReplayTraces logs the model against its experts and Belady on the
// embedded traces (all of them with -replay).
func TestReplayTraces(t *testing.T) {
	names := []string{"bumba"}
	if *replayAll {
		names = []string{"azure2021", "bumba", "azure2019", "keys"}
	}
	for _, name := range names {
		tr := load(t, name)
		c := max(1, int(math.Ceil(0.2*float64(tr.n))))
		got, m := follow(t, tr, c)
		opt := belady(tr, c)
		ex := m.ExpertMisses()
		t.Logf("%s: %d keys, %d tasks, cap %d: model %d (%.2f× belady %d; leader %s, %d switches); experts %v",
			name, tr.n, len(tr.keys), c, got, float64(got)/float64(opt), opt, m.Leader(), m.Switches(), ex)
		if got < opt {
			t.Errorf("%s: model %d misses, fewer than the offline optimum %d: the replay is wrong", name, got, opt)
		}
		if int(ex["lru"])+c < got {
			t.Errorf("%s: model %d misses, LRU %d", name, got, ex["lru"])
		}
	}
}
