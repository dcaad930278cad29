package admin_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/monitor/admin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNewValidates(t *testing.T) {
	for name, opts := range map[string][]admin.Option{
		"nothing":        nil,
		"empty token":    {admin.WithMonitor(nil), admin.WithBridge(nopBridge{}), admin.WithAuthorizer(admin.BearerToken(""))},
		"action limit":   {admin.WithBridge(nopBridge{}), admin.WithActionLimit(0)},
		"max streams":    {admin.WithBridge(nopBridge{}), admin.WithMaxStreams(0)},
		"interval":       {admin.WithBridge(nopBridge{}), admin.WithStreamInterval(0)},
		"nil clock":      {admin.WithBridge(nopBridge{}), admin.WithClock(nil)},
		"nil logger":     {admin.WithBridge(nopBridge{}), admin.WithLogger(nil)},
		"no named token": {admin.WithBridge(nopBridge{}), admin.WithReadAuthorizer(admin.BearerTokens(nil))},
	} {
		if _, err := admin.New(opts...); !errors.Is(err, admin.ErrInvalidConfig) {
			t.Errorf("%s: New returned %v, want ErrInvalidConfig", name, err)
		}
	}
	if _, err := admin.New(admin.WithBridge(nopBridge{})); err != nil {
		t.Fatalf("a bridge alone is enough: %v", err)
	}
}

func TestRoutesTableMatchesDoc(t *testing.T) {
	rs := admin.Routes()
	if len(rs) < 25 {
		t.Fatalf("only %d routes", len(rs))
	}
	for _, r := range rs {
		if !strings.HasPrefix(r.Path, admin.Base+"/") {
			t.Errorf("%s is not under %s", r.Path, admin.Base)
		}
		if r.Mutating != (r.Method == http.MethodPost) {
			t.Errorf("%s %s: mutating=%v", r.Method, r.Path, r.Mutating)
		}
	}
}

// Every GET route answers 200 with JSON on a running system.
func TestReadRoutes(t *testing.T) {
	s := newSystem(t, sysOpts{})
	s.traffic(20)
	rec := s.do("POST", admin.Base+"/rollbacks/emergency", token, map[string]any{"reason": "drill"})
	if rec.code != 200 {
		t.Fatalf("emergency: %d %s", rec.code, rec.body)
	}
	id := rec.json(t)["record"].(map[string]any)["id"].(string)
	for _, path := range []string{
		"/status", "/health", "/bridge", "/pool", "/specialists", "/rollout", "/rollout/decisions",
		"/rollbacks", "/rollbacks/" + id, "/rollbacks/" + id + "/analysis", "/triggers", "/alerts",
		"/alerts/history", "/report?period=1h", "/metrics", "/metrics/error_rate?period=1h", "/actions", "/routes",
	} {
		r := s.do("GET", admin.Base+path, "", nil)
		if r.code != 200 {
			t.Errorf("GET %s: %d %s", path, r.code, r.body)
			continue
		}
		if ct := r.hdr.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		r.json(t)
		// HEAD is allowed too; POST is not.
		if r := s.do("POST", admin.Base+path, token, "{}"); r.code != http.StatusMethodNotAllowed || !strings.Contains(r.hdr.Get("Allow"), "GET") {
			t.Errorf("POST %s: %d, Allow %q", path, r.code, r.hdr.Get("Allow"))
		} else {
			r.errMsg(t)
		}
	}
}

func TestStatusReportsTheSystem(t *testing.T) {
	s := newSystem(t, sysOpts{admin: []admin.Option{admin.WithFleet(fakeFleet{partitioned: true})}})
	s.traffic(10)
	var st admin.Status
	decode(t, s.do("GET", admin.Base+"/status", "", nil), &st)
	if st.Mode != "hybrid" || st.Percentage != 50 {
		t.Errorf("routing %s %v, want hybrid 50", st.Mode, st.Percentage)
	}
	if st.Rollout == nil || st.Rollout.Step != "hybrid-50" || st.Rollout.State != "running" || st.Rollout.SoakMs != 30*60*1000 {
		t.Errorf("rollout %+v", st.Rollout)
	}
	if st.Health == nil || st.Health.Status == "" || st.Health.Score <= 0 {
		t.Errorf("health %+v", st.Health)
	}
	if st.Replica != "replica-a" || !st.Partitioned || st.Fleet == nil || st.Fleet.Leader != "replica-b" {
		t.Errorf("replica %q partitioned %v fleet %+v", st.Replica, st.Partitioned, st.Fleet)
	}
	if st.UptimeMs != 30_000 {
		t.Errorf("uptime %d ms, want 30000 (the mock clock moved 30 s)", st.UptimeMs)
	}
	if st.Pool == nil || st.Pool.Specialists != 4 || st.Pool.MaxWarm != 2 {
		t.Errorf("pool %+v", st.Pool)
	}
	if st.Alerts == nil {
		t.Error("alerts must be [] not null")
	}
}

func TestSpecialistsExport(t *testing.T) {
	s := newSystem(t, sysOpts{})
	var out struct {
		Specialists []map[string]any `json:"specialists"`
	}
	decode(t, s.do("GET", admin.Base+"/specialists", "", nil), &out)
	if len(out.Specialists) != 4 || out.Specialists[0]["id"] != "api-architect" || out.Specialists[0]["state"] != "cold" {
		t.Fatalf("specialists %v", out.Specialists)
	}
}

// Mutating routes refuse every request while no authorizer is configured.
func TestClosedByDefault(t *testing.T) {
	s := newSystem(t, sysOpts{noAuth: true})
	before := s.world()
	for _, r := range admin.Routes() {
		if !r.Mutating {
			continue
		}
		body := `{"reason":"x","mode":"full","percentage":10,"step":"full"}`
		if strings.HasSuffix(r.Path, "advance") || strings.HasSuffix(r.Path, "hold") || strings.HasSuffix(r.Path, "resume") || strings.Contains(r.Path, "rollbacks/") {
			body = `{"reason":"x"}`
		}
		for _, tok := range []string{"", token} {
			rec := s.do("POST", r.Path, tok, body)
			if rec.code != http.StatusForbidden || !strings.Contains(rec.errMsg(t), "no authorizer") {
				t.Errorf("POST %s (token %q): %d %s", r.Path, tok, rec.code, rec.body)
			}
		}
	}
	s.unchanged(before, "requests without an authorizer")
	// Read routes stay open.
	if rec := s.do("GET", admin.Base+"/status", "", nil); rec.code != 200 {
		t.Errorf("status: %d", rec.code)
	}
}

func TestAuthRefusals(t *testing.T) {
	s := newSystem(t, sysOpts{})
	before := s.world()
	body := map[string]any{"mode": "full", "reason": "go"}
	rec := s.do("POST", admin.Base+"/mode", "", body)
	if rec.code != http.StatusUnauthorized || !strings.HasPrefix(rec.hdr.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no token: %d %q", rec.code, rec.hdr.Get("WWW-Authenticate"))
	}
	rec.errMsg(t)
	rec = s.do("POST", admin.Base+"/mode", "wrong", body)
	if rec.code != http.StatusForbidden {
		t.Errorf("bad token: %d", rec.code)
	}
	rec.errMsg(t)
	rec = s.do("POST", admin.Base+"/mode", token+"x", body)
	if rec.code != http.StatusForbidden {
		t.Errorf("longer token: %d", rec.code)
	}
	s.unchanged(before, "unauthorised requests")
}

func TestReadAuthorizer(t *testing.T) {
	s := newSystem(t, sysOpts{admin: []admin.Option{admin.WithReadAuthorizer(admin.BearerTokens(map[string]string{"viewer": "look"}))}})
	if rec := s.do("GET", admin.Base+"/status", "", nil); rec.code != http.StatusUnauthorized {
		t.Errorf("closed read route without token: %d", rec.code)
	}
	if rec := s.do("GET", admin.Base+"/status", token, nil); rec.code != http.StatusForbidden {
		t.Errorf("closed read route with the write token: %d", rec.code)
	}
	if rec := s.do("GET", admin.Base+"/status", "look", nil); rec.code != 200 {
		t.Errorf("closed read route with its token: %d", rec.code)
	}
}

func TestSetModeAndAudit(t *testing.T) {
	s := newSystem(t, sysOpts{})
	rec := s.do("POST", admin.Base+"/mode", token, map[string]any{"mode": "full", "reason": "all good"})
	if rec.code != 200 {
		t.Fatalf("%d %s", rec.code, rec.body)
	}
	if s.br.Mode() != bridge.ModeFull {
		t.Fatalf("mode %v", s.br.Mode())
	}
	var res admin.ActionResult
	decode(t, rec, &res)
	a := res.Action
	if a.Who != "token" || a.Reason != "all good" || a.Action != "set_mode" || a.Target != "full" || !a.OK ||
		a.Before.Mode != "hybrid" || a.After.Mode != "full" || a.Seq != 1 {
		t.Errorf("action %+v", a)
	}
	acts := s.h.Actions()
	if len(acts) != 1 || acts[0] != a {
		t.Errorf("audit %+v", acts)
	}
}

// Every kind of bad input is refused with a JSON error naming it, and
// changes nothing.
func TestBadInputChangesNothing(t *testing.T) {
	s := newSystem(t, sysOpts{})
	big := `{"reason":"` + strings.Repeat("x", admin.MaxBodyBytes) + `","mode":"full"}`
	cases := []struct {
		path, body string
		code       int
		says       string
	}{
		{"/mode", `{"mode":"full","reason":"x","force":true}`, 400, `unknown field "force"`},
		{"/mode", `{"mode":"full","reason":"x"} {}`, 400, "after the JSON object"},
		{"/mode", `{"mode":"full",`, 400, "bad JSON"},
		{"/mode", `[1,2]`, 400, "JSON object"},
		{"/mode", `{"mode":7,"reason":"x"}`, 400, `"mode"`},
		{"/mode", `{"mode":"turbo","reason":"x"}`, 400, `unknown mode "turbo"`},
		{"/mode", `{"mode":"full"}`, 400, `"reason" is required`},
		{"/mode", `{"mode":"full","reason":"   "}`, 400, `"reason" is required`},
		{"/mode", `{"reason":"x"}`, 400, `"mode" is required`},
		{"/mode", big, 413, "larger than"},
		{"/percentage", `{"percentage":150,"reason":"x"}`, 400, "outside 0–100"},
		{"/percentage", `{"percentage":-1,"reason":"x"}`, 400, "outside 0–100"},
		{"/percentage", `{"percentage":0.5e3,"reason":"x"}`, 400, "outside 0–100"},
		{"/percentage", `{"reason":"x"}`, 400, `"percentage" is required`},
		{"/percentage", `{"percentage":"50","reason":"x"}`, 400, `"percentage"`},
		{"/rollout/step", `{"step":"hybrid-99","reason":"x"}`, 404, `unknown step "hybrid-99"`},
		{"/rollout/step", `{"reason":"x"}`, 400, `"step" is required`},
		{"/rollout/advance", `{}`, 400, `"reason" is required`},
		{"/rollout/hold", `{"reason":"x","why":"y"}`, 400, `unknown field "why"`},
		{"/rollbacks/emergency", `{"reason":""}`, 400, `"reason" is required`},
		{"/rollbacks/planned", `{"reason":"x","gradual":true}`, 400, `unknown field "gradual"`},
		{"/rollbacks/emergency", `{"reason":"` + strings.Repeat("r", admin.MaxReasonBytes+1) + `"}`, 400, "at most"},
	}
	for _, c := range cases {
		before := s.world()
		rec := s.do("POST", admin.Base+c.path, token, c.body)
		if rec.code != c.code {
			t.Errorf("%s %.60s: %d, want %d: %s", c.path, c.body, rec.code, c.code, rec.body)
			continue
		}
		if msg := rec.errMsg(t); !strings.Contains(msg, c.says) {
			t.Errorf("%s %.60s: error %q does not say %q", c.path, c.body, msg, c.says)
		}
		s.unchanged(before, c.path+" "+c.body[:min(len(c.body), 60)])
	}
	// Wrong content type, wrong method, unknown path.
	before := s.world()
	req := s.do("POST", admin.Base+"/mode", token, nil)
	_ = req
	if rec := s.doCT("POST", admin.Base+"/mode", "text/plain", `{"mode":"full","reason":"x"}`); rec.code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: %d", rec.code)
	}
	if rec := s.do("GET", admin.Base+"/mode", token, nil); rec.code != 405 || rec.hdr.Get("Allow") != "POST" {
		t.Errorf("GET /mode: %d Allow %q", rec.code, rec.hdr.Get("Allow"))
	}
	if rec := s.do("DELETE", admin.Base+"/rollbacks/emergency", token, nil); rec.code != 405 || rec.hdr.Get("Allow") != "POST" {
		t.Errorf("DELETE emergency: %d Allow %q", rec.code, rec.hdr.Get("Allow"))
	}
	if rec := s.do("GET", admin.Base+"/nope", "", nil); rec.code != 404 || !strings.Contains(rec.errMsg(t), "/admin/v1/nope") {
		t.Errorf("unknown path: %d %s", rec.code, rec.body)
	}
	s.unchanged(before, "wrong content type, method and path")
}

func TestPercentage(t *testing.T) {
	s := newSystem(t, sysOpts{})
	rec := s.do("POST", admin.Base+"/percentage", token, map[string]any{"percentage": 75, "reason": "more"})
	if rec.code != 200 || s.br.Percentage() != 75 {
		t.Fatalf("%d %s; percentage %v", rec.code, rec.body, s.br.Percentage())
	}
	rec = s.do("POST", admin.Base+"/percentage", token, map[string]any{"percentage": 0, "reason": "none"})
	if rec.code != 200 || s.br.Percentage() != 0 {
		t.Fatalf("0 is a valid percentage: %d %s", rec.code, rec.body)
	}
}

func TestRolloutActions(t *testing.T) {
	s := newSystem(t, sysOpts{})
	post := func(path string, body map[string]any) resp {
		t.Helper()
		return s.do("POST", admin.Base+path, token, body)
	}
	// Resume while running: the controller refuses (409), the refusal is
	// recorded, nothing else changes.
	before := s.world()
	rec := post("/rollout/resume", map[string]any{"reason": "try"})
	if rec.code != http.StatusConflict || !strings.Contains(rec.errMsg(t), "not held") {
		t.Fatalf("resume while running: %d %s", rec.code, rec.body)
	}
	before.Actions++
	s.unchanged(before, "a refused resume")
	if a := s.h.Actions(); a[len(a)-1].OK || a[len(a)-1].Status != 409 {
		t.Errorf("refused action recorded as %+v", a[len(a)-1])
	}

	rec = post("/rollout/hold", map[string]any{"reason": "lunch"})
	if rec.code != 200 || s.ctrl.Status().State != migrate.StateHeld {
		t.Fatalf("hold: %d %s", rec.code, rec.body)
	}
	var res admin.ActionResult
	decode(t, rec, &res)
	if res.Decision == nil || res.Decision.Reason != "lunch" || res.Action.Decision != res.Decision.Seq {
		t.Errorf("hold result %+v", res)
	}
	if rec = post("/rollout/resume", map[string]any{"reason": "back"}); rec.code != 200 || s.ctrl.Status().State != migrate.StateRunning {
		t.Fatalf("resume: %d %s", rec.code, rec.body)
	}
	if rec = post("/rollout/advance", map[string]any{"reason": "fast"}); rec.code != 200 || s.ctrl.Status().Step.Name != "hybrid-75" || s.br.Percentage() != 75 {
		t.Fatalf("advance: %d %s", rec.code, rec.body)
	}
	if rec = post("/rollout/step", map[string]any{"step": "shadow", "reason": "again"}); rec.code != 200 || s.ctrl.Status().Step.Name != "shadow" || s.br.Mode() != bridge.ModeShadow {
		t.Fatalf("step: %d %s", rec.code, rec.body)
	}
	var dec struct {
		Decisions []migrate.Decision `json:"decisions"`
	}
	decode(t, s.do("GET", admin.Base+"/rollout/decisions?limit=1", "", nil), &dec)
	if len(dec.Decisions) != 1 || dec.Decisions[0].Step != "shadow" {
		t.Errorf("latest decision %+v", dec.Decisions)
	}
	if rec := s.do("GET", admin.Base+"/rollout/decisions?limit=-3", "", nil); rec.code != 400 {
		t.Errorf("bad limit: %d", rec.code)
	}
}

func TestEmergencyRollbackAndAnalysis(t *testing.T) {
	s := newSystem(t, sysOpts{})
	s.traffic(20)
	rec := s.do("POST", admin.Base+"/rollbacks/emergency", token, map[string]any{"reason": "Production issue"})
	if rec.code != 200 {
		t.Fatalf("%d %s", rec.code, rec.body)
	}
	var res admin.ActionResult
	decode(t, rec, &res)
	if res.Rollback == nil || res.Rollback.Reason != "Production issue" || s.br.Mode() != bridge.ModeFallback {
		t.Fatalf("result %+v, mode %v", res, s.br.Mode())
	}
	id := res.Rollback.ID
	if res.Action.Rollback != id || res.Action.After.Mode != "fallback" || res.Action.Before.Mode != "hybrid" {
		t.Errorf("action %+v", res.Action)
	}
	var one map[string]any
	decode(t, s.do("GET", admin.Base+"/rollbacks/"+id, "", nil), &one)
	if one["id"] != id {
		t.Errorf("record %v", one)
	}
	var an map[string]any
	decode(t, s.do("GET", admin.Base+"/rollbacks/"+id+"/analysis", "", nil), &an)
	if an["record"].(map[string]any)["id"] != id {
		t.Errorf("analysis %v", an)
	}
	txt := s.do("GET", admin.Base+"/rollbacks/"+id+"/analysis?format=text", "", nil)
	if txt.code != 200 || !strings.HasPrefix(txt.hdr.Get("Content-Type"), "text/plain") || !strings.Contains(string(txt.body), id) {
		t.Errorf("text analysis: %d %q", txt.code, txt.body)
	}
	for _, p := range []string{"/rollbacks/rb-nope", "/rollbacks/rb-nope/analysis"} {
		if r := s.do("GET", admin.Base+p, "", nil); r.code != 404 || !strings.Contains(r.errMsg(t), `"rb-nope"`) {
			t.Errorf("GET %s: %d %s", p, r.code, r.body)
		}
	}
	if r := s.do("GET", admin.Base+"/rollbacks/"+id+"/analysis?format=xml", "", nil); r.code != 400 {
		t.Errorf("format=xml: %d", r.code)
	}
	// A second one has nothing to roll back: refused, recorded, nothing else.
	before := s.world()
	rec = s.do("POST", admin.Base+"/rollbacks/emergency", token, map[string]any{"reason": "again"})
	if rec.code != http.StatusConflict || !strings.Contains(rec.errMsg(t), "nothing to roll back") {
		t.Errorf("second emergency: %d %s", rec.code, rec.body)
	}
	before.Actions++
	s.unchanged(before, "a refused emergency rollback")
	// The status tells of it.
	var st admin.Status
	decode(t, s.do("GET", admin.Base+"/status", "", nil), &st)
	if st.Rollback == nil || st.Rollback.ID != id || st.Mode != "fallback" {
		t.Errorf("status after rollback: %+v %s", st.Rollback, st.Mode)
	}
}

func TestPlannedRollbackConfirmation(t *testing.T) {
	s := newSystem(t, sysOpts{admin: []admin.Option{admin.WithRequireConfirmation(true)}, startStep: "full"})
	before := s.world()
	rec := s.do("POST", admin.Base+"/rollbacks/planned", token, map[string]any{"reason": "Maintenance"})
	if rec.code != http.StatusPreconditionRequired || !strings.Contains(rec.errMsg(t), `"confirm": true`) {
		t.Fatalf("unconfirmed: %d %s", rec.code, rec.body)
	}
	if w, _ := rec.json(t)["would"].(string); !strings.Contains(w, "gradually") {
		t.Errorf("would %q", w)
	}
	s.unchanged(before, "an unconfirmed rollback")
	rec = s.do("POST", admin.Base+"/rollbacks/planned", token, map[string]any{"reason": "Maintenance", "confirm": true})
	if rec.code != 200 {
		t.Fatalf("confirmed: %d %s", rec.code, rec.body)
	}
	if s.br.Mode() != bridge.ModeHybrid || s.br.Percentage() != 75 {
		t.Errorf("planned rollback's first stage: %v %v", s.br.Mode(), s.br.Percentage())
	}
	// Another planned one while this one runs is refused.
	before = s.world()
	rec = s.do("POST", admin.Base+"/rollbacks/planned", token, map[string]any{"reason": "again", "confirm": true})
	if rec.code != http.StatusConflict {
		t.Errorf("second planned: %d %s", rec.code, rec.body)
	}
	before.Actions++
	s.unchanged(before, "a second planned rollback")
}

func TestReportAndMetrics(t *testing.T) {
	s := newSystem(t, sysOpts{})
	s.traffic(30)
	var rep map[string]any
	decode(t, s.do("GET", admin.Base+"/report?period=1h", "", nil), &rep)
	if rep["samples"].(float64) != 1 || rep["calls"].(float64)+rep["legacyCalls"].(float64) != 30 {
		t.Errorf("report %v", rep)
	}
	if r := s.do("GET", admin.Base+"/report?period=7d&format=text", "", nil); r.code != 200 || !strings.HasPrefix(r.hdr.Get("Content-Type"), "text/plain") {
		t.Errorf("text report: %d", r.code)
	}
	for _, p := range []string{"?period=bogus", "?period=-1h", "?period=0s", "?format=pdf"} {
		if r := s.do("GET", admin.Base+"/report"+p, "", nil); r.code != 400 {
			t.Errorf("report%s: %d", p, r.code)
		} else {
			r.errMsg(t)
		}
	}
	var sum map[string]any
	decode(t, s.do("GET", admin.Base+"/metrics/calls?period=1h", "", nil), &sum)
	if sum["metric"] != "calls" || sum["sum"].(float64) != rep["calls"].(float64) {
		t.Errorf("summary %v", sum)
	}
	if r := s.do("GET", admin.Base+"/metrics/bogus", "", nil); r.code != 404 || !strings.Contains(r.errMsg(t), `"bogus"`) {
		t.Errorf("unknown metric: %d %s", r.code, r.body)
	}
	if r := s.do("GET", admin.Base+"/metrics/calls?from=2026-01-15T11:00:00Z&to=2026-01-15T10:00:00Z", "", nil); r.code != 400 {
		t.Errorf("from after to: %d", r.code)
	}
	if r := s.do("GET", admin.Base+"/metrics/calls?from=2026-01-15T09:00:00Z&to=2026-01-15T11:00:00Z", "", nil); r.code != 200 {
		t.Errorf("from/to: %d %s", r.code, r.body)
	}
	if r := s.do("GET", admin.Base+"/metrics/calls?from=yesterday", "", nil); r.code != 400 {
		t.Errorf("bad from: %d", r.code)
	}
}

func TestNotConfigured(t *testing.T) {
	h, err := admin.New(admin.WithBridge(nopBridge{}), admin.WithAuthorizer(admin.BearerToken(token)))
	must(t, err)
	s := &system{t: t, h: h}
	for _, p := range []string{"/pool", "/rollout", "/rollbacks", "/alerts", "/report"} {
		if r := s.do("GET", admin.Base+p, "", nil); r.code != http.StatusNotImplemented {
			t.Errorf("GET %s without its object: %d", p, r.code)
		} else {
			r.errMsg(t)
		}
	}
	if r := s.do("POST", admin.Base+"/rollout/advance", token, `{"reason":"x"}`); r.code != http.StatusNotImplemented {
		t.Errorf("advance without a controller: %d", r.code)
	}
	var st admin.Status
	decode(t, s.do("GET", admin.Base+"/status", "", nil), &st)
	if st.Mode != "full" || st.Rollout != nil || st.Health != nil {
		t.Errorf("status with a bridge only: %+v", st)
	}
}

func TestPanicIsAnError(t *testing.T) {
	h, err := admin.New(admin.WithPool(panicPool{}))
	must(t, err)
	s := &system{t: t, h: h}
	if r := s.do("GET", admin.Base+"/pool", "", nil); r.code != 500 || r.errMsg(t) != "internal error" {
		t.Errorf("panicking pool: %d %s", r.code, r.body)
	}
}

func TestActionLimit(t *testing.T) {
	s := newSystem(t, sysOpts{admin: []admin.Option{admin.WithActionLimit(2)}})
	for _, p := range []float64{10, 20, 30} {
		if r := s.do("POST", admin.Base+"/percentage", token, map[string]any{"percentage": p, "reason": "step"}); r.code != 200 {
			t.Fatal(r.code)
		}
	}
	a := s.h.Actions()
	if len(a) != 2 || a[0].Target != "20" || a[1].Target != "30" || a[1].Seq != 3 {
		t.Errorf("kept %+v", a)
	}
}

// With a read authorizer every read route refuses a request without its
// token, and the event stream too.
func TestReadAuthorizerClosesEveryReadRoute(t *testing.T) {
	s := newSystem(t, sysOpts{admin: []admin.Option{admin.WithReadAuthorizer(admin.BearerToken(token))}})
	for _, r := range admin.Routes() {
		if r.Mutating {
			continue
		}
		path := strings.ReplaceAll(strings.ReplaceAll(r.Path, "{id}", "rb-x"), "{name}", "calls")
		if rec := s.do("GET", path, "", nil); rec.code != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d", path, rec.code)
		} else {
			rec.errMsg(t)
		}
		if rec := s.do("GET", path, "nope", nil); rec.code != http.StatusForbidden {
			t.Errorf("GET %s with a bad token: %d", path, rec.code)
		}
	}
}

// Every action route refuses each kind of bad request the same way, and
// none of them changes anything.
func TestEveryActionRouteRefuses(t *testing.T) {
	s := newSystem(t, sysOpts{})
	big := `{"reason":"` + strings.Repeat("x", admin.MaxBodyBytes) + `"}`
	for _, r := range admin.Routes() {
		if !r.Mutating {
			continue
		}
		before := s.world()
		for _, c := range []struct {
			method, tok, body string
			code              int
		}{
			{"POST", "", `{"reason":"x"}`, http.StatusUnauthorized},
			{"POST", "bad", `{"reason":"x"}`, http.StatusForbidden},
			{"POST", token, `{"reason":`, http.StatusBadRequest},
			{"POST", token, `{"reason":"x","extra":1}`, http.StatusBadRequest},
			{"POST", token, big, http.StatusRequestEntityTooLarge},
			{"POST", token, `{}`, http.StatusBadRequest}, // no reason
			{"GET", token, ``, http.StatusMethodNotAllowed},
			{"PUT", token, `{"reason":"x"}`, http.StatusMethodNotAllowed},
		} {
			rec := s.do(c.method, r.Path, c.tok, c.body)
			if rec.code != c.code {
				t.Errorf("%s %s (token %q, body %.30q): %d, want %d: %s", c.method, r.Path, c.tok, c.body, rec.code, c.code, rec.body)
				continue
			}
			msg := rec.errMsg(t)
			if c.code == http.StatusBadRequest && strings.Contains(c.body, "extra") && !strings.Contains(msg, `"extra"`) {
				t.Errorf("%s: %q does not name the unknown field", r.Path, msg)
			}
			if c.code == http.StatusMethodNotAllowed && rec.hdr.Get("Allow") != "POST" {
				t.Errorf("%s %s: Allow %q", c.method, r.Path, rec.hdr.Get("Allow"))
			}
		}
		s.unchanged(before, "bad requests to "+r.Path)
	}
}
