package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bumba/pooling/monitor"
	"github.com/bumba/pooling/rollback"
)

func (h *Handler) table() []route {
	g := func(path, needs, summary string, fn func(http.ResponseWriter, *http.Request, string)) route {
		return route{Route: Route{Method: http.MethodGet, Path: Base + path, Summary: summary}, needs: needs, fn: fn}
	}
	p := func(path, needs, summary string, fn func(http.ResponseWriter, *http.Request, string)) route {
		return route{Route: Route{Method: http.MethodPost, Path: Base + path, Mutating: true, Summary: summary}, needs: needs, fn: fn}
	}
	return []route{
		g("/status", "", "mode, percentage, step, soak, gate, health, firing alerts, latest rollback, replica, uptime, partitioned", h.getStatus),
		g("/health", "monitor", "the seed's health JSON plus score and components", h.getHealth),
		g("/bridge", "bridge", "bridge statistics", h.getBridge),
		g("/pool", "pool", "pool statistics", h.getPool),
		g("/specialists", "pool", "every specialist's state (export-specialist-state)", h.getSpecialists),
		g("/rollout", "rollout", "the rollout's step, soak, gate and plan", h.getRollout),
		g("/rollout/decisions", "rollout", "the rollout's recorded decisions", h.getDecisions),
		g("/rollbacks", "rollbacks", "every kept rollback record", h.getRollbacks),
		g("/rollbacks/{id}", "rollbacks", "one rollback record", h.getRollback),
		g("/rollbacks/{id}/analysis", "rollbacks", "one rollback's analysis (JSON, or text with ?format=text)", h.getAnalysis),
		g("/triggers", "rollbacks", "the rollback triggers at the last check", h.getTriggers),
		g("/alerts", "monitor", "pending and firing alerts", h.getAlerts),
		g("/alerts/history", "monitor", "fired alerts", h.getAlertHistory),
		g("/report", "monitor", "the period report (?period=1h, &format=text)", h.getReport),
		g("/metrics", "monitor", "the metrics a query can name", h.getMetrics),
		g("/metrics/{name}", "monitor", "one metric summarised over a period (?period=1h or &from=&to=)", h.getMetric),
		g("/actions", "", "the audit record of admin actions", h.getActions),
		g("/routes", "", "this table", h.getRoutes),
		g("/events", "", "server-sent events: hello, sample, alert, transition, decision, rollback, action", h.getEvents),
		p("/mode", "bridge", `set the bridge's mode {"mode", "reason"}`, h.postMode),
		p("/percentage", "bridge", `set the hybrid percentage {"percentage": 0-100, "reason"}`, h.postPercentage),
		p("/rollout/advance", "rollout", `advance to the next step {"reason"}`, h.postAdvance),
		p("/rollout/hold", "rollout", `hold the rollout {"reason"}`, h.postHold),
		p("/rollout/resume", "rollout", `resume a held or rolled back rollout {"reason"}`, h.postResume),
		p("/rollout/step", "rollout", `set the step {"step", "reason"}`, h.postStep),
		p("/rollbacks/emergency", "rollbacks", `emergency rollback to legacy {"reason", "confirm"}`, h.postEmergency),
		p("/rollbacks/planned", "rollbacks", `planned, gradual rollback {"reason", "confirm"}`, h.postPlanned),
	}
}

func (h *Handler) getRoutes(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, http.StatusOK, map[string]any{"routes": Routes()})
}

// Snapshot returns what GET /admin/v1/status answers.
func (h *Handler) Snapshot() Status {
	c := &h.cfg
	now := c.clock.Now()
	st := Status{Replica: c.replica, Now: now, StartedAt: c.started, UptimeMs: now.Sub(c.started).Milliseconds(), Alerts: []AlertSummary{}}
	if c.bridge != nil {
		st.Mode = modeName(c.bridge.Mode())
		st.Percentage = c.bridge.Percentage()
	}
	if c.rollout != nil {
		st.Rollout = rolloutStatus(c.rollout.Status())
	}
	if c.monitor != nil {
		hl := c.monitor.Health()
		st.Health = &HealthSummary{Status: string(hl.Status), Score: finite(hl.Score), Alerts: hl.Alerts}
		st.Alerts = alertSummaries(c.monitor.Alerts())
	}
	if c.rollbacks != nil {
		if l := c.rollbacks.Latest(); l.ID != "" {
			st.Rollback = &RollbackSummary{ID: l.ID, At: l.At, Reason: l.Reason, Trigger: l.Trigger, InProgress: l.InProgress}
		}
	}
	if c.pool != nil {
		ps := c.pool.Stats()
		st.Pool = &PoolSummary{Specialists: ps.Specialists, Warm: ps.Warm + ps.Active, MaxWarm: ps.MaxWarm,
			WarmHitRate: finite(ps.WarmHitRate), MemoryEfficiency: finite(ps.MemoryEfficiency), QueueDepth: ps.QueueDepth}
	}
	if c.fleet != nil {
		st.Fleet = &FleetReport{Replica: c.fleet.Replica(), Leader: c.fleet.Leader(), Partitioned: c.fleet.Partitioned()}
		st.Partitioned = st.Fleet.Partitioned
		if st.Replica == "" {
			st.Replica = st.Fleet.Replica
		}
	}
	return st
}

func (h *Handler) getStatus(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, http.StatusOK, h.Snapshot())
}

func (h *Handler) getHealth(w http.ResponseWriter, _ *http.Request, _ string) {
	hl := h.cfg.monitor.Health()
	comps := hl.Components
	if comps == nil {
		comps = []monitor.Component{}
	}
	for i := range comps {
		comps[i].Value, comps[i].Score = finite(comps[i].Value), finite(comps[i].Score)
	}
	writeJSON(w, http.StatusOK, HealthReport{Health: hl, Score: finite(hl.Score), Components: comps})
}

func (h *Handler) getBridge(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, http.StatusOK, h.cfg.bridge.Stats())
}

func (h *Handler) getPool(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, http.StatusOK, poolStats(h.cfg.pool.Stats()))
}

// SpecialistsExport is GET /admin/v1/specialists.
type SpecialistsExport struct {
	At          time.Time `json:"at"`
	Specialists any       `json:"specialists"`
}

func (h *Handler) getSpecialists(w http.ResponseWriter, _ *http.Request, _ string) {
	sp := h.cfg.pool.Specialists()
	var v any = sp
	if sp == nil {
		v = []struct{}{}
	}
	writeJSON(w, http.StatusOK, SpecialistsExport{At: h.cfg.clock.Now(), Specialists: v})
}

func (h *Handler) getRollout(w http.ResponseWriter, _ *http.Request, _ string) {
	rs := rolloutStatus(h.cfg.rollout.Status())
	rs.PlanSteps = planSteps(h.cfg.rollout.Plan())
	writeJSON(w, http.StatusOK, rs)
}

func (h *Handler) getDecisions(w http.ResponseWriter, r *http.Request, _ string) {
	n, err := queryLimit(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"decisions": lastN(h.cfg.rollout.History(), n)})
}

func (h *Handler) getRollbacks(w http.ResponseWriter, r *http.Request, _ string) {
	n, err := queryLimit(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"rollbacks": lastN(h.cfg.rollbacks.History(), n)})
}

func rollbackErr(w http.ResponseWriter, id string, err error) {
	if errors.Is(err, rollback.ErrUnknownRollback) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown rollback id %q", id))
		return
	}
	writeError(w, http.StatusInternalServerError, err.Error())
}

func (h *Handler) getRollback(w http.ResponseWriter, r *http.Request, _ string) {
	id := r.PathValue("id")
	rec, err := h.cfg.rollbacks.Get(id)
	if err != nil {
		rollbackErr(w, id, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

func wantsText(r *http.Request) bool {
	switch r.URL.Query().Get("format") {
	case "text":
		return true
	case "json":
		return false
	}
	return strings.HasPrefix(r.Header.Get("Accept"), "text/plain")
}

func badFormat(w http.ResponseWriter, r *http.Request) bool {
	if f := r.URL.Query().Get("format"); f != "" && f != "text" && f != "json" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("format %q is not json or text", f))
		return true
	}
	return false
}

func (h *Handler) getAnalysis(w http.ResponseWriter, r *http.Request, _ string) {
	if badFormat(w, r) {
		return
	}
	id := r.PathValue("id")
	a, err := h.cfg.rollbacks.Analyze(id)
	if err != nil {
		rollbackErr(w, id, err)
		return
	}
	if wantsText(r) {
		writeText(w, a.Text())
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (h *Handler) getTriggers(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, http.StatusOK, map[string]any{"triggers": lastN(h.cfg.rollbacks.Triggers(), 0)})
}

func (h *Handler) getAlerts(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, http.StatusOK, map[string]any{"alerts": lastN(h.cfg.monitor.Alerts(), 0)})
}

func (h *Handler) getAlertHistory(w http.ResponseWriter, r *http.Request, _ string) {
	n, err := queryLimit(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": lastN(h.cfg.monitor.AlertHistory(), n)})
}

func (h *Handler) getReport(w http.ResponseWriter, r *http.Request, _ string) {
	if badFormat(w, r) {
		return
	}
	d, err := parsePeriod(r.URL.Query().Get("period"), DefaultReportPeriod)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rep := h.cfg.monitor.Report(d)
	if wantsText(r) {
		writeText(w, rep.String())
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (h *Handler) getMetrics(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, http.StatusOK, map[string]any{"metrics": monitor.Metrics()})
}

func (h *Handler) getMetric(w http.ResponseWriter, r *http.Request, _ string) {
	name := monitor.Metric(r.PathValue("name"))
	if !name.Valid() {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown metric %q (see GET %s/metrics)", name, Base))
		return
	}
	q := r.URL.Query()
	to := h.cfg.clock.Now()
	var from time.Time
	if q.Get("from") != "" || q.Get("to") != "" {
		if q.Get("period") != "" {
			writeError(w, http.StatusBadRequest, "give either period or from/to, not both")
			return
		}
		var err error
		if s := q.Get("to"); s != "" {
			if to, err = time.Parse(time.RFC3339, s); err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("to %q is not an RFC 3339 time", s))
				return
			}
		}
		s := q.Get("from")
		if s == "" {
			writeError(w, http.StatusBadRequest, "from is required with to")
			return
		}
		if from, err = time.Parse(time.RFC3339, s); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("from %q is not an RFC 3339 time", s))
			return
		}
		if from.After(to) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("from %s is after to %s", from.Format(time.RFC3339), to.Format(time.RFC3339)))
			return
		}
	} else {
		d, err := parsePeriod(q.Get("period"), DefaultReportPeriod)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		from = to.Add(-d)
	}
	sum, err := h.cfg.monitor.Query(name, from, to)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	sum.Avg, sum.Min, sum.Max, sum.P95, sum.Rate, sum.Sum = finite(sum.Avg), finite(sum.Min), finite(sum.Max), finite(sum.P95), finite(sum.Rate), finite(sum.Sum)
	writeJSON(w, http.StatusOK, sum)
}

func (h *Handler) getActions(w http.ResponseWriter, r *http.Request, _ string) {
	n, err := queryLimit(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"actions": lastN(h.Actions(), n)})
}
