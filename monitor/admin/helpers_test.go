package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/monitor"
	"github.com/bumba/pooling/monitor/admin"
	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/pool/pooltest"
	"github.com/bumba/pooling/rollback"
)

const token = "s3cret-token"

// system is a real host on a mock clock: a pool of fake specialists, a
// bridge (whose intelligent side is a plain function, so that commands never
// wait for a start), a monitor, a rollout controller and a rollback manager.
type system struct {
	t     *testing.T
	clk   *clock.Mock
	pool  *pool.Pool
	br    *bridge.Bridge
	mon   *monitor.Monitor
	ctrl  *migrate.Controller
	rb    *rollback.Manager
	h     *admin.Handler
	fleet *pooltest.Fleet
}

type sysOpts struct {
	admin     []admin.Option
	startStep string
	noAuth    bool
}

func newSystem(t *testing.T, so sysOpts) *system {
	t.Helper()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	s := &system{t: t, clk: clk}
	s.fleet = pooltest.New(clk, pooltest.WithMemory(5<<20))
	specs := []pool.Spec{
		s.fleet.Spec("api-architect", "backend"),
		s.fleet.Spec("db-specialist", "backend"),
		s.fleet.Spec("react-lead", "frontend"),
		s.fleet.Spec("qa-lead", "qa"),
	}
	var err error
	s.pool, err = pool.New(specs, pool.WithClock(clk), pool.WithMaxWarm(2))
	must(t, err)
	legacy := bridge.ExecutorFunc(func(context.Context, bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: "ok"}, nil
	})
	intelligent := bridge.ExecutorFunc(func(context.Context, bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: "ok"}, nil
	})
	s.br, err = bridge.New(legacy, intelligent, bridge.WithClock(clk))
	must(t, err)
	s.mon, err = monitor.New(monitor.WithPool(s.pool), monitor.WithBridge(s.br), monitor.WithClock(clk))
	must(t, err)
	metrics, err := migrate.NewStatsMetrics(s.br, s.pool, clk)
	must(t, err)
	store := migrate.NewMemoryStore()
	s.rb, err = rollback.New(s.br, metrics, rollback.WithClock(clk), rollback.WithStore(store),
		rollback.WithHealth(rollback.HealthFunc(s.mon.HealthScore)))
	must(t, err)
	start := so.startStep
	if start == "" {
		start = "hybrid-50"
	}
	s.ctrl, err = migrate.New(s.br, metrics, migrate.WithClock(clk), migrate.WithStore(store),
		migrate.WithGuard(s.rb), migrate.WithStartStep(start))
	must(t, err)
	opts := []admin.Option{admin.WithPool(s.pool), admin.WithBridge(s.br), admin.WithMonitor(s.mon),
		admin.WithRollout(s.ctrl), admin.WithRollbacks(s.rb), admin.WithClock(clk), admin.WithReplica("replica-a")}
	if !so.noAuth {
		opts = append(opts, admin.WithAuthorizer(admin.BearerToken(token)))
	}
	s.h, err = admin.New(append(opts, so.admin...)...)
	must(t, err)
	t.Cleanup(func() {
		_ = s.h.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.br.Close(ctx)
		_ = s.pool.Close(ctx)
	})
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type resp struct {
	code int
	hdr  http.Header
	body []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

func (r resp) errMsg(t *testing.T) string {
	t.Helper()
	m := r.json(t)
	s, ok := m["error"].(string)
	if !ok || s == "" {
		t.Fatalf("no \"error\" in %s", r.body)
	}
	return s
}

// do sends a request to the handler; tok "" sends no Authorization.
func (s *system) do(method, path, tok string, body any) resp {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		must(s.t, err)
		rd = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return resp{code: rec.Code, hdr: rec.Header(), body: rec.Body.Bytes()}
}

// world is what a refused request must leave unchanged.
type world struct {
	Mode       bridge.Mode
	Percentage float64
	Step       string
	State      migrate.State
	Decisions  int
	Rollbacks  int
	Actions    int
}

func (s *system) world() world {
	st := s.ctrl.Status()
	return world{Mode: s.br.Mode(), Percentage: s.br.Percentage(), Step: st.Step.Name, State: st.State,
		Decisions: len(s.ctrl.History()), Rollbacks: len(s.rb.History()), Actions: len(s.h.Actions())}
}

func (s *system) unchanged(before world, what string) {
	s.t.Helper()
	if after := s.world(); after != before {
		s.t.Errorf("%s changed the system: before %+v, after %+v", what, before, after)
	}
}

// traffic runs n commands through the bridge and collects a sample.
func (s *system) traffic(n int) {
	for i := 0; i < n; i++ {
		if _, err := s.br.Execute(context.Background(), bridge.Command{Name: "implement"}); err != nil {
			s.t.Fatal(err)
		}
	}
	s.clk.Add(30 * time.Second)
	s.mon.Collect()
}
