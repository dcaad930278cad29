// Package host is the reference server's configuration and wiring: the
// seed's environment read into a Config, and every object of a host built
// from it — the pool of fake specialists (from pool/pooltest), the bridge
// to a simulated legacy executor, the monitor, the rollout controller and
// the rollback manager on one state file, and the admin API. The server
// (examples/server) runs it; bumbactl validate-config builds it without
// running anything, so that a bad setting is named before a deployment.
// It uses the module's public packages only.
package host

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bumba/pooling/monitor"
	"github.com/bumba/pooling/pool"
)

// Variables the host reads, beyond the pool's BUMBA_POOL_* (see
// pool.OptionsFromEnv).
const (
	EnvIntelligent  = "BUMBA_INTELLIGENT_POOLING"
	EnvMonitoring   = "BUMBA_MONITORING_ENABLED"
	EnvAutoRollback = "BUMBA_AUTO_ROLLBACK"
	EnvLogLevel     = monitor.EnvLogLevel
	EnvAdminAddr    = "BUMBA_ADMIN_ADDR"
	EnvAdminToken   = "BUMBA_ADMIN_TOKEN"
	EnvConfirm      = "BUMBA_REQUIRE_CONFIRMATION"
	EnvStateDir     = "BUMBA_STATE_DIR"
	EnvTrafficRate  = "BUMBA_TRAFFIC_RATE"
	EnvSoak         = "BUMBA_ROLLOUT_SOAK"
	EnvInterval     = "BUMBA_METRICS_INTERVAL"
)

// Var documents one environment variable.
type Var struct {
	Name, Default, Help string
}

// Vars lists every variable the host reads, for -h.
func Vars() []Var {
	return []Var{
		{EnvIntelligent, "true", "use the intelligent pool at all; false keeps every command on legacy (Fallback) and runs no rollout"},
		{pool.EnvMaxSpecialists, "0 (no cap)", "pool: most specialists accepted (seed maxSpecialists)"},
		{pool.EnvMaxWarm, "5 (25% of the server's 20)", "pool: warm cap (seed maxWarmSpecialists)"},
		{"BUMBA_POOL_WARMTHRESHOLD", "0.3", "pool: warm threshold, 0.2–0.6 with adaptive scaling (seed warmThreshold)"},
		{"BUMBA_POOL_COOLDOWN", "45s", "pool: idle time before cooling; Go duration or ms (seed cooldownTime)"},
		{"BUMBA_POOL_*", "", "every other pool setting (see go doc pool.OptionsFromEnv)"},
		{EnvFallbackThreshold, "0.8", "the bridge falls back to legacy by itself below this success rate, in (0, 1] (seed fallbackThreshold)"},
		{EnvMonitoring, "true", "run the monitor: health endpoint, alerts, /metrics, reports"},
		{EnvAutoRollback, "true", "roll back automatically when a trigger fires (seed autoRollbackEnabled)"},
		{EnvLogLevel, "info", "debug, info, warn or error"},
		{EnvAdminAddr, "127.0.0.1:8080", "listen address of /health, /metrics and /admin/v1 (port 0 picks a free one)"},
		{EnvAdminToken, "(unset)", "bearer token of the admin API's actions; unset, the actions stay closed (403)"},
		{EnvConfirm, "false", `rollbacks through the admin API need "confirm": true (seed requireConfirmation)`},
		{EnvStateDir, "./bumba-state", "where the rollout, the rollbacks and the snapshots are saved"},
		{EnvTrafficRate, "20", "simulated BUMBA commands per second (0: none)"},
		{EnvSoak, "(the plan's)", "soak time of every rollout step, e.g. 2m for a demonstration"},
		{EnvInterval, "30s", "how often the monitor samples and the rollout is evaluated (seed metricsCollectionInterval)"},
	}
}

// Config is the host's configuration.
type Config struct {
	Intelligent         bool
	Monitoring          bool
	AutoRollback        bool
	RequireConfirmation bool
	LogLevel            slog.Level
	AdminAddr           string
	AdminToken          string
	StateDir            string
	TrafficRate         float64
	Soak                time.Duration
	Interval            time.Duration
	// FallbackThreshold is the bridge's automatic-fallback success rate
	// (0: the bridge's default, 0.8).
	FallbackThreshold float64
	// PoolOptions are the BUMBA_POOL_* settings.
	PoolOptions []pool.Option
	// PoolVars names the BUMBA_POOL_* variables that were set.
	PoolVars []string
}

// Default returns the configuration without any variable set.
func Default() Config {
	return Config{Intelligent: true, Monitoring: true, AutoRollback: true, LogLevel: slog.LevelInfo,
		AdminAddr: "127.0.0.1:8080", StateDir: "bumba-state", TrafficRate: 20, Interval: 30 * time.Second}
}

// FromEnv reads the configuration through lookup (os.LookupEnv, or a file's
// lines). Every malformed variable is reported, each naming the variable and
// its value; ranges are checked by the constructors (see Validate).
func FromEnv(lookup func(string) (string, bool)) (Config, error) {
	c := Default()
	var errs []error
	boolVar := func(name string, dst *bool) {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: not a boolean (true or false)", name, v))
				return
			}
			*dst = b
		}
	}
	boolVar(EnvIntelligent, &c.Intelligent)
	boolVar(EnvMonitoring, &c.Monitoring)
	boolVar(EnvAutoRollback, &c.AutoRollback)
	boolVar(EnvConfirm, &c.RequireConfirmation)
	if lvl, err := monitor.LogLevelFromEnv(lookup); err != nil {
		errs = append(errs, err)
	} else {
		c.LogLevel = lvl
	}
	if v, ok := lookup(EnvAdminAddr); ok && strings.TrimSpace(v) != "" {
		c.AdminAddr = strings.TrimSpace(v)
		if !strings.Contains(c.AdminAddr, ":") {
			errs = append(errs, fmt.Errorf("%s=%q: not host:port", EnvAdminAddr, v))
		}
	}
	if v, ok := lookup(EnvAdminToken); ok {
		c.AdminToken = strings.TrimSpace(v)
	}
	if v, ok := lookup(EnvStateDir); ok && strings.TrimSpace(v) != "" {
		c.StateDir = strings.TrimSpace(v)
	}
	if v, ok := lookup(EnvTrafficRate); ok && strings.TrimSpace(v) != "" {
		r, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || r < 0 || r > 10000 {
			errs = append(errs, fmt.Errorf("%s=%q: not a rate from 0 to 10000 commands per second", EnvTrafficRate, v))
		} else {
			c.TrafficRate = r
		}
	}
	if v, ok := lookup(EnvFallbackThreshold); ok && strings.TrimSpace(v) != "" {
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: not a number", EnvFallbackThreshold, v))
		} else {
			c.FallbackThreshold = x // its range is the bridge's to check
			if x == 0 {
				c.FallbackThreshold = -1 // 0 is out of range, not "unset"
			}
		}
	}
	durVar := func(name string, dst *time.Duration, lo, hi time.Duration) {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			d, err := pool.ParseDuration(strings.TrimSpace(v))
			if err != nil || d < lo || d > hi {
				errs = append(errs, fmt.Errorf("%s=%q: not a duration from %v to %v", name, v, lo, hi))
				return
			}
			*dst = d
		}
	}
	durVar(EnvSoak, &c.Soak, 0, 24*time.Hour)
	durVar(EnvInterval, &c.Interval, monitor.MinInterval, monitor.MaxInterval)
	opts, err := pool.OptionsFromEnv(lookup)
	if err != nil {
		errs = append(errs, err)
	}
	c.PoolOptions = opts
	for _, v := range poolVarNames {
		if _, ok := lookup(v); ok {
			c.PoolVars = append(c.PoolVars, v)
		}
	}
	sort.Strings(c.PoolVars)
	return c, errors.Join(errs...)
}

// poolVarNames are the BUMBA_POOL_* variables pool.OptionsFromEnv reads.
var poolVarNames = []string{
	pool.EnvMaxSpecialists, pool.EnvMaxWarm, "BUMBA_POOL_WARMTHRESHOLD", "BUMBA_POOL_COOLDOWN",
	"BUMBA_POOL_USAGE_DECAY", "BUMBA_POOL_PREDICTION_WINDOW", "BUMBA_POOL_PRIORITY_WEIGHTING",
	"BUMBA_POOL_DEPARTMENT_BALANCE", "BUMBA_POOL_WORKFLOW_OPTIMIZATION", "BUMBA_POOL_ADAPTIVE_SCALING",
	"BUMBA_POOL_BATCH_SIZE", "BUMBA_POOL_WARMING_CONCURRENCY", "BUMBA_POOL_MAX_QUEUE", "BUMBA_POOL_MEMORY_BUDGET",
}

// ParseEnvFile reads KEY=VALUE lines (the seed's `export KEY=VALUE` shell
// profile lines too; # comments and blank lines ignored) into a lookup
// function. A line that is not an assignment is an error naming its number.
func ParseEnvFile(data string) (func(string) (string, bool), error) {
	vars := map[string]string{}
	var errs []error
	for i, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimSpace(strings.TrimPrefix(line, "export "))
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			errs = append(errs, fmt.Errorf("line %d: %q is not KEY=VALUE", i+1, line))
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = v[1 : len(v)-1]
		}
		vars[k] = v
	}
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, errors.Join(errs...)
}
