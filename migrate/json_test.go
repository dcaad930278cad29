package migrate

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/internal/jsonx"
)

const sentinel = 3723004005006 * time.Nanosecond

// The package's exported report types follow the module's JSON convention:
// camelCase keys, durations in milliseconds (…Ms), [] not null.
func TestJSONConvention(t *testing.T) {
	f := newFixture(t)
	f.metrics.healthy(10)
	f.at(time.Minute)
	values := map[string]any{
		"status": f.ctrl.Status(), "history": f.ctrl.History(), "tunings": f.ctrl.Tunings(),
		"plan": DefaultPlan(), "tuning": DefaultTuning(), "gate": ShadowGate(),
	}
	var st Status
	jsonx.Fill(&st, sentinel)
	st.Routing = Legacy
	var d Decision
	jsonx.Fill(&d, sentinel)
	d.Routing = Legacy
	var w Window
	jsonx.Fill(&w, sentinel)
	var r Reading
	jsonx.Fill(&r, sentinel)
	r.Routing = Legacy
	var tc TuningChange
	jsonx.Fill(&tc, sentinel)
	var gr GateResult
	jsonx.Fill(&gr, sentinel)
	for name, v := range map[string]any{"filled status": st, "filled decision": d, "window": w, "reading": r,
		"tuning change": tc, "gate result": gr, "zero status": Status{Routing: Legacy}, "rollback": RollbackInfo{}} {
		values[name] = v
	}
	for name, v := range values {
		data, err := json.Marshal(v)
		require.NoError(t, err, name)
		require.NoError(t, jsonx.Check(data, sentinel), "%s: %s", name, data)
	}
	data, err := json.Marshal(f.ctrl.Status())
	require.NoError(t, err)
	require.Contains(t, string(data), `"soakedMs":60000`)
	require.Contains(t, string(data), `"warnings":[]`)
	data, err = json.Marshal(DefaultPlan())
	require.NoError(t, err)
	require.Contains(t, string(data), `"soakMs":1800000`)
	require.Contains(t, string(data), `"maxLatencyMs":2500`)

	var back Plan
	require.NoError(t, json.Unmarshal(data, &back))
	again, err := json.Marshal(back)
	require.NoError(t, err)
	require.JSONEq(t, string(data), string(again), "round trip")
	require.Equal(t, DefaultPlan().Duration(), back.Duration())
}

// Durable state written before the convention (snake_case keys,
// nanoseconds) still loads.
func TestJSONReadsTheEarlierForm(t *testing.T) {
	var b Baseline
	require.NoError(t, json.Unmarshal([]byte(`{"calls":4,"latency_total":4000000}`), &b))
	require.Equal(t, Baseline{Calls: 4, Latency: 4 * time.Millisecond}, b)
	var w Window
	require.NoError(t, json.Unmarshal([]byte(`{"warm_hits":3,"intelligent":{"calls":2,"latency_total":10}}`), &w))
	require.Equal(t, uint64(3), w.WarmHits)
	require.Equal(t, 10*time.Nanosecond, w.Intelligent.Latency)
	var s Step
	require.NoError(t, json.Unmarshal([]byte(`{"name":"x","soak":60000000000}`), &s))
	require.Equal(t, time.Minute, s.Soak)
}
