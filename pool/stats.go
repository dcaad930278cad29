package pool

import (
	"slices"
	"time"
)

// Stats is a snapshot of the pool, computed from counted events and the
// instances' sizes at the time of the call.
type Stats struct {
	// Specialists by state: Specialists = Warm + Active + Warming + Cooling
	// + Cold + Errored. Warm + Active + Warming + Cooling is the number of
	// instances resident (a start holds its slot from the moment it begins;
	// a cooling instance until its Close returns): at most MaxWarm, unless
	// SetMaxWarm just lowered the cap and busy specialists have yet to go.
	Specialists, Warm, Active, Warming, Cooling, Cold, Errored int
	// MaxWarm is the warm cap in force.
	MaxWarm int

	// Tasks accepted (rejected ones are counted in Rejected only).
	Tasks uint64
	// WarmHits found their specialist warm; Misses waited for a start.
	WarmHits, Misses uint64
	// ColdStarts are starts begun because a task needed the specialist
	// (or, after WithRestore, to warm the snapshot's warm set again);
	// Prewarms are starts begun because the Predictor expected it.
	ColdStarts, Prewarms uint64
	// StartFailures counts starts that failed or panicked.
	StartFailures uint64
	// TaskErrors counts tasks that returned an error (panics included, and
	// failed starts they waited for); Panics counts Execute panics
	// recovered. A task ended by its caller's own context (cancelled or past
	// its deadline, whatever the instance then answered, unless it
	// panicked) is not an error: it is counted in Canceled, as is a task
	// whose context had ended before Execute was called (that one, like a
	// rejected one, is not in Tasks). So Tasks = WarmHits + Misses, and
	// every Execute of a routable task is one of: succeeded, TaskErrors,
	// Canceled, Rejected.
	TaskErrors, Panics, Canceled uint64
	// StartPanics counts Spec.Start panics recovered (also counted in
	// StartFailures); ClosePanics counts Instance.Close panics recovered.
	// Each is logged at error.
	StartPanics, ClosePanics uint64
	// Rejected counts tasks refused with ErrQueueFull.
	Rejected uint64
	// Evictions counts specialists cooled to make room; Cooled counts every
	// instance closed (cooldown, eviction, Close).
	Evictions, Cooled uint64
	// WarmHitRate is WarmHits / Tasks.
	WarmHitRate float64

	// PrewarmsUsed served a task before they cooled (PrewarmsLate of them
	// only after the task had to wait for the start to finish);
	// PrewarmsWasted cooled unused.
	PrewarmsUsed, PrewarmsLate, PrewarmsWasted uint64
	// PrewarmsDeclined counts predictions not acted on because making room
	// would have cost more than they promised.
	PrewarmsDeclined uint64
	// PredictionAccuracy is PrewarmsUsed / (PrewarmsUsed + PrewarmsWasted):
	// the share of decided pre-warms that were used before they cooled.
	PredictionAccuracy float64

	// ObservationsDropped counts tasks the Predictor never saw: the task
	// buffer was full while another drain held it, or a Predictor too slow
	// to keep up had 16 384 tasks waiting for it.
	ObservationsDropped uint64
	// CallbackPanics counts panics recovered from host code the pool
	// calls: the observer, the Predictor (Observe, WorkflowStats), the
	// Balancer, the Warmer and Sizer (each also logged at error). Panics
	// of the specialists themselves are Panics, StartPanics and
	// ClosePanics.
	CallbackPanics uint64

	// Workflows is what the Predictor's workflow detector reports (zero if
	// it has none); WorkflowDetectionRate is its Recognised / Seen.
	Workflows             WorkflowStats
	WorkflowDetectionRate float64

	// QueueDepth is the number of tasks waiting for a start now.
	QueueDepth int

	// MemoryCurrent is the bytes held by resident instances — warm, active
	// and cooling (Sizer if implemented, else Spec.Memory; the bytes a
	// warming one reserved are not included); MemoryBaseline what all specialists
	// would hold warm (each one's last measured size, else Spec.Memory);
	// MemorySaved their difference; MemoryEfficiency MemorySaved /
	// MemoryBaseline.
	MemoryCurrent, MemoryBaseline, MemorySaved int64
	MemoryEfficiency                           float64

	// WarmThreshold in force and how many times adaptive scaling moved it.
	WarmThreshold        float64
	ThresholdAdjustments uint64
	// AverageStart is the mean duration of successful starts.
	AverageStart time.Duration

	// Departments by name.
	Departments map[string]DepartmentStats
}

// DepartmentStats is the per-department part of Stats.
type DepartmentStats struct {
	Specialists, Warm, Active, Warming, Cooling int
	// Cold includes the specialists in error.
	Cold                                          int
	Tasks, WarmHits, Misses, ColdStarts, Prewarms uint64
	WarmHitRate                                   float64
	MemoryCurrent, MemoryBaseline                 int64
}

// SpecialistInfo is one specialist's exported state (the seed's "export
// specialist state").
type SpecialistInfo struct {
	ID            string    `json:"id"`
	Department    string    `json:"department"`
	Priority      string    `json:"priority"`
	State         State     `json:"state"`
	Score         float64   `json:"score"`
	LastUsed      time.Time `json:"lastUsed,omitzero"`
	WarmSince     time.Time `json:"warmSince,omitzero"`
	Inflight      int       `json:"inflight"`
	Waiting       int       `json:"waiting"`
	Memory        int64     `json:"memory"`
	Tasks         uint64    `json:"tasks"`
	WarmHits      uint64    `json:"warmHits"`
	Misses        uint64    `json:"misses"`
	ColdStarts    uint64    `json:"coldStarts"`
	Prewarms      uint64    `json:"prewarms"`
	StartFailures uint64    `json:"startFailures"`
	TaskErrors    uint64    `json:"taskErrors"`
	Canceled      uint64    `json:"canceled"`
	// WaitingForSlot: its start waits for a warm slot, every one being
	// held by a busy specialist.
	WaitingForSlot bool   `json:"waitingForSlot,omitempty"`
	LastError      string `json:"lastError,omitempty"`
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Stats returns a snapshot. Maintenance due at the clock's current time
// (cooling idle specialists) is applied first, so the snapshot never lags the
// clock; a cooling it does runs that instance's Close on the caller's
// goroutine, as Maintain does (the pool's own goroutine usually has). The specialists' states, counts and memory are read under the
// pool's slot lock: one view of the warm set (see Specialists).
func (p *Pool) Stats() Stats {
	p.maintain(p.clk.Now().UnixNano())
	st := Stats{
		Specialists:          len(p.list),
		Rejected:             p.rejected.Load(),
		Evictions:            p.evictions.Load(),
		Cooled:               p.cooled.Load(),
		PrewarmsWasted:       p.wasted.Load(),
		PrewarmsDeclined:     p.declined.Load(),
		ObservationsDropped:  p.buf.dropped.Load() + p.predDropped.Load(),
		CallbackPanics:       p.hookPanics.Load(),
		StartPanics:          p.startPanics.Load(),
		Canceled:             p.canceledEarly.Load(),
		ClosePanics:          p.closePanics.Load(),
		QueueDepth:           int(p.queued.Load()),
		WarmThreshold:        p.WarmThreshold(),
		ThresholdAdjustments: p.adjustments.Load(),
		Departments:          make(map[string]DepartmentStats, len(p.depts)),
	}
	if n := p.startCount.Load(); n > 0 {
		st.AverageStart = time.Duration(p.startNanos.Load() / n)
	}
	// Holding the warm-set lock makes the warm, active and warming counts one
	// consistent view: together they are the warm set, never above the cap.
	p.mu.Lock()
	defer p.mu.Unlock()
	st.MaxWarm = p.maxWarm
	for _, name := range p.deptNames {
		var ds DepartmentStats
		for _, s := range p.depts[name].members {
			s.mu.Lock()
			ds.Specialists++
			switch s.state {
			case StateWarm:
				ds.Warm++
				st.Warm++
			case StateActive:
				ds.Active++
				st.Active++
			case StateWarming:
				ds.Warming++
				st.Warming++
			case StateCooling:
				st.Cooling++
				ds.Cooling++
			case StateError:
				st.Errored++
				ds.Cold++
			default:
				st.Cold++
				ds.Cold++
			}
			ds.MemoryCurrent += p.residentBytesLocked(s)
			ds.MemoryBaseline += s.knownMem
			ds.Tasks += s.tasks
			ds.WarmHits += s.hits
			ds.Misses += s.misses
			ds.ColdStarts += s.coldStarts
			ds.Prewarms += s.prewarms
			st.StartFailures += s.startFailures
			st.TaskErrors += s.failures
			st.Canceled += s.canceled
			st.Panics += s.panics
			st.PrewarmsUsed += s.prewarmsUsed
			st.PrewarmsLate += s.prewarmsLate
			s.mu.Unlock()
		}
		ds.WarmHitRate = ratio(ds.WarmHits, ds.Tasks)
		st.Departments[name] = ds
		st.Tasks += ds.Tasks
		st.WarmHits += ds.WarmHits
		st.Misses += ds.Misses
		st.ColdStarts += ds.ColdStarts
		st.Prewarms += ds.Prewarms
		st.MemoryCurrent += ds.MemoryCurrent
		st.MemoryBaseline += ds.MemoryBaseline
	}
	st.WarmHitRate = ratio(st.WarmHits, st.Tasks)
	st.PredictionAccuracy = ratio(st.PrewarmsUsed, st.PrewarmsUsed+st.PrewarmsWasted)
	if p.workflows != nil {
		st.Workflows = p.workflowStats()
		st.WorkflowDetectionRate = st.Workflows.DetectionRate()
	}
	st.MemorySaved = st.MemoryBaseline - st.MemoryCurrent
	if st.MemoryBaseline > 0 {
		st.MemoryEfficiency = float64(st.MemorySaved) / float64(st.MemoryBaseline)
	}
	return st
}

// Specialists exports every specialist's state, in the order of the specs
// given to New. Like Stats, each call is one consistent view of the warm
// set: every specialist is read while the pool's slot lock is held, so no
// slot is taken or given back meanwhile, and the specialists warming, warm,
// active or cooling are never more than the warm cap, nor their Memory
// (which includes a cooling instance's) more than the budget — unless
// SetMaxWarm just lowered the cap. Summed over the export, the per
// specialist counts equal Stats' when no task runs between the two calls;
// two calls are two moments. Scores are read just before, after every task
// so far and the maintenance due at the clock's time.
func (p *Pool) Specialists() []SpecialistInfo {
	nowN := p.clk.Now().UnixNano()
	p.maintain(nowN) // what is due now is done: the export never lags the clock
	out := make([]SpecialistInfo, len(p.list))
	p.polMu.Lock()
	for i, s := range p.list {
		out[i].Score = p.model.Score(s.idx, nowN)
	}
	p.polMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, s := range p.list {
		s.mu.Lock()
		info := SpecialistInfo{
			ID: s.spec.ID, Department: s.spec.Department, Priority: s.spec.Priority.String(),
			State: s.state, Score: out[i].Score, Inflight: s.inflight, Waiting: s.waiting,
			Tasks: s.tasks, WarmHits: s.hits, Misses: s.misses, ColdStarts: s.coldStarts,
			Prewarms: s.prewarms, StartFailures: s.startFailures, TaskErrors: s.failures,
			Canceled: s.canceled, Memory: p.residentBytesLocked(s), WaitingForSlot: s.noSlot.Load(),
		}
		if s.spec.Priority == PriorityUnset {
			info.Priority = PriorityMedium.String()
		}
		if s.tasks > 0 || s.inst != nil {
			info.LastUsed = time.Unix(0, s.lastUsed).UTC()
		}
		if s.state == StateWarm || s.state == StateActive {
			info.WarmSince = time.Unix(0, s.warmedAt).UTC()
		}
		if s.lastErr != nil {
			info.LastError = s.lastErr.Error()
		}
		s.mu.Unlock()
		out[i] = info
	}
	return out
}

// Departments returns the departments' names, sorted.
func (p *Pool) Departments() []string { return slices.Clone(p.deptNames) }

// residentBytesLocked is what s's instance holds while warm, active or
// cooling: its Sizer's figure while it is live (a panic there is
// recovered, counted and logged, and the size last measured stands in),
// else the size measured at its start. Under s.mu.
func (p *Pool) residentBytesLocked(s *specialist) int64 {
	switch s.state {
	case StateWarm, StateActive:
		if s.inst != nil {
			return p.sizeOf(s.mem, s.inst)
		}
	case StateCooling:
		return s.mem
	}
	return 0
}

// workflowStats asks the Predictor's workflow detector, recovering a panic
// (counted and logged): the figures are then zero.
func (p *Pool) workflowStats() (w WorkflowStats) {
	defer func() {
		if r := recover(); r != nil {
			p.hookPanicked("WorkflowReporter.WorkflowStats", r)
			w = WorkflowStats{}
		}
	}()
	return p.workflows.WorkflowStats()
}
