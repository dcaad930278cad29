package monitor

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// committedDashboard is the Grafana dashboard the repository ships for the
// collector's metrics.
const committedDashboard = "../examples/server/grafana-dashboard.json"

type grafanaTarget struct {
	Expr string `json:"expr"`
}

type grafanaPanel struct {
	Type    string                   `json:"type"`
	Title   string                   `json:"title"`
	GridPos struct{ X, Y, W, H int } `json:"gridPos"`
	Targets []grafanaTarget          `json:"targets"`
}

type grafanaDashboard struct {
	Title       string         `json:"title"`
	UID         string         `json:"uid"`
	Panels      []grafanaPanel `json:"panels"`
	Annotations struct {
		List []struct {
			Name string `json:"name"`
			Expr string `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Query struct {
				Query string `json:"query"`
			} `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// TestGrafanaDashboardQueriesExportedMetrics: the committed dashboard
// parses, every query (panels, annotations, variables) names only metrics
// the collector exports, and it has the dashboard page's panels.
func TestGrafanaDashboardQueriesExportedMetrics(t *testing.T) {
	raw, err := os.ReadFile(committedDashboard)
	require.NoError(t, err)
	var d grafanaDashboard
	require.NoError(t, json.Unmarshal(raw, &d))
	assert.NotEmpty(t, d.Title)
	assert.NotEmpty(t, d.UID)
	names := exportedNames(t, newEnv(t).m)

	titles := map[string]bool{}
	queries := 0
	for _, p := range d.Panels {
		titles[p.Title] = true
		assert.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24, "%s: wider than the grid", p.Title)
		if p.Type == "row" {
			continue
		}
		require.NotEmpty(t, p.Targets, "%s has no query", p.Title)
		for _, q := range p.Targets {
			assertExported(t, names, p.Title, q.Expr)
			queries++
		}
	}
	for _, a := range d.Annotations.List {
		if a.Expr != "" {
			assertExported(t, names, "annotation "+a.Name, a.Expr)
			queries++
		}
	}
	for _, v := range d.Templating.List {
		assertExported(t, names, "variable "+v.Name, v.Query.Query)
	}
	assert.GreaterOrEqual(t, queries, 15)
	// The dashboard page's panels.
	for _, want := range []string{"Status", "Health score", "Mode", "Hybrid percentage", "Warm / total specialists",
		"Firing alerts", "Warm hit rate", "Memory: current vs baseline", "Latency: intelligent vs legacy",
		"Error rate", "Queue depth", "Prediction accuracy", "Rollbacks"} {
		assert.True(t, titles[want], "no panel %q", want)
	}
	var annotations []string
	for _, a := range d.Annotations.List {
		annotations = append(annotations, a.Name)
	}
	assert.Subset(t, annotations, []string{"Rollbacks", "Mode changes"})
}

// TestGrafanaDashboardQueriesParse has Prometheus' own parser (promtool
// check rules) read every query of the committed dashboard, the template
// variables replaced by a match-all.
func TestGrafanaDashboardQueriesParse(t *testing.T) {
	tool := promtool(t)
	raw, err := os.ReadFile(committedDashboard)
	require.NoError(t, err)
	var d grafanaDashboard
	require.NoError(t, json.Unmarshal(raw, &d))
	var b strings.Builder
	b.WriteString("groups:\n  - name: grafana\n    rules:\n")
	n := 0
	add := func(expr string) {
		expr = strings.NewReplacer("$job", ".*", "$instance", ".*", "$__rate_interval", "1m").Replace(expr)
		fmt.Fprintf(&b, "      - record: grafana:query_%d\n        expr: %s\n", n, yamlString(expr))
		n++
	}
	for _, p := range d.Panels {
		for _, q := range p.Targets {
			add(q.Expr)
		}
	}
	for _, a := range d.Annotations.List {
		if a.Expr != "" {
			add(a.Expr)
		}
	}
	file := filepath.Join(t.TempDir(), "grafana.yml")
	require.NoError(t, os.WriteFile(file, []byte(b.String()), 0o644))
	out, err := exec.Command(tool, "check", "rules", file).CombinedOutput()
	require.NoError(t, err, "%s\n%s", out, b.String())
	assert.Contains(t, string(out), fmt.Sprintf("SUCCESS: %d rules found", n))
}
