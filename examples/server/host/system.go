package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/monitor"
	"github.com/bumba/pooling/monitor/admin"
	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/pool/pooltest"
	"github.com/bumba/pooling/rollback"
)

// Files in the state directory.
const (
	StateFile           = "state.json"   // the rollout and the rollbacks (migrate.FileStore)
	PoolSnapshotFile    = "pool.snap"    // pool.Pool.Snapshot
	MonitorSnapshotFile = "monitor.snap" // monitor.Monitor.Snapshot
)

// DefaultMaxWarm is the server's warm cap unless BUMBA_POOL_MAX_WARM says
// otherwise: 25 % of its 20 specialists (most of a workflow), leaving the
// memory efficiency above the gate's 70 %.
const DefaultMaxWarm = 5

// System is every object of a running host.
type System struct {
	Config    Config
	Clock     clock.Clock
	Logger    *slog.Logger
	Fleet     *pooltest.Fleet
	Pool      *pool.Pool
	Bridge    *bridge.Bridge
	Monitor   *monitor.Monitor // nil with monitoring disabled
	Metrics   *migrate.StatsMetrics
	Store     migrate.Store
	Rollbacks *rollback.Manager
	Rollout   *migrate.Controller // nil with the intelligent pool disabled
	Admin     *admin.Handler
	Registry  *prometheus.Registry

	closeOnce sync.Once
	closeErr  error
}

// Options for New beyond the Config.
type Options struct {
	// Clock is the clock every object reads (default: the real clock).
	Clock clock.Clock
	// Logger (default: discard).
	Logger *slog.Logger
	// InMemory keeps state in memory and restores no snapshot (for
	// validate-config: nothing is read or written).
	InMemory bool
}

// New builds the host from cfg: every constructor runs, so every bad setting
// is reported (joined, each naming the setting). It starts no specialist and
// serves nothing; Run drives it and Close shuts it down.
func New(cfg Config, o Options) (*System, error) {
	clk := o.Clock
	if clk == nil {
		clk = clock.New()
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &System{Config: cfg, Clock: clk, Logger: logger}
	ok := false
	defer func() {
		if !ok {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = s.Close(ctx)
		}
	}()

	s.Fleet = NewFleet(clk)
	// The catalogue is small (20): DefaultMaxWarm, not 20 %; the
	// environment's BUMBA_POOL_MAX_WARM overrides it.
	popts := append([]pool.Option{pool.WithClock(clk), pool.WithLogger(logger), pool.WithWorkflows(Workflows()...),
		pool.WithMaxWarm(DefaultMaxWarm)}, cfg.PoolOptions...)
	var snapErr error
	if !o.InMemory {
		if data, err := os.ReadFile(filepath.Join(cfg.StateDir, PoolSnapshotFile)); err == nil {
			popts = append(popts, pool.WithRestore(bytes.NewReader(data)))
		} else if !errors.Is(err, os.ErrNotExist) {
			snapErr = err
		}
	}
	var err error
	if s.Pool, err = pool.New(s.Fleet.Specs(), popts...); err != nil {
		return nil, fmt.Errorf("pool: %w", err)
	}
	if snapErr != nil {
		logger.Warn("pool snapshot not read", "error", snapErr)
	}
	pe, err := bridge.NewPoolExecutor(s.Pool, bridge.WithRoutes(Routes()))
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	bopts := []bridge.Option{bridge.WithClock(clk), bridge.WithLogger(logger), bridge.WithShadowConcurrency(64)}
	if !cfg.Intelligent {
		bopts = append(bopts, bridge.WithMode(bridge.ModeFallback))
	}
	if cfg.FallbackThreshold != 0 {
		bopts = append(bopts, bridge.WithFallbackThreshold(cfg.FallbackThreshold))
	}
	if s.Bridge, err = bridge.New(Legacy(clk), pe, bopts...); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	s.Registry = prometheus.NewRegistry()
	s.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cfg.Monitoring {
		mopts := []monitor.Option{monitor.WithPool(s.Pool), monitor.WithBridge(s.Bridge), monitor.WithClock(clk),
			monitor.WithLogger(logger), monitor.WithInterval(cfg.Interval)}
		if !o.InMemory {
			if data, err := os.ReadFile(filepath.Join(cfg.StateDir, MonitorSnapshotFile)); err == nil {
				mopts = append(mopts, monitor.WithRestore(bytes.NewReader(data)))
			}
		}
		if s.Monitor, err = monitor.New(mopts...); err != nil {
			return nil, fmt.Errorf("monitor: %w", err)
		}
		if _, err := s.Bridge.AddObserver(s.Monitor.BridgeObserver()); err != nil {
			return nil, err
		}
		if err := s.Monitor.Register(s.Registry); err != nil {
			return nil, fmt.Errorf("monitor: %w", err)
		}
	}
	if s.Metrics, err = migrate.NewStatsMetrics(s.Bridge, s.Pool, clk); err != nil {
		return nil, err
	}
	if o.InMemory {
		s.Store = migrate.NewMemoryStore()
	} else {
		if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvStateDir, err)
		}
		fs, err := migrate.OpenFileStore(filepath.Join(cfg.StateDir, StateFile))
		if err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
		s.Store = fs
	}
	ropts := []rollback.Option{rollback.WithClock(clk), rollback.WithLogger(logger), rollback.WithStore(s.Store),
		rollback.WithAutoRollback(cfg.AutoRollback), rollback.WithListener(s.onRollback)}
	if s.Monitor != nil {
		ropts = append(ropts, rollback.WithHealth(rollback.HealthFunc(s.Monitor.HealthScore)),
			rollback.WithAlerts(rollback.AlertsFunc(s.criticalAlerts)))
	}
	if s.Rollbacks, err = rollback.New(s.Bridge, s.Metrics, ropts...); err != nil {
		return nil, fmt.Errorf("rollback: %w", err)
	}
	if _, err := s.Bridge.AddObserver(s.Rollbacks.Observer()); err != nil {
		return nil, err
	}
	if cfg.Intelligent {
		plan := migrate.DefaultPlan()
		if cfg.Soak > 0 {
			for i := range plan.Steps {
				plan.Steps[i].Soak = cfg.Soak
			}
		}
		if s.Rollout, err = migrate.New(s.Bridge, s.Metrics, migrate.WithClock(clk), migrate.WithLogger(logger),
			migrate.WithStore(s.Store), migrate.WithGuard(s.Rollbacks), migrate.WithTuner(s.Pool),
			migrate.WithPlan(plan), migrate.WithInterval(cfg.Interval)); err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
	}
	aopts := []admin.Option{admin.WithPool(s.Pool), admin.WithBridge(s.Bridge), admin.WithRollbacks(s.Rollbacks),
		admin.WithClock(clk), admin.WithLogger(logger), admin.WithRequireConfirmation(cfg.RequireConfirmation)}
	if host, err := os.Hostname(); err == nil {
		aopts = append(aopts, admin.WithReplica(host))
	}
	if s.Monitor != nil {
		aopts = append(aopts, admin.WithMonitor(s.Monitor))
	}
	if s.Rollout != nil {
		aopts = append(aopts, admin.WithRollout(s.Rollout))
	}
	if cfg.AdminToken != "" {
		aopts = append(aopts, admin.WithAuthorizer(admin.BearerToken(cfg.AdminToken)))
	}
	if s.Admin, err = admin.New(aopts...); err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	ok = true
	return s, nil
}

func (s *System) criticalAlerts() []rollback.Alert {
	var out []rollback.Alert
	for _, a := range s.Monitor.Alerts() {
		if a.Severity != monitor.SeverityCritical || a.State != monitor.StateFiring || a.Rule == monitor.RuleRollbackTriggered {
			continue // a rollback's own alert must not cause another
		}
		out = append(out, rollback.Alert{Name: a.Rule, Message: a.Message, Since: a.FiredAt})
	}
	return out
}

func (s *System) onRollback(ev rollback.Event) {
	if ev.Type == rollback.EventStarted && s.Monitor != nil {
		r := ev.Record
		s.Monitor.RecordRollback(monitor.RollbackInfo{ID: r.ID, Reason: r.Reason, Trigger: r.Trigger, Time: ev.At})
	}
}

// Handler serves the health endpoint, /metrics, the admin API and the
// dashboard.
func (s *System) Handler() http.Handler {
	mux := http.NewServeMux()
	if s.Monitor != nil {
		mux.Handle(monitor.HealthPath, s.Monitor.Handler())
	} else {
		mux.HandleFunc(monitor.HealthPath, func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"status":"UNKNOWN","error":"monitoring is disabled (BUMBA_MONITORING_ENABLED=false)"}`, http.StatusServiceUnavailable)
		})
	}
	mux.Handle("/metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{Registry: s.Registry}))
	mux.Handle(admin.Prefix, s.Admin)
	mux.Handle(admin.DashboardPath, s.Admin.Dashboard())
	return mux
}

// Run drives the monitor, the rollback manager and the rollout until ctx
// ends, then returns.
func (s *System) Run(ctx context.Context) {
	var wg sync.WaitGroup
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && !errors.Is(err, context.Canceled) {
				s.Logger.Error("ERROR "+name+" stopped", "error", err)
			}
		}()
	}
	if s.Monitor != nil {
		run("monitor", s.Monitor.Run)
	}
	run("rollback", s.Rollbacks.Run)
	if s.Rollout != nil {
		run("rollout", s.Rollout.Run)
	}
	wg.Wait()
}

// Save writes the pool's and the monitor's snapshots into the state
// directory, atomically (the rollout and the rollbacks are saved as they
// change). It returns the files written.
func (s *System) Save() ([]string, error) {
	var files []string
	var errs []error
	write := func(name string, snap func(io.Writer) error) {
		path := filepath.Join(s.Config.StateDir, name)
		var buf bytes.Buffer
		if err := snap(&buf); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
			errs = append(errs, err)
			return
		}
		if err := os.Rename(tmp, path); err != nil {
			errs = append(errs, err)
			return
		}
		files = append(files, path)
	}
	write(PoolSnapshotFile, s.Pool.Snapshot)
	if s.Monitor != nil {
		write(MonitorSnapshotFile, s.Monitor.Snapshot)
	}
	if fs, ok := s.Store.(*migrate.FileStore); ok {
		files = append(files, fs.Path())
	}
	return files, errors.Join(errs...)
}

// Close ends the admin API's streams, then closes the bridge (waiting for
// shadow runs) and the pool (draining its tasks and closing every
// instance). Safe to call more than once.
func (s *System) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.Admin != nil {
			_ = s.Admin.Close()
		}
		if s.Bridge != nil {
			errs = append(errs, s.Bridge.Close(ctx))
		}
		if s.Pool != nil {
			errs = append(errs, s.Pool.Close(ctx))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Validate builds the whole host from cfg in memory — every constructor's
// validation — and closes it again, starting nothing. It returns every bad
// setting, each named.
func Validate(cfg Config) error {
	// Each pool setting on its own first, so that every bad one is named.
	var errs []error
	specs := NewFleet(clock.New()).Specs()
	for _, o := range cfg.PoolOptions {
		p, err := pool.New(specs, o)
		if err != nil {
			errs = append(errs, fmt.Errorf("pool: %w", err))
			continue
		}
		_ = p.Close(context.Background())
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	s, err := New(cfg, Options{InMemory: true})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Close(ctx)
}

// Describe renders the configuration on a few lines, for the log at start.
func (c Config) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "intelligent=%v monitoring=%v autoRollback=%v requireConfirmation=%v logLevel=%v state=%s traffic=%g/s interval=%v",
		c.Intelligent, c.Monitoring, c.AutoRollback, c.RequireConfirmation, c.LogLevel, c.StateDir, c.TrafficRate, c.Interval)
	if c.Soak > 0 {
		fmt.Fprintf(&b, " soak=%v", c.Soak)
	}
	if len(c.PoolVars) > 0 {
		fmt.Fprintf(&b, " pool vars: %s", strings.Join(c.PoolVars, ", "))
	}
	return b.String()
}
