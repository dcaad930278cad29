package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"go.uber.org/goleak"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/examples/server/host"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const token = "ctl-token"

// fixture is the reference host in memory on a mock clock, served over
// HTTP, and bumbactl run in process against it.
type fixture struct {
	t   *testing.T
	sys *host.System
	url string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cfg := host.Default()
	cfg.AdminToken = token
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	sys, err := host.New(cfg, host.Options{Clock: clk, InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sys.Handler())
	t.Cleanup(func() {
		_ = sys.Admin.Close()
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sys.Close(ctx)
	})
	return &fixture{t: t, sys: sys, url: srv.URL}
}

func (f *fixture) run(env map[string]string, args ...string) (string, string, int) {
	f.t.Helper()
	vars := map[string]string{"BUMBA_ADMIN_URL": f.url, "BUMBA_ADMIN_TOKEN": token}
	for k, v := range env {
		vars[k] = v
	}
	var out, errOut strings.Builder
	code := run(context.Background(), args, func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, &out, &errOut)
	return out.String(), errOut.String(), code
}

func (f *fixture) ok(args ...string) string {
	f.t.Helper()
	out, errOut, code := f.run(nil, args...)
	if code != 0 {
		f.t.Fatalf("bumbactl %v: exit %d: %s", args, code, errOut)
	}
	return out
}

func TestStatusTableAndJSON(t *testing.T) {
	f := newFixture(t)
	out := f.ok("status")
	for _, s := range []string{"Routing", "fallback", "preparation (1/8", "Health", "HEALTHY", "Pool", "0/20 warm"} {
		if !strings.Contains(out, s) {
			t.Errorf("status table lacks %q:\n%s", s, out)
		}
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(f.ok("status", "-json")), &st); err != nil || st["mode"] != "fallback" {
		t.Errorf("status -json: %v %v", st, err)
	}
	// -json before the command works too.
	if err := json.Unmarshal([]byte(f.ok("-json", "status")), &st); err != nil {
		t.Errorf("-json status: %v", err)
	}
}

func TestActionsChangeTheHost(t *testing.T) {
	f := newFixture(t)
	if out := f.ok("step", "hybrid-50", "-reason", "go"); !strings.Contains(out, "set_step") || f.sys.Bridge.Mode() != bridge.ModeHybrid {
		t.Fatalf("step: %q, mode %v", out, f.sys.Bridge.Mode())
	}
	f.ok("percentage", "30", "-reason", "less")
	if p := f.sys.Bridge.Percentage(); p != 30 {
		t.Fatalf("percentage %v", p)
	}
	if out := f.ok("percentage"); strings.TrimSpace(out) != "30" {
		t.Errorf("percentage reads %q", out)
	}
	if out := f.ok("mode"); strings.TrimSpace(out) != "hybrid" {
		t.Errorf("mode reads %q", out)
	}
	f.ok("hold", "-reason", "wait")
	if st := f.sys.Rollout.Status().State; st != "held" {
		t.Errorf("after hold: %v", st)
	}
	f.ok("resume", "-reason", "go on")
	f.ok("advance", "-reason", "faster")
	if s := f.sys.Rollout.Status().Step.Name; s != "hybrid-75" {
		t.Errorf("after advance: %s", s)
	}
	f.ok("mode", "full", "-reason", "all in")
	if f.sys.Bridge.Mode() != bridge.ModeFull {
		t.Errorf("mode %v", f.sys.Bridge.Mode())
	}

	var res struct {
		Record struct {
			ID string `json:"id"`
		} `json:"record"`
	}
	if err := json.Unmarshal([]byte(f.ok("rollback", "emergency", "-reason", "Production issue", "-json")), &res); err != nil || res.Record.ID == "" {
		t.Fatalf("rollback: %v %+v", err, res)
	}
	id := res.Record.ID
	if f.sys.Bridge.Mode() != bridge.ModeFallback {
		t.Errorf("after the rollback: %v", f.sys.Bridge.Mode())
	}
	if out := f.ok("rollbacks"); !strings.Contains(out, id) || !strings.Contains(out, "emergency") || !strings.Contains(out, "pending") {
		t.Errorf("rollbacks:\n%s", out)
	}
	if out := f.ok("analyze", id); !strings.Contains(out, id) || !strings.Contains(out, "Production issue") {
		t.Errorf("analyze:\n%s", out)
	}
	var an map[string]any
	if err := json.Unmarshal([]byte(f.ok("analyze", id, "-json")), &an); err != nil || an["record"] == nil {
		t.Errorf("analyze -json: %v", err)
	}
	if out := f.ok("actions"); strings.Count(out, "\n") != 8 || !strings.Contains(out, "emergency_rollback") {
		t.Errorf("actions (header + 7):\n%s", out)
	}
}

func TestReadCommands(t *testing.T) {
	f := newFixture(t)
	if out := f.ok("specialists"); strings.Count(out, "\n") != 21 || !strings.Contains(out, "api-architect") {
		t.Errorf("specialists (header + 20):\n%s", out)
	}
	var sp struct {
		Specialists []map[string]any `json:"specialists"`
	}
	if err := json.Unmarshal([]byte(f.ok("specialists", "-json")), &sp); err != nil || len(sp.Specialists) != 20 {
		t.Errorf("specialists -json: %v %d", err, len(sp.Specialists))
	}
	f.sys.Monitor.Collect()
	if out := f.ok("report", "-period", "1h"); !strings.Contains(out, "memory saved") {
		t.Errorf("report:\n%s", out)
	}
	if out := f.ok("health"); !strings.Contains(out, "HEALTHY") || !strings.Contains(out, "COMPONENT") {
		t.Errorf("health:\n%s", out)
	}
	if out := f.ok("alerts"); !strings.Contains(out, "SEVERITY") {
		t.Errorf("alerts:\n%s", out)
	}
	f.ok("alerts", "-history", "-json")
}

func TestExitCodes(t *testing.T) {
	f := newFixture(t)
	before := f.sys.Bridge.Percentage()
	cases := []struct {
		env  map[string]string
		args []string
		code int
		says string
	}{
		{nil, []string{"percentage", "50"}, 2, "-reason is required"},
		{nil, []string{"percentage", "150", "-reason", "x"}, 2, "0 to 100"},
		{nil, []string{"rollback", "sideways", "-reason", "x"}, 2, "emergency or planned"},
		{nil, []string{"frobnicate"}, 2, "unknown command"},
		{nil, []string{"status", "-bogus"}, 2, "-bogus"},
		{nil, []string{}, 2, "Usage"},
		{map[string]string{"BUMBA_ADMIN_TOKEN": "wrong"}, []string{"percentage", "50", "-reason", "x"}, 1, "HTTP 403"},
		{map[string]string{"BUMBA_ADMIN_TOKEN": ""}, []string{"hold", "-reason", "x"}, 1, "HTTP 401"},
		{nil, []string{"step", "hybrid-99", "-reason", "x"}, 1, `"hybrid-99"`},
		{nil, []string{"rollback", "emergency", "-reason", "x"}, 1, "nothing to roll back"},
		{nil, []string{"analyze", "rb-nope"}, 1, `"rb-nope"`},
		{nil, []string{"-url", "http://127.0.0.1:1", "status"}, 1, "cannot reach"},
	}
	for _, c := range cases {
		_, errOut, code := f.run(c.env, c.args...)
		if code != c.code || !strings.Contains(errOut, c.says) {
			t.Errorf("bumbactl %v: exit %d, %q; want %d saying %q", c.args, code, errOut, c.code, c.says)
		}
		if code == 1 && strings.Count(strings.TrimRight(errOut, "\n"), "\n") != 0 {
			t.Errorf("bumbactl %v: the error is not one line: %q", c.args, errOut)
		}
	}
	if f.sys.Bridge.Percentage() != before {
		t.Error("a refused command changed the host")
	}
	if _, errOut, code := f.run(nil, "-h"); code != 0 || !strings.Contains(errOut, "validate-config") {
		t.Errorf("-h: %d %q", code, errOut)
	}
	if _, errOut, code := f.run(nil, "rollback", "-h"); code != 0 || !strings.Contains(errOut, "-reason") {
		t.Errorf("rollback -h: %d %q", code, errOut)
	}
}

func TestValidateConfig(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.env")
	bad := filepath.Join(dir, "bad.env")
	if err := os.WriteFile(good, []byte("export BUMBA_INTELLIGENT_POOLING=true\nexport BUMBA_POOL_MAX_WARM=4\nexport BUMBA_LOG_LEVEL=info\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("BUMBA_POOL_MAX_WARM=400\nBUMBA_POOL_WARMTHRESHOLD=0.95\nBUMBA_AUTO_ROLLBACK=perhaps\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := f.ok("validate-config", good); !strings.Contains(out, "valid") {
		t.Errorf("good file: %q", out)
	}
	out, _, code := f.run(nil, "validate-config", bad)
	if code != 1 || !strings.Contains(out, "BUMBA_AUTO_ROLLBACK") {
		t.Errorf("bad file: exit %d\n%s", code, out)
	}
	// The form is right once the boolean is: the pool names both ranges.
	if err := os.WriteFile(bad, []byte("BUMBA_POOL_MAX_WARM=400\nBUMBA_POOL_WARMTHRESHOLD=0.95\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code = f.run(nil, "validate-config", "-json", bad)
	var v validation
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != 1 || v.Valid || len(v.Errors) != 2 {
		t.Errorf("bad ranges: exit %d, %+v, %v", code, v, err)
	}
	if out, _, code := f.run(map[string]string{"BUMBA_MONITORING_ENABLED": "nah"}, "validate-config", "-env"); code != 1 || !strings.Contains(out, "BUMBA_MONITORING_ENABLED") {
		t.Errorf("-env: exit %d %q", code, out)
	}
	if _, _, code := f.run(nil, "validate-config"); code != 2 {
		t.Errorf("no source: exit %d", code)
	}
	if _, _, code := f.run(nil, "validate-config", filepath.Join(dir, "missing")); code != 2 {
		t.Errorf("missing file: exit %d", code)
	}
}

// cancelWriter cancels a context once the watch has drawn twice.
type cancelWriter struct {
	mu     sync.Mutex
	b      strings.Builder
	cancel func()
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.b.Write(p)
	if strings.Count(w.b.String(), "---") >= 2 {
		w.cancel()
	}
	return n, err
}

func TestStatusWatch(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &cancelWriter{cancel: cancel}
	var errOut strings.Builder
	code := run(ctx, []string{"-url", f.url, "status", "-watch", "-every", "10ms"}, func(string) (string, bool) { return "", false }, w, &errOut)
	if code != 0 || strings.Count(w.b.String(), "Routing") != 2 {
		t.Errorf("watch: exit %d, %q, %q", code, w.b.String(), errOut.String())
	}
}

func TestValidateSeedJSON(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "production.json")
	if err := os.WriteFile(p, []byte(`{"maxWarmSpecialists": 5, "cooldownTime": 45000, "warmThreshold": 0.3,
		"fallbackThreshold": 0.8, "autoRollbackEnabled": true, "gracefulShutdown": true, "logLevel": "info"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := f.ok("validate-config", p); !strings.Contains(out, "valid") || !strings.Contains(out, "note: gracefulShutdown") {
		t.Errorf("seed JSON: %q", out)
	}
	if err := os.WriteFile(p, []byte(`{"warmThreshold": 0.9, "fallbackThreshold": 2, "turbo": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := f.run(nil, "validate-config", p)
	if code != 1 || !strings.Contains(out, "turbo: unknown setting") {
		t.Errorf("bad seed JSON: exit %d\n%s", code, out)
	}
}
