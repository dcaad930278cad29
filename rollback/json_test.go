package rollback

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/internal/jsonx"
	"github.com/bumba/pooling/migrate"
)

const sentinel = 3723004005006 * time.Nanosecond

// The package's exported report types follow the module's JSON convention:
// camelCase keys, durations in milliseconds (…Ms), [] not null.
func TestJSONConvention(t *testing.T) {
	f := newFixture(t, hybrid50)
	for range 8 {
		f.after(10*time.Second, func() { f.metrics.calls(20, 10, 100*time.Millisecond, 100*time.Millisecond, 0) })
	}
	require.NotEmpty(t, f.mgr.History())
	rec := f.mgr.History()[0]
	an, err := f.mgr.Analyze(rec.ID)
	require.NoError(t, err)
	values := map[string]any{"history": f.mgr.History(), "triggers": f.mgr.Triggers(), "analysis": an,
		"events": f.events.list(), "criteria": DefaultCriteria(), "default triggers": DefaultTriggers()}
	for _, v := range []any{&Record{}, &Event{}, &Analysis{}, &TriggerStatus{}, &Evidence{}, &Verification{}, &Criteria{}} {
		jsonx.Fill(v, sentinel)
		values[fmt.Sprintf("filled %T", v)] = v
	}
	for name, v := range values {
		if r, ok := v.(*Record); ok {
			r.Before, r.After = migrate.Legacy, migrate.Legacy
			for i := range r.Stages {
				r.Stages[i].Routing = migrate.Legacy
			}
		}
		if e, ok := v.(*Event); ok {
			e.Record.Before, e.Record.After = migrate.Legacy, migrate.Legacy
			for i := range e.Record.Stages {
				e.Record.Stages[i].Routing = migrate.Legacy
			}
		}
		data, err := json.Marshal(v)
		require.NoError(t, err, name)
		require.NoError(t, jsonx.Check(data, sentinel), "%s: %s", name, data)
	}
	data, err := json.Marshal(DefaultTriggers()[0])
	require.NoError(t, err)
	require.JSONEq(t, `{"name":"error_rate","condition":"error_rate","threshold":0.1,"forMs":60000}`, string(data))

	// A saved record round-trips, and one saved before the convention
	// (snake_case, nanoseconds) still loads.
	data, err = json.Marshal(rec)
	require.NoError(t, err)
	var back Record
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, rec.ID, back.ID)
	require.Equal(t, rec.Evidence.Baseline, back.Evidence.Baseline)
	var old Record
	require.NoError(t, json.Unmarshal([]byte(`{"id":"rb-1","started_at":"2026-01-05T09:00:00Z","evidence":{"baseline":1000000}}`), &old))
	require.Equal(t, "rb-1", old.ID)
	require.Equal(t, time.Millisecond, old.Evidence.Baseline)
	require.Equal(t, 2026, old.StartedAt.Year())
}
