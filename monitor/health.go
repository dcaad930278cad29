package monitor

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"
)

// HealthPath is where the seed mounts the health endpoint.
const HealthPath = "/health/intelligent-pooling"

// Status is the health verdict.
type Status string

// Statuses. The endpoint answers 200 for HEALTHY and DEGRADED, 503 for
// CRITICAL.
const (
	StatusHealthy  Status = "HEALTHY"
	StatusDegraded Status = "DEGRADED"
	StatusCritical Status = "CRITICAL"
)

// Score bounds of the statuses: HEALTHY at or above HealthyScore (and no
// critical alert firing), CRITICAL below CriticalScore (the seed's
// automatic-rollback trigger, "health score falls below 60"), DEGRADED in
// between.
const (
	HealthyScore  = 80.0
	CriticalScore = 60.0
)

// HealthWeights weighs the health score's components. Each component
// scores 1 at or better than the seed's target and 0 at or past its alert
// threshold, linearly in between:
//
//	component          1 at (target)   0 at (alert)    measured
//	ErrorRate          ≤ 2 %           ≥ 10 %          over the health window
//	ResponseTime       ≤ 2 500 ms      ≥ 5 000 ms      over the health window
//	WarmHitRate        ≥ 60 %          ≤ 40 %          over the health window
//	MemoryUsage        ≤ 80 %          ≥ 90 %          latest sample
//	MemoryEfficiency   ≥ 70 %          ≤ 20 %          latest sample
//	QueueDepth         ≤ 10            ≥ 25            latest sample
//
// The score is 100 × Σ weight·component / Σ weight over the components
// that have data (no bridge: no response time; no tasks in the window: no
// hit rate …); with none, 100.
type HealthWeights struct {
	ErrorRate        float64 `json:"errorRate"`
	ResponseTime     float64 `json:"responseTime"`
	WarmHitRate      float64 `json:"warmHitRate"`
	MemoryUsage      float64 `json:"memoryUsage"`
	MemoryEfficiency float64 `json:"memoryEfficiency"`
	QueueDepth       float64 `json:"queueDepth"`
}

// DefaultHealthWeights: errors 30, response time 20, warm hit rate 20,
// memory usage 10, memory efficiency 10, queue depth 10.
func DefaultHealthWeights() HealthWeights {
	return HealthWeights{ErrorRate: 30, ResponseTime: 20, WarmHitRate: 20, MemoryUsage: 10, MemoryEfficiency: 10, QueueDepth: 10}
}

func (w HealthWeights) list() [6]float64 {
	return [6]float64{w.ErrorRate, w.ResponseTime, w.WarmHitRate, w.MemoryUsage, w.MemoryEfficiency, w.QueueDepth}
}

func (w HealthWeights) validate() error {
	var sum float64
	for i, x := range w.list() {
		if !(x >= 0) || math.IsInf(x, 0) {
			return invalid("health weight "+componentSpecs[i].name, x, "a finite number ≥ 0")
		}
		sum += x
	}
	if !(sum > 0) {
		return invalid("health weights sum", sum, "> 0")
	}
	return nil
}

type componentSpec struct {
	name      string
	metric    int
	good, bad float64
	window    bool // measured over the health window, else the latest sample
}

var componentSpecs = [6]componentSpec{
	{"errorRate", idErrorRate, 0.02, 0.10, true},
	{"responseTime", idResponseTime, 2500, 5000, true},
	{"warmHitRate", idWarmHitRate, 0.60, 0.40, true},
	{"memoryUsage", idMemoryUsage, 0.80, 0.90, false},
	{"memoryEfficiency", idMemoryEfficiency, 0.70, 0.20, false},
	{"queueDepth", idQueueDepth, 10, 25, false},
}

// Component is one term of the health score.
type Component struct {
	Name string `json:"name"`
	// Value is the measured figure (ratio, ms or tasks); Score its 0–1
	// score; HasData false when there was nothing to measure (then it does
	// not count).
	Value   float64 `json:"value"`
	Score   float64 `json:"score"`
	Weight  float64 `json:"weight"`
	HasData bool    `json:"hasData"`
}

func componentScore(v, good, bad float64) float64 {
	if good < bad { // lower is better
		switch {
		case v <= good:
			return 1
		case v >= bad:
			return 0
		}
		return (bad - v) / (bad - good)
	}
	switch {
	case v >= good:
		return 1
	case v <= bad:
		return 0
	}
	return (v - bad) / (good - bad)
}

// Health is the monitor's verdict. Its JSON encoding is exactly the seed's
// health response; Score and Components are for Go callers only.
type Health struct {
	Status      Status            `json:"status"`
	Uptime      int64             `json:"uptime"` // ms since New
	Specialists SpecialistsHealth `json:"specialists"`
	Performance PerformanceHealth `json:"performance"`
	Memory      MemoryHealth      `json:"memory"`
	// Alerts is the number of critical and warning alerts firing now.
	// Info alerts (workflow detected, excellent efficiency …) are news,
	// not trouble: they are in Monitor.Alerts, not counted here.
	Alerts    int    `json:"alerts"`
	LastCheck string `json:"lastCheck"`

	// Score is the 0–100 health score; Components its terms.
	Score      float64     `json:"-"`
	Components []Component `json:"-"`
}

// SpecialistsHealth is the seed's "specialists" object.
type SpecialistsHealth struct {
	Warm        int     `json:"warm"`
	Total       int     `json:"total"`
	Utilization float64 `json:"utilization"` // warm / total, 0–1
}

// PerformanceHealth is the seed's "performance" object.
type PerformanceHealth struct {
	// AverageResponseTime is the intelligent path's mean latency over the
	// health window, in ms (0 without calls).
	AverageResponseTime float64 `json:"averageResponseTime"`
	// WarmHitRate is warm hits / tasks over the health window, 0–1.
	WarmHitRate float64 `json:"warmHitRate"`
	QueueDepth  int     `json:"queueDepth"`
}

// MemoryHealth is the seed's "memory" object: MB of 2^20 bytes, efficiency
// in percent.
type MemoryHealth struct {
	Current    float64 `json:"current"`
	Saved      float64 `json:"saved"`
	Efficiency float64 `json:"efficiency"`
}

func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}

// Health returns the verdict from the latest sample, the health window and
// the alerts firing now. Before the first sample it measures the sources
// as they are (without storing a sample).
func (m *Monitor) Health() Health {
	m.mu.RLock()
	has := !m.latest.IsZero()
	m.mu.RUnlock()
	var peek *Sample
	if !has {
		s := m.peek()
		peek = &s
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.healthLocked(m.clk.Now(), peek)
}

// HealthScore returns Health().Score: 0–100.
func (m *Monitor) HealthScore() float64 { return m.Health().Score }

// healthLocked computes the verdict; m.mu is held (read). peek is the
// sample to use when none was stored.
func (m *Monitor) healthLocked(now time.Time, peek *Sample) Health {
	latest := m.latest
	var win *agg
	if peek != nil {
		latest = *peek
		win = &agg{keep: -1}
		win.touch(int64(latest.Interval))
		for id := range numMetrics {
			if latest.present(id) {
				win.addEntry(latest.Time.UnixNano(), 1, id, latest.v[id], latest.v[id], latest.v[id])
			}
		}
	} else {
		to := latest.Time.UnixNano()
		win = m.store.collect(to-int64(m.cfg.healthWindow), to, m.cfg.interval, -1)
	}
	h := Health{
		Uptime:    now.Sub(m.start).Milliseconds(),
		LastCheck: latest.Time.UTC().Format(time.RFC3339),
	}
	h.Specialists.Warm = int(latest.v[idWarm])
	h.Specialists.Total = int(latest.v[idSpecialists])
	if h.Specialists.Total > 0 {
		h.Specialists.Utilization = round(float64(h.Specialists.Warm)/float64(h.Specialists.Total), 3)
	}
	if v, ok := win.value(idResponseTime); ok {
		h.Performance.AverageResponseTime = round(v, 1)
	}
	if v, ok := win.value(idWarmHitRate); ok {
		h.Performance.WarmHitRate = round(v, 3)
	}
	h.Performance.QueueDepth = int(latest.v[idQueueDepth])
	h.Memory.Current = round(mb(latest.v[idMemoryCurrent]), 1)
	h.Memory.Saved = round(mb(latest.v[idMemorySaved]), 1)
	h.Memory.Efficiency = round(100*latest.v[idMemoryEfficiency], 1)

	weights := m.cfg.weights.list()
	var sum, wsum float64
	for i, cs := range componentSpecs {
		c := Component{Name: cs.name, Weight: weights[i]}
		if cs.window {
			c.Value, c.HasData = win.value(cs.metric)
		} else {
			c.Value, c.HasData = latest.v[cs.metric], latest.present(cs.metric)
		}
		if c.HasData {
			c.Score = componentScore(c.Value, cs.good, cs.bad)
			sum += c.Weight * c.Score
			wsum += c.Weight
		}
		h.Components = append(h.Components, c)
	}
	h.Score = 100
	if wsum > 0 {
		h.Score = round(100*sum/wsum, 1)
	}
	var critical bool
	_, h.Alerts, critical = m.firingLocked()
	switch {
	case h.Score < CriticalScore:
		h.Status = StatusCritical
	case h.Score < HealthyScore || critical:
		h.Status = StatusDegraded
	default:
		h.Status = StatusHealthy
	}
	return h
}

// Handler serves the health endpoint (mount it at HealthPath): GET or HEAD
// answers the Health JSON with status 200 when HEALTHY or DEGRADED and 503
// when CRITICAL; other methods get 405 with an Allow header.
func (m *Monitor) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, fmt.Sprintf("method %s not allowed", r.Method), http.StatusMethodNotAllowed)
			return
		}
		h := m.Health()
		body, err := json.MarshalIndent(h, "", "  ")
		if err != nil { // cannot happen: plain numbers and strings
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		code := http.StatusOK
		if h.Status == StatusCritical {
			code = http.StatusServiceUnavailable
		}
		w.WriteHeader(code)
		if r.Method == http.MethodGet {
			_, _ = w.Write(append(body, '\n'))
		}
	})
}
