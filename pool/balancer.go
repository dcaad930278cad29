package pool

import "time"

// Candidate describes a specialist to a Balancer.
type Candidate struct {
	ID         string
	Department string
	State      State
	// Inflight is the number of tasks it is executing.
	Inflight int
	// Score is its decayed usage score (0–1).
	Score float64
	// Value is what keeping it warm is worth: the expected cold-start time it
	// saves per byte, in the pool's units (higher is more valuable).
	Value float64
	// DepartmentWarm is how many of its department's specialists are warm.
	DepartmentWarm int
	// DepartmentIdle is how long ago its department last had a task.
	DepartmentIdle time.Duration
	// LastUsed is when it last finished a task or started (zero if never).
	LastUsed time.Time
	// DepartmentSlots is its department's fair share of the warm slots:
	// the warm cap times the department's share of all tasks so far.
	DepartmentSlots float64
}

// Balancer chooses within a department and keeps departments from starving.
//
// Pick returns the index of the candidate that serves a task naming only a
// department. Candidates are at most 8 of that department's specialists,
// never empty: those in the warm set first (a window that rotates from task
// to task), then others; so a Pick costs O(1) however large the department.
//
// Victim returns the index of the idle warm specialist to cool to make room.
// Candidates are at most 8 idle warm specialists, never empty, in the order
// the pool's policy would evict them (the first is its choice); a Balancer
// overrides that only to protect something, such as a department.
//
// A panic in either is recovered, counted in Stats.CallbackPanics and
// logged; the pool then takes the default's pick, or the policy's first
// victim. Neither may block or call into the pool.
type Balancer interface {
	Pick(department string, candidates []Candidate) int
	Victim(candidates []Candidate) int
}

// DepartmentBalancer is the default Balancer.
//
// Pick prefers an idle warm specialist, then the least busy active one, then
// one already warming, then the cold one with the highest score; ties go to
// the higher score.
//
// Victim cools the policy's first choice. With Protect set, it spares the
// last warm specialist of a department that had a task within Protect and
// whose share of the work earns it at least one warm slot, while any other
// candidate exists: a burst in one department cannot cool every other
// department that matters (a department with a sliver of the work gets no
// reserved slot — that would take slots from the busy ones).
type DepartmentBalancer struct {
	Protect time.Duration
}

func pickRank(c Candidate) int {
	switch c.State {
	case StateWarm:
		return 0
	case StateActive:
		return 1
	case StateWarming:
		return 2
	}
	return 3
}

// Pick implements Balancer.
func (b DepartmentBalancer) Pick(_ string, cands []Candidate) int {
	best := 0
	for i := 1; i < len(cands); i++ {
		c, o := cands[i], cands[best]
		rc, ro := pickRank(c), pickRank(o)
		switch {
		case rc != ro:
			if rc < ro {
				best = i
			}
		case c.State == StateActive && c.Inflight != o.Inflight:
			if c.Inflight < o.Inflight {
				best = i
			}
		case c.Score > o.Score:
			best = i
		}
	}
	return best
}

// Victim implements Balancer.
func (b DepartmentBalancer) Victim(cands []Candidate) int {
	for i, c := range cands {
		protected := b.Protect > 0 && c.DepartmentWarm <= 1 && c.DepartmentIdle < b.Protect && c.DepartmentSlots >= 1
		if !protected {
			return i
		}
	}
	return 0
}
