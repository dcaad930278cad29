package monitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/monitor"
	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/pool/pooltest"
)

type agent struct{ id string }

func (a agent) Execute(_ context.Context, t pool.Task) (pool.Result, error) {
	return pool.Result{Output: a.id + ": " + t.Command}, nil
}
func (agent) Close() error { return nil }

// A host monitors its pool: samples every 30 s (here by hand, on a fake
// clock), alerts to a listener, the health endpoint and Prometheus on the
// host's own registry.
func Example() {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC))

	var specs []pool.Spec
	for _, id := range []string{"api-architect", "react-lead", "css-architect", "qa-architect", "devops-lead"} {
		specs = append(specs, pool.Spec{ID: id, Department: "ENGINEERING", Memory: 5 << 20,
			Start: func(context.Context) (pool.Instance, error) { return agent{id}, nil }})
	}
	p, err := pool.New(specs, pool.WithClock(clk), pool.WithMaxWarm(3))
	if err != nil {
		panic(err)
	}
	defer p.Close(ctx)

	m, err := monitor.New(monitor.WithPool(p), monitor.WithClock(clk),
		monitor.WithListener(func(a monitor.Alert) { fmt.Println(a) }))
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		panic(err)
	}
	// go m.Run(ctx) would collect every 30 s; here we collect by hand.

	for _, id := range []string{"api-architect", "api-architect", "api-architect", "api-architect", "react-lead"} {
		if _, err := p.Execute(ctx, pool.Task{Specialist: id, Command: "implement"}); err != nil {
			panic(err)
		}
	}
	clk.Add(30 * time.Second)
	s := m.Collect()
	rate, _ := s.Value(monitor.MetricWarmHitRate)
	fmt.Printf("warm hit rate %.0f%%, health %.1f\n", 100*rate, m.HealthScore())

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", monitor.HealthPath, nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// warm hit rate 60%, health 97.5
	// 200 {
	//   "status": "HEALTHY",
	//   "uptime": 30000,
	//   "specialists": {
	//     "warm": 2,
	//     "total": 5,
	//     "utilization": 0.4
	//   },
	//   "performance": {
	//     "averageResponseTime": 0,
	//     "warmHitRate": 0.6,
	//     "queueDepth": 0
	//   },
	//   "memory": {
	//     "current": 10,
	//     "saved": 15,
	//     "efficiency": 60
	//   },
	//   "alerts": 0,
	//   "lastCheck": "2024-01-15T10:00:30Z"
	// }
}

// monitorHost is the README's monitoring of a host, as it is there.
func monitorHost(ctx context.Context, p *pool.Pool, b *bridge.Bridge, logger *slog.Logger, page func(monitor.Alert),
	registry *prometheus.Registry, mux *http.ServeMux) error {
	// readme:begin monitor
	m, err := monitor.New(monitor.WithPool(p), monitor.WithBridge(b), monitor.WithLogger(logger),
		monitor.WithListener(page)) // page(monitor.Alert): each firing and resolution, once
	if err != nil {
		return err // names the setting, the value and the allowed range
	}
	b.AddObserver(m.BridgeObserver())           // latency histograms (optional)
	registry.MustRegister(m.Collector())        // the host's registry, never the global one
	mux.Handle(monitor.HealthPath, m.Handler()) // 200 HEALTHY/DEGRADED, 503 CRITICAL, 405 not GET
	go m.Run(ctx)                               // a sample every 30 s; returns when ctx ends
	// readme:end
	return nil
}

// The README's monitoring, compiled and run: the health endpoint answers
// on the host's mux.
func Example_readmeMonitoring() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := clock.NewMock()
	fleet := pooltest.New(clk, pooltest.WithMemory(5<<20))
	p, err := pool.New([]pool.Spec{fleet.Spec("api-architect", "BACKEND"), fleet.Spec("react-lead", "FRONTEND")}, pool.WithClock(clk))
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())
	exec, err := bridge.NewPoolExecutor(p)
	if err != nil {
		panic(err)
	}
	legacy := bridge.ExecutorFunc(func(context.Context, bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: "ok"}, nil
	})
	b, err := bridge.New(legacy, exec, bridge.WithClock(clk))
	if err != nil {
		panic(err)
	}
	defer b.Close(context.Background())
	mux := http.NewServeMux()
	page := func(a monitor.Alert) { fmt.Println("page:", a.Rule, a.State) }
	if err := monitorHost(ctx, p, b, slog.New(slog.DiscardHandler), page, prometheus.NewRegistry(), mux); err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", monitor.HealthPath, nil))
	var h struct{ Status string }
	_ = json.Unmarshal(rec.Body.Bytes(), &h)
	fmt.Println(rec.Code, h.Status)
	// Output:
	// 200 HEALTHY
}
