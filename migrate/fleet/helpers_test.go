package fleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/migrate/fleet/fleettest"
)

var srv *fleettest.Server

func TestMain(m *testing.M) {
	var err error
	srv, err = fleettest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

var errBoom = errors.New("boom")

var runs int // makes each fleet's prefix unique under -count

// replica is one host process of a test fleet: a real bridge whose
// intelligent executor fails while fail is set, its metrics and member.
type replica struct {
	name    string
	b       *bridge.Bridge
	m       *Member
	fail    atomic.Bool
	proxy   *fleettest.Proxy
	mu      sync.Mutex
	follows []followAt
}

type followAt struct {
	f  Follow
	at time.Time // real time the replica applied it
}

func (r *replica) lastFollow() (followAt, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.follows) == 0 {
		return followAt{}, false
	}
	return r.follows[len(r.follows)-1], true
}

// drive serves n commands through the replica's bridge.
func (r *replica) drive(t testing.TB, n int) {
	t.Helper()
	for i := range n {
		_, _ = r.b.Execute(context.Background(), bridge.Command{Name: "implement", RoutingKey: fmt.Sprint(i)})
	}
}

type testFleet struct {
	t        testing.TB
	clk      *clock.Mock
	prefix   string
	plan     migrate.Plan
	replicas []*replica
}

// testPlan is three short steps; hybrid-50 needs 100 intelligent calls
// with an error rate below 2 %.
func testPlan() migrate.Plan {
	gate := migrate.Gate{Criteria: []migrate.Criterion{{Metric: migrate.MetricErrorRate, Op: migrate.Below, Threshold: 0.02}}, MinCalls: 100}
	return migrate.Plan{Name: "test", Steps: []migrate.Step{
		{Name: "shadow", Phase: migrate.PhaseShadow, Routing: migrate.Routing{Mode: bridge.ModeShadow}, Soak: time.Minute},
		{Name: "hybrid-50", Phase: migrate.PhaseHybrid, Routing: migrate.Routing{Mode: bridge.ModeHybrid, Percentage: 50}, Soak: time.Minute, Gate: gate},
		{Name: "full", Phase: migrate.PhaseFull, Routing: migrate.Routing{Mode: bridge.ModeFull, Percentage: 100}, Soak: time.Minute, Gate: gate},
	}}
}

func newFleet(t testing.TB) *testFleet {
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	runs++
	return &testFleet{t: t, clk: clock.NewMock(), prefix: fmt.Sprintf("/test/%s-%d/", name, runs), plan: testPlan()}
}

// add starts a replica; through a proxy when proxied (so it can be cut).
func (f *testFleet) add(name string, proxied bool, opts ...Option) *replica {
	t := f.t
	t.Helper()
	r := &replica{name: name}
	legacy := bridge.ExecutorFunc(func(ctx context.Context, cmd bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: "ok"}, nil
	})
	intel := bridge.ExecutorFunc(func(ctx context.Context, cmd bridge.Command) (bridge.Response, error) {
		if r.fail.Load() {
			return bridge.Response{}, errBoom
		}
		return bridge.Response{Output: "ok"}, nil
	})
	b, err := bridge.New(legacy, intel, bridge.WithClock(f.clk), bridge.WithMode(bridge.ModeFallback))
	require.NoError(t, err)
	r.b = b
	metrics, err := migrate.NewStatsMetrics(b, nil, f.clk)
	require.NoError(t, err)
	endpoints := srv.Endpoints()
	if proxied {
		r.proxy, err = fleettest.NewProxy(srv.Endpoint())
		require.NoError(t, err)
		endpoints = r.proxy.Endpoints()
	}
	cfg := Config{Endpoints: endpoints, Prefix: f.prefix, Replica: name, LeaseTTL: time.Second, DialTimeout: 2 * time.Second}
	base := []Option{WithClock(f.clk), WithRequestTimeout(500 * time.Millisecond), WithPublishInterval(time.Hour),
		WithStepInterval(time.Hour), WithController(migrate.WithPlan(f.plan)),
		WithFollowListener(func(fl Follow) {
			r.mu.Lock()
			r.follows = append(r.follows, followAt{fl, time.Now()})
			r.mu.Unlock()
		})}
	m, err := New(cfg, b, metrics, append(base, opts...)...)
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	r.m = m
	f.replicas = append(f.replicas, r)
	t.Cleanup(func() { r.close() })
	return r
}

func (r *replica) close() {
	_ = r.m.Close()
	_ = r.b.Close(context.Background())
	if r.proxy != nil {
		r.proxy.Close()
	}
}

// leader waits until exactly one replica leads and returns it.
func (f *testFleet) leader() *replica {
	f.t.Helper()
	var lead *replica
	require.Eventually(f.t, func() bool {
		lead = nil
		n := 0
		for _, r := range f.replicas {
			if !r.m.closed.Load() && r.m.IsLeader() {
				lead = r
				n++
			}
		}
		return n == 1
	}, 10*time.Second, 5*time.Millisecond, "exactly one leader")
	return lead
}

// converged waits until every live replica's bridge routes as want.
func (f *testFleet) converged(want migrate.Routing, within time.Duration, skip ...*replica) {
	f.t.Helper()
	require.Eventually(f.t, func() bool {
		for _, r := range f.replicas {
			if r.m.closed.Load() || contains(skip, r) {
				continue
			}
			if !migrate.CurrentRouting(r.b).Equal(want) {
				return false
			}
		}
		return true
	}, within, time.Millisecond, "every replica routes %s", want)
}

// inFallback waits until every live replica's bridge is in Fallback (the
// percentage then routes nothing).
func (f *testFleet) inFallback(within time.Duration) {
	f.t.Helper()
	require.Eventually(f.t, func() bool {
		for _, r := range f.replicas {
			if !r.m.closed.Load() && r.b.Mode() != bridge.ModeFallback {
				return false
			}
		}
		return true
	}, within, time.Millisecond, "every replica in fallback")
}

func contains(rs []*replica, r *replica) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// publishAll makes every live replica publish its counters now.
func (f *testFleet) publishAll() {
	for _, r := range f.replicas {
		if !r.m.closed.Load() && !r.m.Partitioned() {
			require.NoError(f.t, r.m.Publish(context.Background()))
		}
	}
}

// rollout reads the shared rollout section as the controller saved it.
func (f *testFleet) rollout(cli *clientv3.Client) rolloutView {
	f.t.Helper()
	st, err := NewStore(context.Background(), cli, f.prefix, "reader", f.clk)
	require.NoError(f.t, err)
	data, err := st.Load(context.Background(), migrate.SectionRollout)
	require.NoError(f.t, err)
	var v rolloutView
	if data != nil {
		require.NoError(f.t, jsonUnmarshal(data, &v))
	}
	return v
}

type rolloutView struct {
	Step    string             `json:"step"`
	State   string             `json:"state"`
	Soaked  time.Duration      `json:"soaked"`
	History []migrate.Decision `json:"history"`
}

func (v rolloutView) count(a migrate.Action) int {
	n := 0
	for _, d := range v.History {
		if d.Action == a {
			n++
		}
	}
	return n
}
