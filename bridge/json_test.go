package bridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/internal/jsonx"
)

// sentinel is a duration no JSON may hold as raw nanoseconds.
const sentinel = 3723004005006 * time.Nanosecond

// The bridge's exported report types follow the module's JSON convention:
// camelCase keys, durations in milliseconds (…Ms), [] not null, and
// compatibility as a fraction.
func TestJSONConvention(t *testing.T) {
	clk := clock.NewMock()
	legacy := bridge.ExecutorFunc(func(_ context.Context, c bridge.Command) (bridge.Response, error) {
		clk.Add(1500 * time.Microsecond)
		return bridge.Response{Output: "a"}, nil
	})
	intel := bridge.ExecutorFunc(func(_ context.Context, c bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: "b"}, errors.New("boom")
	})
	b, err := bridge.New(legacy, intel, bridge.WithClock(clk), bridge.WithShadowConcurrency(16))
	require.NoError(t, err)
	for range 4 {
		_, err := b.Execute(context.Background(), bridge.Command{Name: "x"})
		require.NoError(t, err)
	}
	require.NoError(t, b.Close(context.Background()))

	maps := []string{"modes", "paths", "modes.*.paths"}
	st := b.Stats()
	data, err := json.Marshal(st)
	require.NoError(t, err)
	require.NoError(t, jsonx.Check(data, 0, maps...), string(data))
	var keys struct {
		Paths map[string]struct {
			Latency map[string]float64 `json:"latency"`
		} `json:"paths"`
		Window map[string]any `json:"window"`
		Shadow map[string]any `json:"shadow"`
	}
	require.NoError(t, json.Unmarshal(data, &keys))
	assert.InDelta(t, 1.5, keys.Paths["legacy"].Latency["meanMs"], 1e-9, "milliseconds: %s", data)
	assert.InDelta(t, 6.0, keys.Paths["legacy"].Latency["totalMs"], 1e-9)
	assert.Contains(t, keys.Window, "spanMs")
	assert.Contains(t, keys.Shadow, "inFlight")
	assert.Equal(t, 0.0, keys.Shadow["compatibility"], "a fraction: 0 of 4 matched")

	var back bridge.Stats
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, st.Paths[bridge.PathLegacy].Latency, back.Paths[bridge.PathLegacy].Latency)

	// Every duration in the report types, set to a sentinel.
	var full bridge.Stats
	jsonx.Fill(&full, sentinel)
	var ls bridge.LatencyStats
	jsonx.Fill(&ls, sentinel)
	full.Paths = map[bridge.Path]bridge.PathStats{bridge.PathLegacy: {Latency: ls}}
	full.Modes = map[bridge.Mode]bridge.ModeStats{bridge.ModeShadow: {Paths: full.Paths}}
	full.Mode = bridge.ModeShadow
	data, err = json.Marshal(full)
	require.NoError(t, err)
	require.NoError(t, jsonx.Check(data, sentinel, maps...), string(data))

	mm := b.Mismatches()
	require.NotEmpty(t, mm)
	data, err = json.Marshal(mm)
	require.NoError(t, err)
	require.NoError(t, jsonx.Check(data, 0, "[].command.options"), string(data))
	assert.Contains(t, string(data), `"error":"boom"`)
	assert.Contains(t, string(data), `"latencyMs":1.5`)
	assert.Contains(t, string(data), `"args":[]`)
}
