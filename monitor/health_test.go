package monitor

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// seedHealth is the deployment guide's example response.
const seedHealth = `{
  "status": "HEALTHY",
  "uptime": 86400000,
  "specialists": { "warm": 17, "total": 83, "utilization": 0.2 },
  "performance": {
    "averageResponseTime": 1200,
    "warmHitRate": 0.68,
    "queueDepth": 3
  },
  "memory": {
    "current": 104.5,
    "saved": 310.5,
    "efficiency": 74.8
  },
  "alerts": 0,
  "lastCheck": "2024-01-15T10:30:00Z"
}`

// seedEnv reproduces the guide's example: one day up, 17 of 83 warm,
// 104.5 MB held of 415, 68 % warm hits, 1 200 ms.
func seedEnv(t *testing.T) *env {
	e := newEnv(t)
	e.clk.Set(time.Date(2024, 1, 14, 10, 30, 0, 0, time.UTC))
	m, err := New(WithClock(e.clk), WithPool(e.pool), WithBridge(e.bridge))
	require.NoError(t, err)
	e.m = m
	e.pool.set(func(s *pool.Stats) {
		*s = pool.Stats{Specialists: 83, Warm: 15, Active: 2, Cold: 66, MaxWarm: 17, QueueDepth: 3,
			Tasks: 1000, WarmHits: 680,
			MemoryCurrent: 1045 << 20 / 10, MemoryBaseline: 415 << 20, MemorySaved: 415<<20 - 1045<<20/10}
		s.MemoryEfficiency = float64(s.MemorySaved) / float64(s.MemoryBaseline)
	})
	e.bridge.add(1, 1000, 0, 1200*time.Millisecond)
	e.step(24 * time.Hour)
	return e
}

func keys(t *testing.T, raw []byte) []string {
	var v map[string]any
	require.NoError(t, json.Unmarshal(raw, &v))
	var out []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, x := range m {
			out = append(out, prefix+k)
			if sub, ok := x.(map[string]any); ok {
				walk(prefix+k+".", sub)
			}
		}
	}
	walk("", v)
	slices.Sort(out)
	return out
}

func TestHealthGolden(t *testing.T) {
	e := seedEnv(t)
	rec := httptest.NewRecorder()
	e.m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, HealthPath, nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	got := rec.Body.Bytes()

	golden := filepath.Join("testdata", "health.golden.json")
	if *update {
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
	assert.Equal(t, keys(t, []byte(seedHealth)), keys(t, got), "exactly the seed's fields and nesting")

	h := e.m.Health()
	assert.Equal(t, StatusHealthy, h.Status)
	assert.Equal(t, 100.0, h.Score, "everything on target: the warm set is full at 17 of 17 by design, but holds 104.5 MB of the 415 MB baseline (memory usage 25 %%)")
	assert.Equal(t, h.Score, e.m.HealthScore())
	require.Len(t, h.Components, 6)
	for _, c := range h.Components {
		assert.True(t, c.HasData, c.Name)
		if c.Name == "memoryUsage" {
			assert.InDelta(t, 104.5/415, c.Value, 1e-12, "memory held / the always-warm baseline")
			assert.Equal(t, 1.0, c.Score)
		}
	}
}

func TestHealthStatusAndCodes(t *testing.T) {
	e := newEnv(t)
	get := func(method string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		e.m.Handler().ServeHTTP(rec, httptest.NewRequest(method, HealthPath, nil))
		return rec
	}
	// Before any sample: measured from the sources as they are.
	rec := get(http.MethodGet)
	require.Equal(t, http.StatusOK, rec.Code)
	var h Health
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &h))
	assert.Equal(t, StatusHealthy, h.Status)
	assert.Equal(t, "2024-01-15T10:00:00Z", h.LastCheck)
	_, ok := e.m.Latest()
	assert.False(t, ok, "the health check stores no sample")

	// Degraded: 6 % errors (component 0.5) and 3 750 ms (0.5); no tasks,
	// so the warm hit rate has no data and the other weights count:
	// (30·0.5 + 20·0.5 + 10 + 10 + 10) / 80.
	e.bridge.add(1, 100, 6, 3750*time.Millisecond)
	e.step(30 * time.Second)
	h = e.m.Health()
	assert.Equal(t, 68.8, h.Score)
	assert.Equal(t, StatusDegraded, h.Status)
	assert.Equal(t, http.StatusOK, get(http.MethodGet).Code)

	// Critical: the 5-minute window now holds 100 failures in 200 calls.
	e.bridge.add(1, 100, 94, 3750*time.Millisecond)
	e.step(30 * time.Second)
	h = e.m.Health()
	assert.Equal(t, 50.0, h.Score, "(0 + 20·0.5 + 30) / 80")
	assert.Equal(t, StatusCritical, h.Status)
	rec = get(http.MethodGet)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &h))
	assert.Equal(t, StatusCritical, h.Status)

	rec = get(http.MethodHead)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Empty(t, rec.Body.Bytes())
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		rec = get(method)
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, method)
		assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
	}
}

func TestHealthWeights(t *testing.T) {
	e := newEnv(t, WithHealthWeights(HealthWeights{QueueDepth: 1}))
	e.pool.set(func(s *pool.Stats) { s.QueueDepth = 25 })
	e.bridge.add(1, 100, 100, time.Minute)
	e.step(30 * time.Second)
	assert.Equal(t, 0.0, e.m.HealthScore(), "only the queue counts")

	_, err := New(WithPool(newFakePool()), WithHealthWeights(HealthWeights{}))
	require.ErrorIs(t, err, ErrInvalidConfig)
	_, err = New(WithPool(newFakePool()), WithHealthWeights(HealthWeights{ErrorRate: -1}))
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), "health weight errorRate -1")
}

func TestComponentScore(t *testing.T) {
	for _, c := range []struct{ v, good, bad, want float64 }{
		{0.01, 0.02, 0.10, 1}, {0.02, 0.02, 0.10, 1}, {0.06, 0.02, 0.10, 0.5}, {0.10, 0.02, 0.10, 0}, {0.5, 0.02, 0.10, 0},
		{0.7, 0.6, 0.4, 1}, {0.5, 0.6, 0.4, 0.5}, {0.4, 0.6, 0.4, 0}, {0.1, 0.6, 0.4, 0},
	} {
		assert.InDelta(t, c.want, componentScore(c.v, c.good, c.bad), 1e-9, "%+v", c)
	}
}

func TestHealthJSONHasNoExtraFields(t *testing.T) {
	b, err := json.Marshal(Health{Score: 12, Components: []Component{{Name: "x"}}})
	require.NoError(t, err)
	assert.False(t, bytes.Contains(b, []byte("score")) || bytes.Contains(b, []byte("omponents")))
}

func TestInfoAlertsAreNotTrouble(t *testing.T) {
	e := newEnv(t)
	e.pool.set(func(s *pool.Stats) { s.Workflows.Detections++ })
	e.step(30 * time.Second)
	require.Len(t, e.m.Alerts(), 1)
	assert.Equal(t, SeverityInfo, e.m.Alerts()[0].Severity)
	assert.Equal(t, map[Severity]int{SeverityCritical: 0, SeverityWarning: 0, SeverityInfo: 1}, e.m.Firing())
	h := e.m.Health()
	assert.Equal(t, 0, h.Alerts, "an info alert is news, not trouble")
	assert.Equal(t, StatusHealthy, h.Status)
}
