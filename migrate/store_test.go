package migrate

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/internal/state"
)

// driveTo steps the default plan every 30 s with healthy traffic until the
// named step is current.
func driveTo(t *testing.T, clk *clock.Mock, c *Controller, m *fakeMetrics, step string) {
	t.Helper()
	for i := 0; c.Status().Step.Name != step; i++ {
		require.Less(t, i, 10000, "never reached %s", step)
		m.healthy(10)
		clk.Add(30 * time.Second)
		_, err := c.Step(context.Background())
		require.NoError(t, err)
	}
}

func soakFor(t *testing.T, clk *clock.Mock, c *Controller, m *fakeMetrics, d time.Duration) {
	t.Helper()
	for end := clk.Now().Add(d); clk.Now().Before(end); {
		m.healthy(10)
		clk.Add(30 * time.Second)
		_, err := c.Step(context.Background())
		require.NoError(t, err)
	}
}

func TestRestartMidRolloutResumesStepSoakAndPercentage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rollout.json")
	clk := clock.NewMock()
	store1, err := OpenFileStore(path)
	require.NoError(t, err)
	r1, m1 := newRouter(), newMetrics(clk)
	c1, err := New(r1, m1, WithClock(clk), WithStore(store1))
	require.NoError(t, err)
	driveTo(t, clk, c1, m1, "hybrid-50")
	soakFor(t, clk, c1, m1, 10*time.Minute)
	before := c1.Status()
	require.Equal(t, 10*time.Minute, before.Soaked)
	require.Equal(t, Routing{bridge.ModeHybrid, 50}, r1.routing())

	// The process dies; an hour later a new one starts with a fresh bridge
	// (in its default shadow mode) and fresh counters.
	clk.Add(time.Hour)
	store2, err := OpenFileStore(path)
	require.NoError(t, err)
	r2, m2 := newRouter(), newMetrics(clk)
	c2, err := New(r2, m2, WithClock(clk), WithStore(store2))
	require.NoError(t, err)
	after := c2.Status()
	require.Equal(t, "hybrid-50", after.Step.Name)
	require.Equal(t, StateRunning, after.State)
	require.Equal(t, before.Soaked, after.Soaked)
	sameJSON(t, before.Evidence, after.Evidence)
	require.Equal(t, before.Baseline, after.Baseline)
	require.True(t, before.StepStartedAt.Equal(after.StepStartedAt))
	require.Equal(t, Routing{bridge.ModeHybrid, 50}, r2.routing(), "the new bridge gets the step's percentage")
	h := c2.History()
	require.Equal(t, ActionRestore, h[len(h)-1].Action)
	require.Contains(t, h[len(h)-1].Reason, "10m0s of 30m0s soaked")
	require.Equal(t, len(c1.History())+1, len(h))

	// The downtime did not count: 20 more minutes are due.
	soakFor(t, clk, c2, m2, 20*time.Minute-30*time.Second)
	require.Equal(t, "hybrid-50", c2.Status().Step.Name)
	soakFor(t, clk, c2, m2, 30*time.Second)
	require.Equal(t, "hybrid-75", c2.Status().Step.Name)
	require.Equal(t, Routing{bridge.ModeHybrid, 75}, r2.routing())
}

func TestRestartWhileRolledBack(t *testing.T) {
	clk := clock.NewMock()
	store := NewMemoryStore()
	g := &fakeGuard{}
	m := newMetrics(clk)
	r1 := newRouter()
	c1, err := New(r1, m, WithClock(clk), WithStore(store), WithGuard(g), WithStartStep("hybrid-75"))
	require.NoError(t, err)
	require.Equal(t, Routing{bridge.ModeHybrid, 75}, r1.routing())
	g.set(RollbackInfo{ID: "rb-1", Trigger: "error_rate", Reason: "error rate 12%", InProgress: true})
	require.NoError(t, r1.SetPercentage(50)) // the planned rollback's first stage
	clk.Add(time.Minute)
	d, err := c1.Step(context.Background())
	require.NoError(t, err)
	require.Equal(t, ActionRollback, d.Action)

	// A restart while the rollback is in progress leaves its routing alone.
	r2 := newRouter()
	require.NoError(t, r2.SetMode(bridge.ModeHybrid))
	require.NoError(t, r2.SetPercentage(50))
	_, err = New(r2, m, WithClock(clk), WithStore(store), WithGuard(g))
	require.NoError(t, err)
	require.Equal(t, Routing{bridge.ModeHybrid, 50}, r2.routing())

	// Once it is over, a restart sends everything to legacy.
	g.set(RollbackInfo{ID: "rb-1", Trigger: "error_rate", Reason: "error rate 12%"})
	r3 := newRouter()
	c3, err := New(r3, m, WithClock(clk), WithStore(store), WithGuard(g))
	require.NoError(t, err)
	require.Equal(t, Legacy, r3.routing())
	require.Equal(t, StateRolledBack, c3.Status().State)
}

func TestRestoreNoticesARollbackItHadNotSeen(t *testing.T) {
	clk := clock.NewMock()
	store := NewMemoryStore()
	m := newMetrics(clk)
	_, err := New(newRouter(), m, WithClock(clk), WithStore(store), WithStartStep("full"))
	require.NoError(t, err)
	// The rollback happened after the last save, just before the crash.
	g := &fakeGuard{info: RollbackInfo{ID: "rb-7", Trigger: "manual", Reason: "drill"}}
	r := newRouter()
	c, err := New(r, m, WithClock(clk), WithStore(store), WithGuard(g))
	require.NoError(t, err)
	require.Equal(t, StateRolledBack, c.Status().State)
	require.Equal(t, Legacy, r.routing())
	acts := actions(c.History())
	require.Equal(t, []Action{ActionStart, ActionRollback, ActionRestore}, acts)
}

func sameJSON(t *testing.T, want, got any) {
	t.Helper()
	w, err := json.Marshal(want)
	require.NoError(t, err)
	g, err := json.Marshal(got)
	require.NoError(t, err)
	require.JSONEq(t, string(w), string(g))
}

func writeRaw(t *testing.T, path string, data []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

func savedFile(t *testing.T) (path string, data []byte) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "rollout.json")
	clk := clock.NewMock()
	s, err := OpenFileStore(path)
	require.NoError(t, err)
	_, err = New(newRouter(), newMetrics(clk), WithClock(clk), WithStore(s))
	require.NoError(t, err)
	data, err = os.ReadFile(path)
	require.NoError(t, err)
	return path, data
}

func TestCorruptTruncatedAndNewerStateFilesAreRefused(t *testing.T) {
	_, good := savedFile(t)
	cases := map[string]struct {
		data []byte
		want error
	}{
		"truncated":        {good[:len(good)/3], ErrCorruptState},
		"one byte flipped": {[]byte(strings.Replace(string(good), `"preparation"`, `"preparatioN"`, 1)), ErrCorruptState},
		"garbage":          {[]byte("\x00\x01binary"), ErrCorruptState},
		"newer schema":     {[]byte(strings.Replace(string(good), `"schema": 1`, `"schema": 9`, 1)), ErrNewerState},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rollout.json")
			writeRaw(t, path, tc.data)
			_, err := OpenFileStore(path)
			require.ErrorIs(t, err, tc.want)
			require.Contains(t, err.Error(), path)
			after, rerr := os.ReadFile(path)
			require.NoError(t, rerr)
			require.Equal(t, tc.data, after, "never silently reset")
		})
	}
}

// sectionFile writes a valid state file whose rollout section is section.
func sectionFile(t *testing.T, section string) *FileStore {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rollout.json")
	payload, err := json.Marshal(map[string]any{"sections": map[string]json.RawMessage{SectionRollout: json.RawMessage(section)}})
	require.NoError(t, err)
	require.NoError(t, state.Write(path, payload))
	s, err := OpenFileStore(path)
	require.NoError(t, err)
	return s
}

func TestBadRolloutSectionsAreRefused(t *testing.T) {
	clk := clock.NewMock()
	cases := map[string]struct {
		section string
		want    error
	}{
		"newer section version": {`{"version": 2, "step": "shadow", "state": "running"}`, ErrNewerState},
		"no version":            {`{"step": "shadow", "state": "running"}`, ErrCorruptState},
		"unknown state":         {`{"version": 1, "step": "shadow", "state": "dancing"}`, ErrCorruptState},
		"wrong types":           {`{"version": 1, "step": 7}`, ErrCorruptState},
		"not an object":         {`[1, 2]`, ErrCorruptState},
		"step not in plan":      {`{"version": 1, "step": "hybrid-33", "state": "running"}`, ErrPlanMismatch},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := sectionFile(t, tc.section)
			r := newRouter()
			_, err := New(r, newMetrics(clk), WithClock(clk), WithStore(s))
			require.ErrorIs(t, err, tc.want)
			require.Empty(t, r.changes, "nothing was applied")
			raw, lerr := s.Load(context.Background(), SectionRollout)
			require.NoError(t, lerr)
			require.JSONEq(t, tc.section, string(raw), "never silently reset")
		})
	}
}

// A crash after the new state was written to the temporary file but
// before the rename keeps the old state; the next save replaces the
// leftover.
func TestCrashBetweenTempWriteAndRenameKeepsTheOldState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rollout.json")
	clk := clock.NewMock()
	s1, err := OpenFileStore(path)
	require.NoError(t, err)
	m := newMetrics(clk)
	c1, err := New(newRouter(), m, WithClock(clk), WithStore(s1))
	require.NoError(t, err)
	driveTo(t, clk, c1, m, "hybrid-25")

	// Simulate the crash: the next state reached the temporary file, in
	// full or in part, and the rename never happened.
	raw, err := s1.Load(context.Background(), SectionRollout)
	require.NoError(t, err)
	next := strings.Replace(string(raw), `"step":"hybrid-25"`, `"step":"hybrid-50"`, 1)
	payload, err := json.Marshal(map[string]any{"sections": map[string]json.RawMessage{SectionRollout: json.RawMessage(next)}})
	require.NoError(t, err)
	env, err := state.Encode(payload)
	require.NoError(t, err)
	for _, partial := range [][]byte{env, env[:len(env)/2]} {
		writeRaw(t, path+state.TempSuffix, partial)
		s2, err := OpenFileStore(path)
		require.NoError(t, err)
		r := newRouter()
		c2, err := New(r, newMetrics(clk), WithClock(clk), WithStore(s2))
		require.NoError(t, err)
		require.Equal(t, "hybrid-25", c2.Status().Step.Name)
		require.Equal(t, Routing{bridge.ModeHybrid, 25}, r.routing())
	}
	_, err = os.Stat(path + state.TempSuffix)
	require.True(t, os.IsNotExist(err), "the next save went through the temporary file again and renamed it")
}

func TestFileStoreSections(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.json")
	s, err := OpenFileStore(path)
	require.NoError(t, err)
	require.Equal(t, path, s.Path())
	got, err := s.Load(ctx, "a")
	require.NoError(t, err)
	require.Nil(t, got)
	require.NoError(t, s.Save(ctx, "a", []byte(`{"version":1,"x":1}`)))
	require.NoError(t, s.Save(ctx, "b", []byte(`{"version":1,"y":2}`)))
	require.Error(t, s.Save(ctx, "c", []byte(`{`)))

	s2, err := OpenFileStore(path)
	require.NoError(t, err)
	a, err := s2.Load(ctx, "a")
	require.NoError(t, err)
	require.JSONEq(t, `{"version":1,"x":1}`, string(a))
	b, err := s2.Load(ctx, "b")
	require.NoError(t, err)
	require.JSONEq(t, `{"version":1,"y":2}`, string(b))
	c, err := s2.Load(ctx, "c")
	require.NoError(t, err)
	require.Nil(t, c)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, s2.Save(cctx, "a", []byte(`{}`)), context.Canceled)
	_, err = s2.Load(cctx, "a")
	require.ErrorIs(t, err, context.Canceled)

	_, err = OpenFileStore("")
	require.ErrorIs(t, err, ErrInvalidConfig)

	// A failed write leaves the store as it was.
	bad := filepath.Join(t.TempDir(), "missing-dir", "s.json")
	s3, err := OpenFileStore(bad)
	require.NoError(t, err)
	require.Error(t, s3.Save(ctx, "a", []byte(`{}`)))
	got, err = s3.Load(ctx, "a")
	require.NoError(t, err)
	require.Nil(t, got)
}

func TestMemoryStore(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	got, err := s.Load(ctx, "a")
	require.NoError(t, err)
	require.Nil(t, got)
	data := []byte(`{"version":1}`)
	require.NoError(t, s.Save(ctx, "a", data))
	data[0] = 'x' // the store kept its own copy
	got, err = s.Load(ctx, "a")
	require.NoError(t, err)
	require.JSONEq(t, `{"version":1}`, string(got))
	require.Error(t, s.Save(ctx, "a", []byte("nope")))
}

func TestCheckSectionVersion(t *testing.T) {
	require.NoError(t, CheckSectionVersion("x", []byte(`{"version":1}`), 1))
	require.ErrorIs(t, CheckSectionVersion("x", []byte(`{"version":2}`), 1), ErrNewerState)
	require.ErrorIs(t, CheckSectionVersion("x", []byte(`{"version":0}`), 1), ErrCorruptState)
	require.ErrorIs(t, CheckSectionVersion("x", []byte(`nope`), 1), ErrCorruptState)
}
