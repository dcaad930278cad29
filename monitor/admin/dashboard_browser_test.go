package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/chromedp/chromedp"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/monitor"
	"github.com/bumba/pooling/monitor/admin"
	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/pool/pooltest"
	"github.com/bumba/pooling/rollback"
)

// screenshotPath is where BUMBA_UPDATE_SCREENSHOT=1 saves the page as the
// browser test saw it (the README shows it).
const screenshotPath = "../../docs/dashboard.png"

// findBrowser returns Debian's chromium (or BUMBA_CHROME). Without one the
// test skips outside CI and fails in CI.
func findBrowser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("BUMBA_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("no headless browser found: apt-get install chromium (or set BUMBA_CHROME); CI runs this test")
	}
	t.Fatal("no headless browser in CI: .ci/run installs Debian's chromium (apt-get install chromium)")
	return ""
}

// browserHost is a real host on a mock clock whose executors take time on
// it: the intelligent path runs the command on a real pool of fake
// specialists (40 ms), the legacy one takes 120 ms, and every fifth
// intelligent call fails while failing is set.
type browserHost struct {
	clk   *clock.Mock
	fleet *pooltest.Fleet
	pool  *pool.Pool
	br    *bridge.Bridge
	mon   *monitor.Monitor
	ctrl  *migrate.Controller
	rb    *rollback.Manager
	h     *admin.Handler
	calls atomic.Int64
	fail  atomic.Bool
	every atomic.Int64 // while failing, every n-th intelligent call fails
	latMs atomic.Int64 // the intelligent path's latency
}

var browserSpecialists = []struct{ id, dept string }{
	{"api-architect", "backend"}, {"db-specialist", "backend"}, {"react-lead", "frontend"},
	{"ux-designer", "frontend"}, {"qa-lead", "qa"}, {"security-auditor", "qa"},
	{"devops-engineer", "ops"}, {"data-analyst", "ops"},
}

func newBrowserHost(t *testing.T) *browserHost {
	t.Helper()
	x := &browserHost{clk: clock.NewMock()}
	x.clk.Set(time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC))
	x.fleet = pooltest.New(x.clk, pooltest.WithMemory(1<<20))
	var specs []pool.Spec
	for _, s := range browserSpecialists {
		specs = append(specs, x.fleet.Spec(s.id, s.dept))
	}
	var err error
	x.pool, err = pool.New(specs, pool.WithClock(x.clk), pool.WithMaxWarm(2))
	must(t, err)
	legacy := bridge.ExecutorFunc(func(context.Context, bridge.Command) (bridge.Response, error) {
		x.clk.Add(120 * time.Millisecond)
		return bridge.Response{Output: "ok"}, nil
	})
	intelligent := bridge.ExecutorFunc(func(ctx context.Context, c bridge.Command) (bridge.Response, error) {
		n := x.calls.Add(1)
		x.clk.Add(time.Duration(x.latMs.Load()) * time.Millisecond)
		if x.fail.Load() && n%max(x.every.Load(), 1) == 0 {
			return bridge.Response{}, fmt.Errorf("injected failure %d", n)
		}
		s := browserSpecialists[c.Options["s"].(int)]
		if _, err := x.pool.Execute(ctx, pool.Task{Specialist: s.id, Command: c.Name}); err != nil {
			return bridge.Response{}, err
		}
		return bridge.Response{Output: "ok"}, nil
	})
	x.br, err = bridge.New(legacy, intelligent, bridge.WithClock(x.clk), bridge.WithPercentage(50), bridge.WithMode(bridge.ModeHybrid),
		bridge.WithAutoFallback(false))
	must(t, err)
	x.latMs.Store(40)
	x.every.Store(5)
	x.mon, err = monitor.New(monitor.WithPool(x.pool), monitor.WithBridge(x.br), monitor.WithClock(x.clk))
	must(t, err)
	metrics, err := migrate.NewStatsMetrics(x.br, x.pool, x.clk)
	must(t, err)
	store := migrate.NewMemoryStore()
	x.rb, err = rollback.New(x.br, metrics, rollback.WithClock(x.clk), rollback.WithStore(store),
		rollback.WithHealth(rollback.HealthFunc(x.mon.HealthScore)))
	must(t, err)
	x.ctrl, err = migrate.New(x.br, metrics, migrate.WithClock(x.clk), migrate.WithStore(store),
		migrate.WithGuard(x.rb), migrate.WithStartStep("hybrid-50"))
	must(t, err)
	x.h, err = admin.New(admin.WithPool(x.pool), admin.WithBridge(x.br), admin.WithMonitor(x.mon),
		admin.WithRollout(x.ctrl), admin.WithRollbacks(x.rb), admin.WithClock(x.clk), admin.WithReplica("replica-a"),
		admin.WithAuthorizer(admin.BearerToken(token)), admin.WithStreamInterval(time.Second))
	must(t, err)
	t.Cleanup(func() {
		_ = x.h.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = x.br.Close(ctx)
		_ = x.pool.Close(ctx)
	})
	return x
}

// minute sends n commands (a skewed mix over the specialists, so some find
// theirs warm and some wait), lets the rest of the 30-second interval pass,
// collects a sample and evaluates the rollout's gate.
func (x *browserHost) sample(t *testing.T, n int) {
	t.Helper()
	start := x.clk.Now()
	for i := range n {
		s := []int{0, 0, 1, 0, 2, 1, 0, 3, 4, 0, 5, 1, 0, 6, 7, 1}[i%16]
		c := bridge.Command{Name: "implement", Options: map[string]any{"s": s}, RoutingKey: fmt.Sprint("k", x.calls.Load(), i)}
		_, _ = x.br.Execute(context.Background(), c)
	}
	if rest := 30*time.Second - x.clk.Since(start); rest > 0 {
		x.clk.Add(rest)
	}
	x.mon.Collect()
	if d, err := x.ctrl.Step(context.Background()); err != nil || os.Getenv("BUMBA_DEBUG") != "" {
		t.Logf("step: %v %v", d, err)
	}
}

// page runs JavaScript in the page and decodes its value.
func page[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// until asks the page whether cond holds until it does, moving the mock
// clock a second every fifth try for the first 30 s (the event stream
// polls on it; one tick is enough), and fails after 3000 tries (a few ms
// each: the page's own work between them is real time; the context's
// deadline is the last failsafe).
func (x *browserHost) until(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	for i := range 3000 {
		if page[bool](t, ctx, cond) {
			return
		}
		if i%5 == 4 && i < 150 {
			x.clk.Add(time.Second)
		}
	}
	t.Fatalf("the page never showed %s (%s)", what, cond)
}

// waitReal waits, in the browser's real time, for cond (the stream's
// reconnection backs off in real time); at most 20 s.
func waitReal(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the page never showed %s (%s): %v", what, cond, err)
	}
}

type pageFigures struct {
	Status, Score, Mode, Percentage, Warm, Total, Step, Alerts string
	Gate                                                       int
	Points                                                     map[string]int
}

const figuresJS = `(() => {
	const v = (id) => document.getElementById(id).dataset.value || "";
	const pts = {};
	for (const f of document.querySelectorAll("figure.chart")) pts[f.id] = Number(f.dataset.points);
	return {Status: v("status"), Score: v("score"), Mode: v("mode"), Percentage: v("percentage"), Warm: v("warm"),
		Total: v("total"), Step: v("step"), Alerts: v("alert-count"), Gate: document.querySelectorAll("#gate tr[data-metric]").length, Points: pts};
})()`

// apiStatus reads GET /admin/v1/status over HTTP, as the page does.
func apiStatus(t *testing.T, srv *httptest.Server) admin.Status {
	t.Helper()
	res, err := srv.Client().Get(srv.URL + admin.Base + "/status")
	must(t, err)
	defer res.Body.Close()
	var st admin.Status
	must(t, json.NewDecoder(res.Body).Decode(&st))
	return st
}

func num(s string) float64 {
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		return math.NaN()
	}
	return f
}

// differences lists where the page's figures differ from the API's.
func differences(got pageFigures, st admin.Status, hist []migrate.Decision) []string {
	var out []string
	if got.Status != st.Health.Status || math.Abs(num(got.Score)-st.Health.Score) > 1e-9 {
		out = append(out, fmt.Sprintf("health: page %s %s, API %s %v", got.Status, got.Score, st.Health.Status, st.Health.Score))
	}
	if got.Mode != st.Mode || num(got.Percentage) != st.Percentage {
		out = append(out, fmt.Sprintf("routing: page %s %s, API %s %v", got.Mode, got.Percentage, st.Mode, st.Percentage))
	}
	if num(got.Warm) != float64(st.Pool.Warm) || num(got.Total) != float64(st.Pool.Specialists) {
		out = append(out, fmt.Sprintf("specialists: page %s/%s, API %d/%d", got.Warm, got.Total, st.Pool.Warm, st.Pool.Specialists))
	}
	if got.Step != st.Rollout.Step {
		out = append(out, fmt.Sprintf("step: page %q, API %q", got.Step, st.Rollout.Step))
	}
	if num(got.Alerts) != float64(len(st.Alerts)) {
		out = append(out, fmt.Sprintf("alerts: page %s, API %d", got.Alerts, len(st.Alerts)))
	}
	gate := 0
	if st.Rollout.Gate != nil {
		gate = len(st.Rollout.Gate.Checks)
	} else if n := len(hist); n > 0 && hist[n-1].Gate != nil && hist[n-1].Step == st.Rollout.Step && st.Rollout.State != string(migrate.StateRolledBack) {
		gate = len(hist[n-1].Gate.Checks) // a failed gate restarted the soak: the page shows that evaluation
	}
	if got.Gate != gate {
		out = append(out, fmt.Sprintf("gate checks: page %d, API %d", got.Gate, gate))
	}
	return out
}

// checkFigures waits (in real time, the clock still: the page refreshes
// on the events already sent) until what the page shows equals what the
// API answers, and fails naming the differences after 3000 looks.
func (x *browserHost) checkFigures(t *testing.T, ctx context.Context, srv *httptest.Server) {
	t.Helper()
	var diff []string
	for range 3000 {
		if diff = differences(page[pageFigures](t, ctx, figuresJS), apiStatus(t, srv), x.ctrl.History()); len(diff) == 0 {
			return
		}
	}
	t.Errorf("the page's figures are not the API's:\n%s", strings.Join(diff, "\n"))
}

func nonNil(v []*float64) int {
	n := 0
	for _, x := range v {
		if x != nil {
			n++
		}
	}
	return n
}

// TestDashboardInBrowser drives the dashboard in headless chromium over a
// real pool, bridge, monitor, rollout and rollback manager: the figures
// equal the API's, samples pushed on the host update the numbers and charts
// without a reload, an emergency rollback from the page (token, reason,
// confirmation) puts the bridge in fallback and lists the new rollback with
// its analysis, the page says when the stream is lost and reconnects, the
// layout has no horizontal scroll at 1280×800 nor at phone width, every
// control has an accessible name, and no JavaScript error reaches the
// console.
func TestDashboardInBrowser(t *testing.T) {
	exe := findBrowser(t)
	x := newBrowserHost(t)
	// Half an hour of history: latency drifting, a burst of failures
	// that the rollback manager answers with an automatic rollback, the
	// rollout resumed once the rollback is verified.
	ctx0 := context.Background()
	for i := range 60 {
		x.latMs.Store(int64(35 + 15*math.Sin(float64(i)/5)))
		x.fail.Store(i >= 14 && i < 18)
		x.sample(t, 20)
		if x.ctrl.Status().State == migrate.StateRolledBack {
			_, _ = x.ctrl.Resume(ctx0, "fixed: resume") // refused until the rollback is verified
		}
	}
	if st := x.ctrl.Status(); st.State != migrate.StateRunning || len(x.rb.History()) != 1 {
		t.Fatalf("history: rollout %s, %d rollbacks: want running again after one", st.State, len(x.rb.History()))
	}
	mux := http.NewServeMux()
	mux.Handle(admin.Prefix, x.h)
	mux.Handle(admin.DashboardPath, x.h.Dashboard())
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { _ = x.h.Close(); srv.Close() })

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800), chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("hide-scrollbars", false))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, 90*time.Second) // failsafe
	defer cancel()

	var mu sync.Mutex
	var problems []string
	var cut atomic.Bool                      // set once the test cuts the stream on purpose
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		if os.Getenv("CI") == "" {
			t.Skipf("the browser %s does not start (%v): apt-get install chromium", exe, err)
		}
		t.Fatalf("starting %s: %v", exe, err)
	}
	messages := chromedp.Console(ctx)
	listened := make(chan struct{})
	go func() {
		defer close(listened)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
				continue
			}
			if cut.Load() && m.Source == "network" {
				continue // the connection the test cut
			}
			mu.Lock()
			problems = append(problems, m.String()+" "+m.URL)
			mu.Unlock()
		}
	}()
	defer func() { cancel(); cancelBrowser(); <-listened }()
	must(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/dashboard")))

	// Live, and the figures are the API's.
	x.until(t, ctx, "the live stream", `document.getElementById("live").dataset.state === "live" && window.bumbaDashboard.state.series !== null && document.getElementById("score").dataset.value !== undefined`)
	x.checkFigures(t, ctx, srv)
	series := x.h.SeriesOver("1h", time.Hour)
	first := page[pageFigures](t, ctx, figuresJS)
	latPoints := nonNil(series.Values[monitor.MetricResponseTime])
	if first.Points["chart-lat"] != latPoints || latPoints < 30 {
		t.Errorf("latency chart has %d points, the series %d, want ≥ 30", first.Points["chart-lat"], latPoints)
	}
	if first.Gate == 0 {
		t.Errorf("no gate check shown; rollout %+v", x.ctrl.Status())
	}
	if title := page[string](t, ctx, `document.title`); !strings.Contains(title, "dashboard") {
		t.Errorf("title %q", title)
	}

	// Samples pushed on the host reach the page without a reload: more
	// points, the new error rate, a new score.
	marker := page[bool](t, ctx, `window.__noReload = true`)
	x.fail.Store(true)
	x.sample(t, 20)
	x.sample(t, 20)
	x.fail.Store(false)
	x.until(t, ctx, "two more points in the latency chart", fmt.Sprintf(`document.getElementById("chart-lat").dataset.points === "%d"`, latPoints+2))
	x.until(t, ctx, "the new error rate", `Number(document.getElementById("chart-err").dataset.latest) > 0`)
	x.checkFigures(t, ctx, srv)
	// A sample where every intelligent call fails fails the gate (its
	// evidence is the whole soak) and restarts the soak, too briefly for a
	// rollback: the status then has no gate, and the page shows the
	// failing evaluation of the last decision.
	x.fail.Store(true)
	x.every.Store(1)
	x.sample(t, 20)
	x.fail.Store(false)
	if st := apiStatus(t, srv); st.Rollout.Gate != nil || st.Rollout.State != string(migrate.StateRunning) {
		t.Errorf("after a failing gate: state %s, gate %+v; want running, none", st.Rollout.State, st.Rollout.Gate)
	}
	x.until(t, ctx, "the failing gate", `document.getElementById("gate-note").textContent.includes("failed") && document.querySelectorAll("#gate tr.fail").length > 0`)
	x.checkFigures(t, ctx, srv)
	if !marker || !page[bool](t, ctx, `window.__noReload === true`) {
		t.Error("the page reloaded")
	}
	// The error-rate chart's newest point is the monitor's (looked at until
	// a refresh in flight has landed).
	lastErr := func() string {
		var last *float64 // the newest bucket with a sample (the clock moved on since)
		for _, v := range x.h.SeriesOver("1h", time.Hour).Values[monitor.MetricErrorRate] {
			if v != nil {
				last = v
			}
		}
		if last == nil {
			return "none"
		}
		return fmt.Sprint(*last)
	}
	pageErr := `document.getElementById("chart-err").dataset.latest`
	for i := 0; page[string](t, ctx, pageErr) != lastErr(); i++ {
		if i == 3000 {
			t.Errorf("error-rate chart's latest %s, the monitor's %s; page series %s", page[string](t, ctx, pageErr), lastErr(),
				page[string](t, ctx, `JSON.stringify(window.bumbaDashboard.state.series.values.error_rate.filter((v) => v !== null))`))
			break
		}
	}

	// Every control has an accessible name.
	unnamed := page[[]string](t, ctx, `(() => {
		const out = [];
		for (const e of document.querySelectorAll("button, input, select, textarea, [role=radio], progress")) {
			let name = e.getAttribute("aria-label") || "";
			const by = e.getAttribute("aria-labelledby");
			if (!name && by) name = by.split(" ").map((id) => (document.getElementById(id) || {}).textContent || "").join(" ");
			if (!name && e.labels && e.labels.length) name = e.labels[0].textContent;
			if (!name && e.tagName === "BUTTON") name = e.textContent;
			if (!name.trim()) out.push(e.outerHTML.slice(0, 80));
		}
		return out;
	})()`)
	if len(unnamed) > 0 {
		t.Errorf("controls without an accessible name: %q", unnamed)
	}

	// No horizontal scroll at 1280×800 nor at phone width.
	noScroll := `document.documentElement.scrollWidth <= window.innerWidth`
	if !page[bool](t, ctx, noScroll) {
		t.Errorf("horizontal scroll at 1280×800: %v > %v", page[float64](t, ctx, `document.documentElement.scrollWidth`), 1280)
	}
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1))))
	x.until(t, ctx, "the phone layout", `window.innerWidth === 390`)
	if !page[bool](t, ctx, noScroll) {
		t.Errorf("horizontal scroll at 390 px: scroll width %v", page[float64](t, ctx, `document.documentElement.scrollWidth`))
	}
	if os.Getenv("BUMBA_UPDATE_SCREENSHOT") == "1" {
		phone, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(os.TempDir(), "bumba-dashboard-phone.png"), phone, 0o644))
	}
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800, chromedp.EmulateScale(1))))
	x.until(t, ctx, "the 1280 layout", `window.innerWidth === 1280`)

	// The screenshot the README shows: live, alerts firing, the earlier
	// rollback listed and marked.
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must(t, err)
	out := filepath.Join(os.TempDir(), "bumba-dashboard.png")
	if os.Getenv("BUMBA_UPDATE_SCREENSHOT") == "1" {
		out = screenshotPath
	}
	must(t, os.WriteFile(out, png, 0o644))
	t.Logf("screenshot: %s (%d bytes)", out, len(png))

	// The range buttons: 30 days of 6-hour buckets, then back to the hour.
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#ranges button[data-range="30d"]`))))
	x.until(t, ctx, "the 30-day range", `window.bumbaDashboard.state.series.range === "30d" && document.querySelector('#ranges button[data-range="30d"]').getAttribute("aria-checked") === "true"`)
	if step := page[float64](t, ctx, `window.bumbaDashboard.state.series.stepMs`); step != float64((6 * time.Hour).Milliseconds()) {
		t.Errorf("30-day step %v ms", step)
	}
	if n := page[int](t, ctx, `Number(document.getElementById("chart-lat").dataset.points)`); n < 1 || n > 2 {
		t.Errorf("30 d: %d latency points, want the half hour in one or two 6-hour buckets", n)
	}
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#ranges button[data-range="1h"]`))))
	x.until(t, ctx, "the 1-hour range", `window.bumbaDashboard.state.series.range === "1h"`)

	// An action without the token is refused on the page itself.
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("emergency"))))
	x.until(t, ctx, "the token request", `document.getElementById("result").textContent.includes("token")`)
	if page[bool](t, ctx, `!document.getElementById("confirm").hidden`) {
		t.Error("the confirmation opened without a token")
	}

	// The token, then the routing and rollout actions, each recorded with
	// the page's reason.
	must(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.ID("token-set")),
		chromedp.SendKeys(chromedp.ID("reason"), "browser test: canary"),
		chromedp.SendKeys(chromedp.ID("pct"), "30"),
		chromedp.Click(chromedp.ID("pct-set")),
	))
	x.until(t, ctx, "the percentage set", `document.getElementById("result").textContent.startsWith("Done: set percentage 30")`)
	if p := x.br.Percentage(); p != 30 {
		t.Errorf("bridge percentage %v after the page set 30", p)
	}
	x.until(t, ctx, "30 % shown", `document.getElementById("percentage").dataset.value === "30"`)
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("hold"))))
	x.until(t, ctx, "the hold", `document.getElementById("result").textContent.startsWith("Done: hold")`)
	if st := x.ctrl.Status().State; st != migrate.StateHeld {
		t.Errorf("rollout %s after the page's hold", st)
	}
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("resume"))))
	x.until(t, ctx, "the resume", `document.getElementById("result").textContent.startsWith("Done: resume")`)
	if st := x.ctrl.Status().State; st != migrate.StateRunning {
		t.Errorf("rollout %s after the page's resume", st)
	}
	acts := x.h.Actions()
	if len(acts) != 3 || acts[0].Action != "set_percentage" || acts[1].Action != "hold" || acts[2].Action != "resume" ||
		acts[0].Reason != "browser test: canary" || acts[0].Who == "" {
		t.Errorf("audit record %+v", acts)
	}

	// Emergency rollback from the page: reason, confirm.
	before := len(x.rb.History())
	must(t, chromedp.Do(ctx,
		chromedp.Clear(chromedp.ID("reason")),
		chromedp.SendKeys(chromedp.ID("reason"), "browser test: error rate climbing"),
		chromedp.Click(chromedp.ID("emergency")),
	))
	x.until(t, ctx, "the confirmation", `!document.getElementById("confirm").hidden`)
	if x.br.Mode() == bridge.ModeFallback || len(x.rb.History()) != before {
		t.Fatal("the rollback ran before it was confirmed")
	}
	if tok := page[string](t, ctx, `document.getElementById("token").value`); tok != "" {
		t.Errorf("the token stays in the field: %q", tok)
	}
	if kept := page[string](t, ctx, `JSON.stringify(Object.assign({}, localStorage, sessionStorage)) + document.cookie`); strings.Contains(kept, token) {
		t.Errorf("the token was stored: %s", kept)
	}
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("confirm-yes"))))
	x.until(t, ctx, "the rollback's result", `document.getElementById("result").textContent.startsWith("Done: emergency rollback")`)
	if m := x.br.Mode(); m != bridge.ModeFallback {
		t.Errorf("bridge mode after the page's emergency rollback: %v, want fallback", m)
	}
	hist := x.rb.History()
	if len(hist) != before+1 {
		t.Fatalf("rollbacks: %d, want %d", len(hist), before+1)
	}
	id := hist[len(hist)-1].ID
	if !strings.Contains(hist[len(hist)-1].Reason, "browser test: error rate climbing") {
		t.Errorf("rollback reason %q", hist[len(hist)-1].Reason)
	}
	x.until(t, ctx, "the new rollback listed", fmt.Sprintf(`!!document.querySelector('#rollbacks li[data-id=%q]')`, id))
	x.until(t, ctx, "fallback mode", `document.getElementById("mode").dataset.value === "fallback"`)
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#rollbacks li[data-id=%q] button`, id)))))
	x.until(t, ctx, "the rollback's analysis", fmt.Sprintf(`(() => { const p = document.getElementById(%q); return !p.hidden && p.textContent.includes(%q); })()`, "an-"+id, id))
	x.until(t, ctx, "the rollback marked on the charts", `Number(document.getElementById("chart-lat").dataset.marks) > 0`)
	x.checkFigures(t, ctx, srv)

	// The stream cut: the page says so, then reconnects by itself.
	streams := page[float64](t, ctx, `window.bumbaDashboard.state.streams`)
	cut.Store(true)
	srv.CloseClientConnections()
	waitReal(t, ctx, "the stream lost", `document.getElementById("live").dataset.state !== "live"`)
	if text := page[string](t, ctx, `document.getElementById("live").textContent`); !strings.Contains(text, "lost") && !strings.Contains(text, "Reconnecting") {
		t.Errorf("the page says %q when the stream is cut", text)
	}
	waitReal(t, ctx, "the stream back", fmt.Sprintf(`window.bumbaDashboard.state.streams > %v && document.getElementById("live").dataset.state === "live"`, streams))

	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the browser reported:\n%s", strings.Join(problems, "\n"))
	}
}
