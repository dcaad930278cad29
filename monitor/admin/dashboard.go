package admin

import (
	"embed"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/bumba/pooling/monitor"
)

// DashboardPath is where the host mounts the dashboard:
// mux.Handle(admin.DashboardPath, h.Dashboard()). A request for
// "/dashboard" is redirected there by http.ServeMux.
const DashboardPath = "/dashboard/"

// Dashboard ranges and resolution.
const (
	// DashboardPoints is how many points a dashboard series has at most
	// (fewer where the monitor's interval is coarser than range/points).
	DashboardPoints = 120
	// MaxDashboardMarks bounds the marks (rollbacks, mode and step
	// changes) a series answer carries: the newest.
	MaxDashboardMarks = 200
)

type dashboardRange struct {
	name string
	d    time.Duration
}

// dashboardRanges are the ranges the page offers, in its order.
var dashboardRanges = []dashboardRange{{"1h", time.Hour}, {"6h", 6 * time.Hour}, {"24h", 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}}

// DashboardMetrics are the series the dashboard charts, in its order.
var DashboardMetrics = []monitor.Metric{
	monitor.MetricWarmHitRate,
	monitor.MetricMemoryCurrent, monitor.MetricMemoryBaseline,
	monitor.MetricResponseTime, monitor.MetricLegacyResponseTime,
	monitor.MetricErrorRate,
	monitor.MetricQueueDepth,
	monitor.MetricPredictionAccuracy,
}

// The page, its script and style, and the vendored uPlot 1.6.32 (MIT,
// web/uPlot.LICENSE) from npm: everything the page loads is in the binary.
//
//go:embed web
var webFiles embed.FS

// Series is what GET /dashboard/series?range=1h answers: the dashboard's
// metrics over the range in Points buckets of StepMs, each bucket the
// monitor's Query over it (rates are ratios of the bucket's summed counts),
// null where the bucket has no sample with the metric; and the marks to
// draw on the time axis.
type Series struct {
	Range  string    `json:"range"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	StepMs int64     `json:"stepMs"`
	// Times are the buckets' ends, in Unix seconds (uPlot's x values).
	Times  []float64                     `json:"times"`
	Values map[monitor.Metric][]*float64 `json:"values"`
	Marks  []Mark                        `json:"marks"`
}

// Mark is an event drawn on the dashboard's time axis.
type Mark struct {
	At time.Time `json:"at"`
	// Kind is "rollback", "mode" (the bridge's mode or percentage set by
	// an action) or "step" (a rollout decision that changed the routing).
	Kind  string `json:"kind"`
	Label string `json:"label"`
}

// intervalOf is the optional part of a Monitor that tells its collection
// interval (*monitor.Monitor has it).
type intervalOf interface{ Interval() time.Duration }

// Dashboard returns the live dashboard's handler: the page at
// DashboardPath, its embedded assets below DashboardPath+"assets/", and
// the series the charts draw at DashboardPath+"series" (a read route: the
// read authorizer applies). The page reads the admin API at Base and
// streams its events; its actions go through the same authorizer as the
// API (the page asks for the token and keeps it only in memory).
func (h *Handler) Dashboard() http.Handler {
	mux := http.NewServeMux()
	page := func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s (allowed: GET, HEAD)", r.Method, r.URL.Path))
			return
		}
		name := "index.html"
		if rest, ok := strings.CutPrefix(r.URL.Path, DashboardPath+"assets/"); ok {
			name = rest
		} else if r.URL.Path != DashboardPath {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no dashboard page %s (the dashboard is at %s)", r.URL.Path, DashboardPath))
			return
		}
		data, err := fs.ReadFile(webFiles, "web/"+name)
		if err != nil || strings.Contains(name, "/") || name == "" {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no dashboard asset %q", name))
			return
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if strings.HasSuffix(name, ".LICENSE") {
			ct = "text/plain; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy",
			"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(data)
		}
	}
	mux.HandleFunc(DashboardPath, page)
	series := &route{Route: Route{Method: http.MethodGet, Path: DashboardPath + "series",
		Summary: "the dashboard's series over ?range=1h|6h|24h|30d and the marks on its time axis"}, needs: "monitor", fn: h.getSeries}
	mux.Handle(series.Path, h.wrap(series))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.panics.Add(1)
				h.cfg.logger.Error("ERROR admin dashboard panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
				writeError(w, http.StatusInternalServerError, "internal error")
			}
		}()
		mux.ServeHTTP(w, r)
	})
}

func (h *Handler) getSeries(w http.ResponseWriter, r *http.Request, _ string) {
	name := r.URL.Query().Get("range")
	if name == "" {
		name = dashboardRanges[0].name
	}
	i := slices.IndexFunc(dashboardRanges, func(x dashboardRange) bool { return x.name == name })
	if i < 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("range %q is not one of 1h, 6h, 24h, 30d", name))
		return
	}
	writeJSON(w, http.StatusOK, h.SeriesOver(name, dashboardRanges[i].d))
}

// SeriesOver returns the dashboard's series over the span ending now
// (name labels it): at most DashboardPoints buckets, none finer than the
// monitor's interval. Without a monitor, or for a span shorter than one
// interval, it has no bucket.
func (h *Handler) SeriesOver(name string, span time.Duration) Series {
	c := &h.cfg
	if c.monitor == nil || span <= 0 {
		now := c.clock.Now()
		return Series{Range: name, From: now, To: now, Times: []float64{}, Values: map[monitor.Metric][]*float64{}, Marks: []Mark{}}
	}
	interval := monitor.DefaultInterval
	if iv, ok := c.monitor.(intervalOf); ok {
		interval = iv.Interval()
	}
	step := max(span/DashboardPoints, interval)
	n := int(span / step)
	to := c.clock.Now()
	from := to.Add(-time.Duration(n) * step)
	out := Series{Range: name, From: from, To: to, StepMs: step.Milliseconds(), Times: make([]float64, n),
		Values: make(map[monitor.Metric][]*float64, len(DashboardMetrics)), Marks: []Mark{}}
	for _, m := range DashboardMetrics {
		out.Values[m] = make([]*float64, n)
	}
	for i := range n {
		lo, hi := from.Add(time.Duration(i)*step), from.Add(time.Duration(i+1)*step)
		out.Times[i] = float64(hi.UnixMilli()) / 1e3
		for _, m := range DashboardMetrics {
			s, err := c.monitor.Query(m, lo, hi)
			if err != nil || s.Count == 0 {
				continue
			}
			v := finite(s.Avg)
			out.Values[m][i] = &v
		}
	}
	in := func(t time.Time) bool { return t.After(from) && !t.After(to) }
	if c.rollbacks != nil {
		for _, rec := range c.rollbacks.History() {
			if in(rec.StartedAt) {
				out.Marks = append(out.Marks, Mark{At: rec.StartedAt, Kind: "rollback",
					Label: fmt.Sprintf("rollback %s (%s): %s", rec.ID, rec.Kind, rec.Reason)})
			}
		}
	}
	if c.rollout != nil {
		for _, d := range c.rollout.History() {
			if in(d.At) && (d.From != "" && d.From != d.Step) {
				out.Marks = append(out.Marks, Mark{At: d.At, Kind: "step",
					Label: fmt.Sprintf("step %s → %s (%s %g%%)", d.From, d.Step, modeName(d.Routing.Mode), d.Routing.Percentage)})
			}
		}
	}
	for _, a := range h.Actions() {
		if a.OK && in(a.At) && (a.Action == "set_mode" || a.Action == "set_percentage") {
			out.Marks = append(out.Marks, Mark{At: a.At, Kind: "mode",
				Label: fmt.Sprintf("%s %s → %s %g%% by %s: %s", a.Action, a.Before.Mode, a.After.Mode, a.After.Percentage, a.Who, a.Reason)})
		}
	}
	slices.SortStableFunc(out.Marks, func(a, b Mark) int { return a.At.Compare(b.At) })
	if len(out.Marks) > MaxDashboardMarks {
		out.Marks = out.Marks[len(out.Marks)-MaxDashboardMarks:]
	}
	return out
}
