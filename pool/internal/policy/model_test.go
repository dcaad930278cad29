package policy

import (
	"math"
	"math/rand/v2"
	"testing"
)

func newModel(t *testing.T, n, c int) *Model {
	t.Helper()
	m, err := New(Config{Specialists: n, MaxWarm: c, Sizes: make([]int64, n), Seed: 1, UsageDecay: 0.02, Cooldown: 45e9})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Specialists: 0, MaxWarm: 1},
		{Specialists: 2, MaxWarm: 0, Sizes: make([]int64, 2)},
		{Specialists: 2, MaxWarm: 1, Sizes: make([]int64, 1)},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestUsageDecayMatchesExp(t *testing.T) {
	us := newUsage(1, 0.02)
	for _, dt := range []int64{0, 1, 5e8, 1e9, 34657e6, 1e11, 1e12, 1e15} {
		want := math.Exp(-0.02 * float64(dt) / 1e9)
		got := us.factor(dt)
		if math.Abs(got-want) > 0.003*want+1e-300 {
			t.Errorf("factor(%d ns) = %g, want %g within 0.3%%", dt, got, want)
		}
	}
	flat := newUsage(1, 0)
	if f := flat.factor(1e12); f != 1 {
		t.Errorf("no decay: factor = %g, want 1", f)
	}
}

func TestVictimsPreferWhatTheLeaderDropped(t *testing.T) {
	m := newModel(t, 10, 3)
	held := []int32{0, 1, 2}
	for i, k := range held {
		m.Access(k, int64(i)*1e9, 1)
		m.Admit(k)
	}
	// LRU (the leader until evidence says otherwise) drops 0 for 3.
	m.Access(3, 3e9, 1)
	if !m.LeaderHolds(1) || m.LeaderHolds(0) {
		t.Fatalf("leader %s holds 0: %v, 1: %v", m.Leader(), m.LeaderHolds(0), m.LeaderHolds(1))
	}
	got := m.Victims(nil, 3, func(int32) bool { return true })
	if len(got) != 3 || got[0] != 0 {
		t.Fatalf("victims %v, want 0 first then the leader's order", got)
	}
	if got[1] != 1 || got[2] != 2 {
		t.Errorf("victims %v, want [0 1 2]", got)
	}
	// Busy ones are passed over.
	got = m.Victims(nil, 1, func(k int32) bool { return k != 0 })
	if len(got) != 1 || got[0] != 1 {
		t.Errorf("victims with 0 busy: %v, want [1]", got)
	}
	m.Remove(0)
	m.Admit(3)
	if h := m.Held(); h != 3 {
		t.Errorf("held %d, want 3", h)
	}
	got = m.Victims(nil, 3, func(int32) bool { return true })
	for _, k := range got {
		if k == 0 {
			t.Errorf("victims %v include removed 0", got)
		}
	}
}

// TestVictimsMatchBruteForce checks the mirror's lists against a direct
// reading of the leader's membership over random operations.
func TestVictimsMatchBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n, c = 50, 8
	m := newModel(t, n, c)
	held := map[int32]bool{}
	for i := range 20000 {
		k := int32(r.IntN(n))
		m.Access(k, int64(i)*1e8, 1)
		switch {
		case !held[k] && len(held) < c+2:
			held[k] = true
			m.Admit(k)
		case held[k] && r.IntN(8) == 0:
			delete(held, k)
			m.Remove(k)
		}
		got := m.Victims(nil, n, func(int32) bool { return true })
		if len(got) != len(held) {
			t.Fatalf("step %d: %d victims %v for %d held", i, len(got), got, len(held))
		}
		seen := map[int32]bool{}
		outside := true
		for _, v := range got {
			if !held[v] || seen[v] {
				t.Fatalf("step %d: victims %v: %d not held or twice", i, got, v)
			}
			seen[v] = true
			if m.LeaderHolds(v) {
				outside = false
			} else if !outside {
				t.Fatalf("step %d: victims %v: %d, which the leader dropped, after one it holds", i, got, v)
			}
		}
	}
}

func TestKeep(t *testing.T) {
	m := newModel(t, 4, 2)
	// 0 has a rhythm of one task every 10 s; 1 was seen once; 2 never.
	for i := int64(0); i < 10; i++ {
		m.Access(0, i*10e9, 0.3)
	}
	m.Access(1, 95e9, 0.3)
	now := int64(150e9)
	if keep, _ := m.Keep(2, now, 0.3); keep {
		t.Error("a specialist never asked for is kept")
	}
	keep, next := m.Keep(0, now, 0.3)
	if !keep {
		t.Fatal("a specialist with a 10 s rhythm, 60 s overdue, within a 45 s horizon is cooled")
	}
	if next <= now {
		t.Errorf("next look at %d, want after now", next)
	}
	if keep, _ := m.Keep(0, now, 1); keep {
		t.Error("threshold 1 keeps")
	}
	// Long overdue: its expected gap is half the time since, far past the horizon.
	if keep, _ := m.Keep(0, 3600e9, 0.3); keep {
		t.Error("a specialist an hour overdue is kept")
	}
}

// Shrinking the capacity below what is held evicts down to it in every
// expert, whatever their lists hold (an empty list once made the gap rule
// read before its first member).
func TestSetMaxWarmShrinks(t *testing.T) {
	m := newModel(t, 6, 4)
	for _, k := range []int32{0, 1, 2, 3} {
		m.Access(k, 0, 1)
		m.Access(k, 1e9, 1) // seen twice: the gap rule's list of once-seen is empty
		m.Admit(k)
	}
	m.SetMaxWarm(1)
	held := 0
	for k := range int32(6) {
		if m.LeaderHolds(k) {
			held++
		}
	}
	if held != 1 {
		t.Errorf("leader holds %d after SetMaxWarm(1)", held)
	}
	if v := m.Victims(nil, 8, func(int32) bool { return true }); len(v) != 4 {
		t.Errorf("victims %v, want the 4 the pool still holds", v)
	}
}

// TestGapEvictsTheFurthestExactly checks the gap rule's heap-and-lists
// choice against a scan of every member on a random workload.
func TestGapEvictsTheFurthestExactly(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n, c = 200, 20
	m := newModel(t, n, c)
	g := m.experts[2].(*gap)
	now := int64(0)
	for step := range 20000 {
		now += int64(r.IntN(5e9))
		k := int32(r.IntN(n))
		if r.IntN(3) == 0 {
			k = int32(r.IntN(10)) // a few hot ones, so gaps differ
		}
		m.now = now
		m.st.note(k, now)
		if !g.contains(k) && g.n >= c {
			want, wantEst := none, -1.0
			for v := range int32(n) {
				if g.contains(v) {
					if est := m.st.expectedGap(v, now); est > wantEst {
						want, wantEst = v, est
					}
				}
			}
			if got := g.victim(none); m.st.expectedGap(got, now) != wantEst {
				t.Fatalf("step %d: victim %d (%.3f s), the furthest is %d (%.3f s)", step, got, m.st.expectedGap(got, now), want, wantEst)
			}
		}
		g.access(k)
	}
}
