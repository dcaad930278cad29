package host_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"go.uber.org/goleak"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/examples/server/host"
	"github.com/bumba/pooling/pool"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func lookup(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestFromEnvDefaults(t *testing.T) {
	c, err := host.FromEnv(lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	d := host.Default()
	if c.Intelligent != d.Intelligent || c.AdminAddr != "127.0.0.1:8080" || c.AdminToken != "" || !c.Monitoring || !c.AutoRollback || c.TrafficRate != 20 {
		t.Errorf("defaults %+v", c)
	}
}

func TestFromEnvReadsEveryVariable(t *testing.T) {
	c, err := host.FromEnv(lookup(map[string]string{
		"BUMBA_INTELLIGENT_POOLING": "false", "BUMBA_MONITORING_ENABLED": "false", "BUMBA_AUTO_ROLLBACK": "0",
		"BUMBA_LOG_LEVEL": "debug", "BUMBA_ADMIN_ADDR": "127.0.0.1:0", "BUMBA_ADMIN_TOKEN": " tok ",
		"BUMBA_REQUIRE_CONFIRMATION": "true", "BUMBA_STATE_DIR": "/tmp/x", "BUMBA_TRAFFIC_RATE": "5",
		"BUMBA_ROLLOUT_SOAK": "2m", "BUMBA_METRICS_INTERVAL": "1000", "BUMBA_POOL_MAX_WARM": "5",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Intelligent || c.Monitoring || c.AutoRollback || !c.RequireConfirmation || c.LogLevel.String() != "DEBUG" ||
		c.AdminAddr != "127.0.0.1:0" || c.AdminToken != "tok" || c.StateDir != "/tmp/x" || c.TrafficRate != 5 ||
		c.Soak != 2*time.Minute || c.Interval != time.Second || len(c.PoolOptions) != 1 || c.PoolVars[0] != "BUMBA_POOL_MAX_WARM" {
		t.Errorf("config %+v", c)
	}
}

// Every malformed variable is named, all at once.
func TestFromEnvNamesEveryBadVariable(t *testing.T) {
	_, err := host.FromEnv(lookup(map[string]string{
		"BUMBA_INTELLIGENT_POOLING": "yes please", "BUMBA_LOG_LEVEL": "loud", "BUMBA_ADMIN_ADDR": "nowhere",
		"BUMBA_TRAFFIC_RATE": "-3", "BUMBA_ROLLOUT_SOAK": "soon", "BUMBA_METRICS_INTERVAL": "1ms", "BUMBA_POOL_MAX_WARM": "many",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"BUMBA_INTELLIGENT_POOLING", "BUMBA_LOG_LEVEL", "BUMBA_ADMIN_ADDR", "BUMBA_TRAFFIC_RATE",
		"BUMBA_ROLLOUT_SOAK", "BUMBA_METRICS_INTERVAL", "BUMBA_POOL_MAX_WARM"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
}

// Validate runs the constructors: a value in the right form but out of
// range is named by the pool, each one.
func TestValidateNamesEachBadSetting(t *testing.T) {
	c, err := host.FromEnv(lookup(map[string]string{"BUMBA_POOL_MAX_WARM": "500", "BUMBA_POOL_WARMTHRESHOLD": "0.9"}))
	if err != nil {
		t.Fatal(err)
	}
	err = host.Validate(c)
	if !errors.Is(err, pool.ErrInvalidConfig) {
		t.Fatalf("Validate: %v", err)
	}
	for _, s := range []string{"500", "0.9"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not name %s: %v", s, err)
		}
	}
	good, _ := host.FromEnv(lookup(map[string]string{"BUMBA_POOL_MAX_WARM": "5"}))
	if err := host.Validate(good); err != nil {
		t.Errorf("a good configuration: %v", err)
	}
}

func TestParseEnvFile(t *testing.T) {
	l, err := host.ParseEnvFile("# the seed's profile\nexport BUMBA_INTELLIGENT_POOLING=true\n\nBUMBA_POOL_MAX_WARM=\"17\"\nBUMBA_LOG_LEVEL='info'\n")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := l("BUMBA_POOL_MAX_WARM"); v != "17" {
		t.Errorf("quoted value %q", v)
	}
	if v, ok := l("BUMBA_INTELLIGENT_POOLING"); !ok || v != "true" {
		t.Errorf("export line %q", v)
	}
	if _, err := host.ParseEnvFile("BUMBA_X=1\nnot an assignment\n"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad line: %v", err)
	}
}

// New builds a whole host in memory on a mock clock; without the
// intelligent pool it serves legacy only and runs no rollout.
func TestNewAndClose(t *testing.T) {
	c := host.Default()
	c.Intelligent = false
	s, err := host.New(c, host.Options{Clock: clock.NewMock(), InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Rollout != nil || s.Bridge.Mode() != bridge.ModeFallback || s.Monitor == nil || s.Admin == nil {
		t.Errorf("system %+v", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestSeedConfig(t *testing.T) {
	l, ignored, err := host.ParseSeedConfig([]byte(`{
		"maxSpecialists": 83, "maxWarmSpecialists": 5, "cooldownTime": 45000, "warmThreshold": 0.3,
		"usageDecayRate": 0.02, "predictionWindow": 15, "priorityWeighting": true, "departmentBalance": true,
		"workflowOptimization": true, "adaptiveScaling": true, "enterpriseMonitoring": true,
		"enableBackwardCompatibility": true, "enableAutomaticFallback": true, "fallbackThreshold": 0.8,
		"hybridPercentage": 100, "autoRollbackEnabled": true, "requireConfirmation": false,
		"gracefulShutdown": true, "preserveData": true, "metricsCollectionInterval": 30000,
		"healthCheckInterval": 60000, "metricsRetentionDays": 30, "verbose": true, "logLevel": "info"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ignored) != 8 {
		t.Errorf("ignored %v", ignored)
	}
	c, err := host.FromEnv(l)
	if err != nil {
		t.Fatal(err)
	}
	if c.Interval != 30*time.Second || c.FallbackThreshold != 0.8 || c.RequireConfirmation || len(c.PoolVars) != 10 {
		t.Errorf("config %+v", c)
	}
	if err := host.Validate(c); err != nil {
		t.Errorf("the seed's production settings: %v", err)
	}
	_, _, err = host.ParseSeedConfig([]byte(`{"maxWarm": 5, "warmThreshold": [1]}`))
	if err == nil || !strings.Contains(err.Error(), "maxWarm: unknown setting") || !strings.Contains(err.Error(), "warmThreshold") {
		t.Errorf("bad keys: %v", err)
	}
	l, _, _ = host.ParseSeedConfig([]byte(`{"fallbackThreshold": 1.5}`))
	c, _ = host.FromEnv(l)
	if err := host.Validate(c); err == nil || !strings.Contains(err.Error(), "1.5") {
		t.Errorf("fallbackThreshold 1.5: %v", err)
	}
}
