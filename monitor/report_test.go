package monitor

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
)

// An hour in shadow mode at the seed's figures: 311 MB of 415 saved, 68 %
// warm hits, 1 200 ms against legacy's 850 ms.
func TestReport(t *testing.T) {
	e := newEnv(t, WithCostPerMBMonth(0.5))
	e.pool.set(func(s *pool.Stats) {
		s.Specialists, s.Warm, s.MaxWarm = 83, 17, 17
		s.MemoryBaseline, s.MemoryCurrent, s.MemorySaved = 415<<20, 104<<20, 311<<20
		s.MemoryEfficiency = 311.0 / 415
	})
	for i := range 120 {
		e.pool.set(func(s *pool.Stats) {
			s.Tasks += 25
			s.WarmHits += 17
			s.PrewarmsUsed += 3
			s.PrewarmsWasted++
			if i%12 == 0 {
				s.Workflows.Seen += 2
				s.Workflows.Recognised += 2
				s.Workflows.Detections += 3
			}
		})
		e.bridge.add(0, 25, 0, 850*time.Millisecond)
		errs := uint64(0)
		if i%60 == 0 {
			errs = 1
		}
		e.bridge.add(1, 25, errs, 1200*time.Millisecond)
		e.step(30 * time.Second)
	}
	r := e.m.Report(time.Hour)
	assert.Equal(t, t0, r.From)
	assert.Equal(t, t0.Add(time.Hour), r.To)
	assert.Equal(t, uint64(120), r.Samples)
	assert.InDelta(t, 311, r.MemorySavedMB, 1e-9)
	assert.InDelta(t, 0.7494, r.MemorySavedShare, 0.0001)
	assert.InDelta(t, 0.68, r.WarmHitRate, 1e-9)
	assert.Equal(t, uint64(3000), r.Tasks)
	assert.InDelta(t, 1200, r.ResponseTimeMs, 1e-9)
	assert.InDelta(t, 850, r.LegacyResponseTimeMs, 1e-9)
	assert.InDelta(t, 350, r.ResponseTimeOverheadMs, 1e-9)
	assert.Equal(t, uint64(2), r.Errors)
	assert.InDelta(t, 2.0/3000, r.ErrorRate, 1e-12)
	assert.InDelta(t, 0.75, r.PredictionAccuracy, 1e-12)
	assert.Equal(t, 1.0, r.WorkflowDetectionRate)
	assert.Equal(t, uint64(30), r.WorkflowDetections)
	assert.InDelta(t, 1866, r.AnnualCostSaving, 1e-9, "311 MB × $0.50 × 12: the seed's figure")
	assert.Equal(t, 0, r.Alerts.Critical, "17 of 17 warm slots for an hour, but 104 MB of the 415 MB baseline (25 %) is no memory pressure")
	assert.Equal(t, 0, r.Alerts.Warning)
	assert.Equal(t, 10, r.Alerts.Info, "ten workflow detections; efficiency 74.9 % is not > 80 %")
	assert.Equal(t, []string{RuleWorkflowDetected}, r.Alerts.Rules)
	assert.Equal(t, 0, r.Alerts.Firing)
	assert.Equal(t, StatusHealthy, r.Status)

	b, err := json.Marshal(r)
	require.NoError(t, err)
	var back map[string]any
	require.NoError(t, json.Unmarshal(b, &back))
	for _, k := range []string{"memorySavedMB", "memorySavedShare", "warmHitRate", "responseTimeOverheadMs", "errorRate",
		"predictionAccuracy", "workflowDetectionRate", "alerts", "annualCostSaving", "costPerMBMonth"} {
		assert.Contains(t, back, k)
	}

	text := r.String()
	for _, want := range []string{
		"memory saved         311.0 MB mean over the period's samples (74.9 % of 415.0 MB; 104.0 MB held)",
		"warm hit rate        68.0 % (2040 of 3000 tasks)",
		"response time        1200 ms (legacy 850 ms, overhead +350 ms)",
		"error rate           0.1 % (2 of 3000 calls)",
		"prediction accuracy  75.0 % (360 of 480 pre-warms used)",
		"workflow detection   100.0 % (20 of 20 instances); 30 detections",
		"annual cost saving   $1866: the mean memory saved × $0.50/MB-month × 12",
		"alerts               0 critical, 0 warning, 10 info fired",
		"health               100.0 (HEALTHY)",
	} {
		assert.Contains(t, text, want)
	}
	t.Log("\n" + text)

	// A period longer than the monitor's life starts at New.
	assert.Equal(t, t0, e.m.Report(24*time.Hour).From)
}

func TestReportWithoutEvidence(t *testing.T) {
	e := newEnv(t)
	text := e.m.Report(time.Hour).String()
	for _, want := range []string{"warm hit rate        n/a", "response time        n/a", "error rate           n/a", "prediction accuracy  n/a"} {
		assert.Contains(t, text, want)
	}
	assert.False(t, strings.Contains(text, "NaN"))
}
