package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bumba/pooling/monitor"
	"github.com/bumba/pooling/monitor/admin"
)

// dash sends a request to the dashboard's handler.
func (s *system) dash(method, path, tok string) resp {
	s.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	s.h.Dashboard().ServeHTTP(rec, req)
	return resp{code: rec.Code, hdr: rec.Header(), body: rec.Body.Bytes()}
}

func TestDashboardServesEmbeddedAssets(t *testing.T) {
	s := newSystem(t, sysOpts{})
	page := s.dash("GET", admin.DashboardPath, "")
	if page.code != 200 || !strings.HasPrefix(page.hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", page.code, page.hdr.Get("Content-Type"))
	}
	csp := page.hdr.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q does not keep the page to its own origin", csp)
	}
	body := string(page.body)
	for _, ref := range []string{"assets/uPlot.iife.min.js", "assets/dashboard.js", "assets/dashboard.css", "assets/uPlot.min.css"} {
		if !strings.Contains(body, ref) {
			t.Errorf("page does not load %s", ref)
		}
		a := s.dash("GET", admin.DashboardPath+ref, "")
		if a.code != 200 || len(a.body) == 0 {
			t.Errorf("%s: %d, %d bytes", ref, a.code, len(a.body))
		}
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Error("the page names an outside URL: it must work with no internet")
	}
	js := s.dash("GET", admin.DashboardPath+"assets/dashboard.js", "")
	if ct := js.hdr.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("script served as %q", ct)
	}
	lic := s.dash("GET", admin.DashboardPath+"assets/uPlot.LICENSE", "")
	if lic.code != 200 || !strings.Contains(string(lic.body), "MIT License") {
		t.Errorf("uPlot's licence: %d %q", lic.code, lic.body)
	}
	for _, p := range []string{admin.DashboardPath + "assets/nope.js", admin.DashboardPath + "assets/web/index.html", admin.DashboardPath + "other"} {
		if r := s.dash("GET", p, ""); r.code != 404 || r.errMsg(t) == "" {
			t.Errorf("%s: %d %s, want a 404 naming it", p, r.code, r.body)
		}
	}
	if r := s.dash("POST", admin.DashboardPath, ""); r.code != 405 || r.hdr.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST page: %d Allow %q", r.code, r.hdr.Get("Allow"))
	}
	if r := s.dash("HEAD", admin.DashboardPath, ""); r.code != 200 || len(r.body) != 0 {
		t.Errorf("HEAD page: %d, %d bytes", r.code, len(r.body))
	}
}

// TestDashboardMountedOnAMux: mounted at DashboardPath, "/dashboard" is
// redirected to the page.
func TestDashboardMountedOnAMux(t *testing.T) {
	s := newSystem(t, sysOpts{})
	mux := http.NewServeMux()
	mux.Handle(admin.Prefix, s.h)
	mux.Handle(admin.DashboardPath, s.h.Dashboard())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/dashboard")
	must(t, err)
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.Path != admin.DashboardPath || !strings.Contains(string(data), "At a glance") {
		t.Fatalf("/dashboard: %d at %s", res.StatusCode, res.Request.URL.Path)
	}
}

func decodeSeries(t *testing.T, r resp) admin.Series {
	t.Helper()
	if r.code != 200 {
		t.Fatalf("series: %d %s", r.code, r.body)
	}
	var s admin.Series
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDashboardSeriesEqualsTheMonitor(t *testing.T) {
	s := newSystem(t, sysOpts{})
	for range 5 {
		s.traffic(10)
	}
	got := decodeSeries(t, s.dash("GET", admin.DashboardPath+"series?range=1h", ""))
	if got.Range != "1h" || got.StepMs != 30_000 || len(got.Times) != 120 {
		t.Fatalf("range %q step %d ms, %d points: want 1h, 30 s, 120", got.Range, got.StepMs, len(got.Times))
	}
	for _, m := range admin.DashboardMetrics {
		if len(got.Values[m]) != len(got.Times) {
			t.Fatalf("%s: %d values for %d times", m, len(got.Values[m]), len(got.Times))
		}
	}
	// The last five buckets hold the five samples, each the monitor's own
	// figure; the ones before are empty.
	step := time.Duration(got.StepMs) * time.Millisecond
	for i := len(got.Times) - 5; i < len(got.Times); i++ {
		hi := time.UnixMilli(int64(got.Times[i] * 1e3))
		want, err := s.mon.Query(monitor.MetricResponseTime, hi.Add(-step), hi)
		must(t, err)
		v := got.Values[monitor.MetricResponseTime][i]
		if v == nil || *v != want.Avg || want.Count != 1 {
			t.Errorf("bucket %d: response time %v, monitor %+v", i, v, want)
		}
		if q := got.Values[monitor.MetricQueueDepth][i]; q == nil {
			t.Errorf("bucket %d: no queue depth", i)
		}
	}
	if v := got.Values[monitor.MetricResponseTime][0]; v != nil {
		t.Errorf("bucket 0 has %v before any sample", *v)
	}
	if len(got.Marks) != 0 {
		t.Errorf("marks before any action: %+v", got.Marks)
	}

	// An emergency rollback and a percentage set are marked.
	if r := s.do("POST", admin.Base+"/percentage", token, map[string]any{"percentage": 30, "reason": "canary"}); r.code != 200 {
		t.Fatalf("percentage: %d %s", r.code, r.body)
	}
	s.clk.Add(time.Second)
	if r := s.do("POST", admin.Base+"/rollbacks/emergency", token, map[string]any{"reason": "bad deploy", "confirm": true}); r.code != 200 {
		t.Fatalf("emergency: %d %s", r.code, r.body)
	}
	got = decodeSeries(t, s.dash("GET", admin.DashboardPath+"series?range=6h", ""))
	kinds := map[string]bool{}
	for _, m := range got.Marks {
		kinds[m.Kind] = true
		if m.Label == "" || m.At.IsZero() {
			t.Errorf("mark %+v", m)
		}
	}
	if !kinds["rollback"] || !kinds["mode"] {
		t.Errorf("marks %+v: want a rollback and a mode change", got.Marks)
	}
	if got.StepMs != (6 * time.Hour / 120).Milliseconds() {
		t.Errorf("6h step %d ms", got.StepMs)
	}
	if got := decodeSeries(t, s.dash("GET", admin.DashboardPath+"series?range=30d", "")); len(got.Times) != 120 || got.StepMs != (6*time.Hour).Milliseconds() {
		t.Errorf("30d: %d points of %d ms", len(got.Times), got.StepMs)
	}
}

func TestDashboardSeriesRefusals(t *testing.T) {
	s := newSystem(t, sysOpts{})
	if r := s.dash("GET", admin.DashboardPath+"series?range=2h", ""); r.code != 400 || !strings.Contains(r.errMsg(t), `"2h"`) {
		t.Errorf("bad range: %d %s", r.code, r.body)
	}
	if r := s.dash("POST", admin.DashboardPath+"series", token); r.code != 405 {
		t.Errorf("POST series: %d", r.code)
	}
	// The read authorizer closes the series as it closes the API's reads.
	c := newSystem(t, sysOpts{admin: []admin.Option{admin.WithReadAuthorizer(admin.BearerToken(token))}})
	if r := c.dash("GET", admin.DashboardPath+"series", ""); r.code != 401 {
		t.Errorf("series without a token under a read authorizer: %d", r.code)
	}
	if r := c.dash("GET", admin.DashboardPath+"series", token); r.code != 200 {
		t.Errorf("series with the token: %d %s", r.code, r.body)
	}
	// Without a monitor there is nothing to chart.
	h, err := admin.New(admin.WithBridge(s.br))
	must(t, err)
	defer h.Close()
	rec := httptest.NewRecorder()
	h.Dashboard().ServeHTTP(rec, httptest.NewRequest("GET", admin.DashboardPath+"series", nil))
	if rec.Code != 501 {
		t.Errorf("series without a monitor: %d", rec.Code)
	}
	if got := h.SeriesOver("1h", time.Hour); len(got.Times) != 0 || got.Values == nil || got.Marks == nil {
		t.Errorf("SeriesOver without a monitor: %+v", got)
	}
	if got := s.h.SeriesOver("tiny", time.Second); len(got.Times) != 0 {
		t.Errorf("a span under one interval has %d buckets", len(got.Times))
	}
}
