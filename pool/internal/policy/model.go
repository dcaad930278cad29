package policy

import (
	"fmt"
	"math"
)

// Config sizes a Model.
type Config struct {
	// Specialists is the number of specialists, indexed 0…Specialists−1.
	Specialists int
	// MaxWarm is the warm cap (≥ 1).
	MaxWarm int
	// Budget is the memory budget in bytes; 0 means none.
	Budget int64
	// Sizes are the specialists' bytes while warm (copied; SetSize
	// updates one).
	Sizes []int64
	// Seed seeds the gap expert's sampling, so runs are reproducible.
	Seed uint64
	// UsageDecay is the usage score's decay rate per second (the seed's
	// 0.02: a use halves in 35 s); 0 means no decay.
	UsageDecay float64
	// Cooldown (ns) is the horizon of the keep rule until the cache's
	// characteristic time is known.
	Cooldown int64
}

// Model decides what the pool keeps warm. It is fed every task in order
// (Access) and told what the pool holds (Admit, Remove), and it answers
// which held specialists to evict first (Victims).
//
// It runs several classic demand policies side by side over the task
// stream — LRU, S3-FIFO and a gap rule — each simulating a
// cache of the pool's capacity, and follows the one with the fewest
// misses recently: no single family wins on every workload (S3-FIFO on web
// pages, LRU on a day of serverless functions, the gap rule on timer
// driven ones), so the model measures which one wins on this one. Following
// means mirroring: the pool evicts first what it holds and the leader's
// simulated cache does not (in the order the leader dropped them), then in
// the leader's own eviction order. When the pool has held what the leader
// held, one eviction each keeps them equal, so the pool misses what the
// leader would.
//
// Misses are counted with exponential forgetting: all counts halve each
// time the leader has missed 4 × MaxWarm times since the last halving, a
// window of about four turnovers of the cache, so it is the same in tasks
// whatever the trace's speed or size. The leader changes when another
// expert's count is lower by more than twice the standard deviation of
// the difference of two Poisson counts (2·√(a+b)): a switch needs evidence,
// not a lucky stretch.
//
// Memory: O(Specialists × experts) words, fixed at New. A Model is not safe
// for concurrent use; the pool serialises it.
type Model struct {
	sp      space
	now     int64
	st      arrivals
	experts []expert
	lru     *lru
	mirrors []mirror
	real    []bool
	held    int

	usage    usage
	cooldown int64

	missDecayed []float64
	missTotal   []uint64
	sinceHalve  float64 // leader misses since the last halving
	leader      int
	switches    uint64
	tasks       uint64
}

// New returns a model for cfg.
func New(cfg Config) (*Model, error) {
	n := cfg.Specialists
	switch {
	case n < 1:
		return nil, fmt.Errorf("policy: %d specialists: want at least 1", n)
	case cfg.MaxWarm < 1:
		return nil, fmt.Errorf("policy: max warm %d: want at least 1", cfg.MaxWarm)
	case len(cfg.Sizes) != n:
		return nil, fmt.Errorf("policy: %d sizes for %d specialists", len(cfg.Sizes), n)
	}
	m := &Model{real: make([]bool, n)}
	m.sp = space{maxWarm: cfg.MaxWarm, budget: cfg.Budget, size: append([]int64(nil), cfg.Sizes...)}
	m.st = newArrivals(n)
	m.usage = newUsage(n, cfg.UsageDecay)
	m.cooldown = cfg.Cooldown
	m.lru = newLRU(&m.sp, 0, n)
	m.experts = []expert{
		m.lru,
		newS3FIFO(&m.sp, 1, n),
		newGap(&m.sp, 2, n, &m.st, &m.now),
	}
	m.mirrors = make([]mirror, len(m.experts))
	m.sp.hooks = make([]memberHooks, len(m.experts))
	for i := range m.mirrors {
		lk := newLinks(n)
		m.mirrors[i] = mirror{m: m, lk: lk, in: lk.newList(), out: lk.newList()}
		m.sp.hooks[i] = &m.mirrors[i]
	}
	m.missDecayed = make([]float64, len(m.experts))
	m.missTotal = make([]uint64, len(m.experts))
	// Until the misses say otherwise, follow S3-FIFO: a specialist used
	// again outlasts a one-off from the first eviction on.
	m.leader = 1
	return m, nil
}

// mirror keeps what the pool holds split by whether one expert's simulated
// cache holds it too: out is what the expert would already have dropped,
// in the order it dropped them (or the pool took them).
type mirror struct {
	m       *Model
	lk      *links
	in, out *list
}

func (mr *mirror) admitted(k int32) {
	if mr.m.real[k] && mr.out.in(k) {
		mr.out.remove(k, 0)
		mr.in.pushBack(k, 0)
	}
}

func (mr *mirror) evicted(k int32) {
	if mr.m.real[k] && mr.in.in(k) {
		mr.in.remove(k, 0)
		mr.out.pushBack(k, 0)
	}
}

// Access records a task for k at time at (Unix ns), in task order, with
// the weight its priority gives a use.
func (m *Model) Access(k int32, at int64, weight float64) {
	m.now = max(m.now, at)
	m.st.note(k, m.now)
	m.usage.add(k, m.now, weight)
	m.tasks++
	for i, e := range m.experts {
		if !e.contains(k) {
			m.missDecayed[i]++
			m.missTotal[i]++
			if i == m.leader {
				m.sinceHalve++
			}
		}
		e.access(k)
	}
	if m.sinceHalve >= float64(32*m.sp.maxWarm) {
		m.sinceHalve = 0
		for i := range m.missDecayed {
			m.missDecayed[i] /= 2
		}
	}
	m.elect()
}

func (m *Model) elect() {
	best := m.leader
	for i, d := range m.missDecayed {
		if d < m.missDecayed[best] {
			best = i
		}
	}
	if best == m.leader {
		return
	}
	a, b := m.missDecayed[m.leader], m.missDecayed[best]
	if a-b > 2*math.Sqrt(a+b) {
		m.leader = best
		m.switches++
	}
}

// Admit records that the pool now holds k (its start began).
func (m *Model) Admit(k int32) {
	if m.real[k] {
		return
	}
	m.real[k] = true
	m.held++
	for i, e := range m.experts {
		if e.contains(k) {
			m.mirrors[i].in.pushBack(k, 0)
		} else {
			m.mirrors[i].out.pushBack(k, 0)
		}
	}
}

// Remove records that the pool no longer holds k (its instance closed, or
// its start failed).
func (m *Model) Remove(k int32) {
	if !m.real[k] {
		return
	}
	m.real[k] = false
	m.held--
	for i := range m.mirrors {
		if l := m.mirrors[i].lk.ownerOf(k); l != nil {
			l.remove(k, 0)
		}
	}
}

// maxWalk bounds how many held specialists one Victims call looks at, so
// that an eviction costs O(n) even when most held specialists are busy.
func maxWalk(n int) int { return 64 + 8*n }

// Victims appends to dst up to n held specialists for which ok returns
// true, best to evict first: those the leader no longer holds, oldest drop
// first, then in the leader's eviction order. It looks at no more than
// 64 + 8n specialists.
func (m *Model) Victims(dst []int32, n int, ok func(k int32) bool) []int32 {
	start := len(dst)
	mr := &m.mirrors[m.leader]
	steps, limit := 0, maxWalk(n)
	for k := mr.out.head; k != none && len(dst)-start < n && steps < limit; k = mr.lk.next[k] {
		steps++
		if ok(k) {
			dst = append(dst, k)
		}
	}
	if len(dst)-start >= n || mr.in.len == 0 {
		return dst
	}
	m.experts[m.leader].order(func(k int32) bool {
		steps++
		if m.real[k] && ok(k) {
			dst = append(dst, k)
		}
		return len(dst)-start < n && steps < limit
	})
	return dst
}

// SetMaxWarm changes the capacity every expert simulates.
func (m *Model) SetMaxWarm(n int) {
	m.sp.maxWarm = max(n, 1)
	for _, e := range m.experts {
		e.fit()
	}
}

// Leader names the expert the model follows now.
func (m *Model) Leader() string { return m.experts[m.leader].name() }

// Switches counts changes of leader.
func (m *Model) Switches() uint64 { return m.switches }

// Held is the number of specialists the pool holds, as told.
func (m *Model) Held() int { return m.held }

// ExpertMisses returns each expert's name and simulated misses so far.
func (m *Model) ExpertMisses() map[string]uint64 {
	out := make(map[string]uint64, len(m.experts))
	for i, e := range m.experts {
		out[e.name()] = m.missTotal[i]
	}
	return out
}

// CharTime is the cache's characteristic time as of the latest task (ns):
// how long before it the least recent member of an LRU cache of the pool's
// size was last asked for — how long such a cache keeps a specialist it no
// longer sees. Before that cache has filled it is the age of its oldest
// member: it keeps everything at least that long. 0 before any task.
func (m *Model) CharTime() int64 {
	l := m.lru.l
	if l.len == 0 {
		return 0
	}
	return m.now - m.st.last[l.head]
}

// arrivals is every specialist's task statistics.
type arrivals struct {
	n     []uint32
	first []int64
	last  []int64
	gap   []float64 // exponentially weighted mean gap, seconds
	// seen counts specialists with a task, returned those with two.
	seen, returned int
}

func newArrivals(n int) arrivals {
	return arrivals{n: make([]uint32, n), first: make([]int64, n), last: make([]int64, n), gap: make([]float64, n)}
}

// note records a task for k at now. The mean gap weighs the newest gap 1/4.
func (a *arrivals) note(k int32, now int64) {
	switch a.n[k] {
	case 0:
		a.first[k] = now
		a.seen++
	default:
		if a.n[k] == 1 {
			a.returned++
		}
		if g := float64(now-a.last[k]) / 1e9; a.n[k] == 1 {
			a.gap[k] = g
		} else {
			a.gap[k] += (g - a.gap[k]) / 4
		}
	}
	if a.n[k] < math.MaxUint32 {
		a.n[k]++
	}
	a.last[k] = now
}

// expectedGap is how far away k's next task looks (seconds): the shorter
// of its recent and long-run mean gaps, at least half the time since its
// last task. One seen once has no gap: were it to come back it would be
// about as far ahead as its task is behind, and it comes back with the
// measured share of specialists that had a second task (with a uniform
// prior), so its time since is divided by that share.
func (a *arrivals) expectedGap(k int32, now int64) float64 {
	since := float64(now-a.last[k]) / 1e9
	if a.n[k] < 2 {
		return since * float64(a.seen+2) / float64(a.returned+1)
	}
	return max(a.typicalGap(k), since/2)
}

// typicalGap is k's typical gap between tasks as of its last task
// (seconds, k seen at least twice): the shorter of the recent mean and the
// long-run mean (time from its first to its last task per gap).
func (a *arrivals) typicalGap(k int32) float64 {
	long := float64(a.last[k]-a.first[k]) / 1e9 / float64(a.n[k]-1)
	return min(a.gap[k], long)
}

// SetSize records k's measured size (an instance's Sizer). Experts that
// hold k count the new size from now on, and evict to fit.
func (m *Model) SetSize(k int32, bytes int64) {
	d := bytes - m.sp.size[k]
	if d == 0 {
		return
	}
	m.sp.size[k] = bytes
	for _, e := range m.experts {
		if e.contains(k) {
			e.resized(k, d)
			e.fit()
		}
	}
}

// LeaderHolds reports whether the expert followed now holds k: evicting
// one it does not costs the pool nothing the leader would have kept.
func (m *Model) LeaderHolds(k int32) bool { return m.experts[m.leader].contains(k) }

// LeaderFull reports whether the leader's simulated cache is at capacity:
// it then keeps what it holds until a task needs the room.
func (m *Model) LeaderFull() bool { return m.experts[m.leader].full() }
