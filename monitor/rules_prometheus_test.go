package monitor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// committedRules is the copy of the default table's rules the repository
// ships for operators (examples/server serves the same).
const committedRules = "../examples/server/alert-rules.yml"

// exportedNames returns every metric name the collector describes, with
// the histogram's _bucket, _sum and _count series.
func exportedNames(t *testing.T, m *Monitor) map[string]bool {
	t.Helper()
	ch := make(chan *prometheus.Desc, 256)
	m.Collector().Describe(ch)
	close(ch)
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := map[string]bool{}
	for d := range ch {
		got := fq.FindStringSubmatch(d.String())
		require.NotNil(t, got, d.String())
		names[got[1]] = true
	}
	require.True(t, names[namespace+"_bridge_request_duration_seconds"], "the latency histogram is described")
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		names[namespace+"_bridge_request_duration_seconds"+suffix] = true
	}
	return names
}

var promName = regexp.MustCompile(`\b` + namespace + `_[a-z_]+`)

// assertExported checks that expr names at least one metric and only
// metrics the collector exports.
func assertExported(t *testing.T, names map[string]bool, what, expr string) {
	t.Helper()
	used := promName.FindAllString(expr, -1)
	assert.NotEmpty(t, used, "%s: %s names no bumba_pool_ metric", what, expr)
	for _, n := range used {
		assert.True(t, names[n], "%s: %s is not exported by the collector (in %s)", what, n, expr)
	}
}

type promRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type promRuleFile struct {
	Groups []struct {
		Name  string     `yaml:"name"`
		Rules []promRule `yaml:"rules"`
	} `yaml:"groups"`
}

func TestPrometheusExprNamesExportedMetrics(t *testing.T) {
	e := newEnv(t)
	names := exportedNames(t, e.m)
	for _, info := range Metrics() {
		expr, err := PrometheusExpr(info.Name, DefaultInterval)
		require.NoError(t, err)
		assertExported(t, names, string(info.Name), expr)
	}
	_, err := PrometheusExpr("nope", DefaultInterval)
	assert.True(t, errors.Is(err, ErrUnknownMetric), "%v", err)
}

func TestPrometheusRulesRendersTheTable(t *testing.T) {
	host := Rule{Name: "slow-legacy", Severity: SeverityWarning, Metric: MetricLegacyResponseTime, Op: AtLeast,
		Threshold: 1500, For: 90 * time.Second, Message: "Legacy {{slow}}"}
	e := newEnv(t, WithRules(host))
	out, err := e.m.PrometheusRules()
	require.NoError(t, err)
	var f promRuleFile
	require.NoError(t, yaml.Unmarshal(out, &f), string(out))
	require.Len(t, f.Groups, 1)
	assert.Equal(t, PrometheusRulesGroup, f.Groups[0].Name)
	rules := e.m.Rules()
	require.Len(t, f.Groups[0].Rules, len(rules))
	names := exportedNames(t, e.m)
	for i, r := range rules {
		got := f.Groups[0].Rules[i]
		assertExported(t, names, r.Name, got.Expr)
		assert.Equal(t, string(r.Severity), got.Labels["severity"], r.Name)
		if r.For > 0 {
			d, err := time.ParseDuration(got.For)
			require.NoError(t, err, r.Name)
			assert.Equal(t, r.For, d, r.Name)
		} else {
			assert.Empty(t, got.For, r.Name)
		}
		assert.Contains(t, got.Annotations["description"], "monitor rule "+r.Name, r.Name)
		assert.True(t, strings.Contains(got.Expr, ") "+string(r.Op)+" "), "%s: %s compares with %s", r.Name, got.Expr, r.Op)
	}
	byName := func(alert string) int {
		i := slices.IndexFunc(f.Groups[0].Rules, func(x promRule) bool { return x.Alert == alert })
		require.GreaterOrEqual(t, i, 0, alert)
		return i
	}
	g := f.Groups[0].Rules
	// Same thresholds, in base units; same messages.
	assert.Equal(t, "(bumba_pool_memory_usage_ratio) > 0.9", g[byName(RuleMemoryCritical)].Expr)
	assert.Equal(t, "Critical memory pressure", g[byName(RuleMemoryCritical)].Annotations["summary"])
	assert.Equal(t, `(bumba_pool_response_time_seconds{path="intelligent"}) > 5`, g[byName(RuleResponseTimeCritical)].Expr)
	assert.Equal(t, "(bumba_pool_warm_hit_ratio) < 0.4", g[byName(RuleWarmHitRateLow)].Expr)
	assert.Equal(t, "10m", g[byName(RuleWarmHitRateLow)].For)
	assert.Contains(t, g[byName(RuleRollbackTriggered)].Expr, "bumba_pool_rollbacks_total")
	assert.NotContains(t, g[byName(RuleRollbackTriggered)].Expr, "bumba_pool_bridge_auto_fallbacks_total", "rollbacks_total counts each automatic fallback once already")
	// The host's rule: a name Prometheus accepts, its text kept literal.
	h := g[byName("slow_legacy")]
	assert.Equal(t, `(bumba_pool_response_time_seconds{path="legacy"}) >= 1.5`, h.Expr)
	assert.Equal(t, "1m30s", h.For)
	assert.Equal(t, `Legacy {{ "{{" }}slow}}`, h.Annotations["summary"])
}

func TestPrometheusRulesRefusesBadInput(t *testing.T) {
	_, err := PrometheusRules(DefaultRules(), 0)
	assert.True(t, errors.Is(err, ErrInvalidConfig), "%v", err)
	_, err = PrometheusRules([]Rule{{Name: "x", Severity: "loud", Metric: MetricErrorRate, Op: Above}}, time.Second)
	assert.True(t, errors.Is(err, ErrInvalidConfig), "%v", err)
	r := Rule{Name: "a-b", Severity: SeverityInfo, Metric: MetricErrorRate, Op: Above}
	r2 := r
	r2.Name = "a_b"
	_, err = PrometheusRules([]Rule{r, r2}, time.Second)
	require.True(t, errors.Is(err, ErrInvalidConfig), "%v", err)
	assert.Contains(t, err.Error(), `"a-b" and "a_b"`)
}

// TestPrometheusRulesCommittedCopy keeps examples/server/alert-rules.yml
// equal to the default table's rendering (BUMBA_UPDATE_RULES=1 rewrites
// it).
func TestPrometheusRulesCommittedCopy(t *testing.T) {
	want, err := PrometheusRules(DefaultRules(), DefaultInterval)
	require.NoError(t, err)
	if os.Getenv("BUMBA_UPDATE_RULES") == "1" {
		require.NoError(t, os.MkdirAll(filepath.Dir(committedRules), 0o755))
		require.NoError(t, os.WriteFile(committedRules, want, 0o644))
	}
	got, err := os.ReadFile(committedRules)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got),
		"%s is stale: regenerate with BUMBA_UPDATE_RULES=1 go test ./monitor -run CommittedCopy", committedRules)
}

// promtool returns the path of Prometheus' promtool; outside CI a missing
// one skips, in CI it fails.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("promtool not found: apt-get install prometheus (CI runs this test)")
		}
		t.Fatalf("promtool not found in CI: %v", err)
	}
	return p
}

// TestPrometheusRulesUnderPromtool runs the rendered rules in Prometheus'
// own rule engine (promtool test rules) on synthetic series: the default
// thresholds and for-durations fire as the monitor's do.
func TestPrometheusRulesUnderPromtool(t *testing.T) {
	tool := promtool(t)
	dir := t.TempDir()
	rules, err := PrometheusRules(DefaultRules(), DefaultInterval)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules.yml"), rules, 0o644))
	out, err := exec.Command(tool, "check", "rules", filepath.Join(dir, "rules.yml")).CombinedOutput()
	require.NoError(t, err, string(out))
	// A host's rule on any metric renders as PromQL Prometheus accepts.
	var every []Rule
	for _, info := range Metrics() {
		every = append(every, Rule{Name: "host_" + string(info.Name), Severity: SeverityInfo, Metric: info.Name, Op: AtMost, Threshold: 1.5, For: time.Minute, Message: "x"})
	}
	all, err := PrometheusRules(every, 15*time.Second)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "all.yml"), all, 0o644))
	out, err = exec.Command(tool, "check", "rules", filepath.Join(dir, "all.yml")).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), fmt.Sprintf("SUCCESS: %d rules found", len(every)))
	// Memory usage 0.95 from 0m: pending, firing once held 2m. The
	// rollback counter steps at 5m: firing at once. Response time 6 s
	// (critical, 5 000 ms) from 0m. Warm hit ratio 0.5: no alert.
	tests := `rule_files: [rules.yml]
evaluation_interval: 30s
tests:
  - interval: 30s
    input_series:
      - series: 'bumba_pool_memory_usage_ratio{instance="a"}'
        values: '0.95x20'
      - series: 'bumba_pool_rollbacks_total{instance="a"}'
        values: '0x10 1x10'
      - series: 'bumba_pool_bridge_auto_fallbacks_total{instance="a"}'
        values: '0x20'
      - series: 'bumba_pool_response_time_seconds{instance="a",path="intelligent"}'
        values: '6x20'
      - series: 'bumba_pool_warm_hit_ratio{instance="a"}'
        values: '0.5x40'
    alert_rule_test:
      - eval_time: 1m
        alertname: memory_usage_critical
        exp_alerts: []
      - eval_time: 2m
        alertname: memory_usage_critical
        exp_alerts:
          - exp_labels: {severity: critical, instance: a}
            exp_annotations:
              summary: Critical memory pressure
              description: "monitor rule memory_usage_critical: memory_usage > 0.9 for 2m (now 0.95 in base units)"
      - eval_time: 4m30s
        alertname: rollback_triggered
        exp_alerts: []
      - eval_time: 5m30s
        alertname: rollback_triggered
        exp_alerts:
          - exp_labels: {severity: critical, instance: a}
            exp_annotations:
              summary: System rollback initiated
              description: "monitor rule rollback_triggered: rollbacks > 0 (now 0.1 in base units)"
      - eval_time: 1m
        alertname: response_time_critical
        exp_alerts:
          - exp_labels: {severity: critical, instance: a, path: intelligent}
            exp_annotations:
              summary: Severe performance degradation
              description: "monitor rule response_time_critical: response_time_ms > 5000 for 1m (now 6 in base units)"
      - eval_time: 15m
        alertname: warm_hit_rate_low
        exp_alerts: []
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tests.yml"), []byte(tests), 0o644))
	cmd := exec.Command(tool, "test", "rules", "tests.yml")
	cmd.Dir = dir
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, string(out))
}
