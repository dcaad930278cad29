package monitor

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/pool"
)

// t0 is the fake clock's start in every test.
var t0 = time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)

// fakePool returns scripted pool.Stats.
type fakePool struct {
	mu sync.Mutex
	st pool.Stats
}

func (f *fakePool) Stats() pool.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.st
	st.Departments = make(map[string]pool.DepartmentStats, len(f.st.Departments))
	for k, v := range f.st.Departments {
		st.Departments[k] = v
	}
	return st
}

func (f *fakePool) set(fn func(*pool.Stats)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.st)
}

// newFakePool is a quiet pool of 100 specialists, 20 warm of 40 slots,
// 100 MB held of a 500 MB baseline (memory usage 0.20, 80 % memory
// efficiency): it sets off no alert.
func newFakePool() *fakePool {
	return &fakePool{st: pool.Stats{
		Specialists: 100, Warm: 20, MaxWarm: 40, Cold: 80,
		MemoryCurrent: 100 << 20, MemoryBaseline: 500 << 20, MemorySaved: 400 << 20, MemoryEfficiency: 0.8,
		WarmThreshold: 0.3,
	}}
}

// fakeBridge returns scripted bridge.Stats, built from per-path totals.
type fakeBridge struct {
	mu        sync.Mutex
	calls     [2]uint64
	errors    [2]uint64
	latNs     [2]int64 // summed latency
	auto      uint64
	fallbacks uint64
	compared  uint64
	matched   uint64
	mode      bridge.Mode
}

func newFakeBridge() *fakeBridge { return &fakeBridge{mode: bridge.ModeFull} }

// add records n calls on path i (0 legacy, 1 intelligent) of lat each,
// errs of them failed.
func (f *fakeBridge) add(i int, n, errs uint64, lat time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[i] += n
	f.errors[i] += errs
	f.latNs[i] += int64(n) * int64(lat)
}

func (f *fakeBridge) Stats() bridge.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := bridge.Stats{Mode: f.mode, Paths: map[bridge.Path]bridge.PathStats{}, Modes: map[bridge.Mode]bridge.ModeStats{},
		AutoFallbacks: f.auto}
	for i, p := range []bridge.Path{bridge.PathLegacy, bridge.PathIntelligent} {
		ps := bridge.PathStats{Calls: f.calls[i], Errors: f.errors[i]}
		if f.calls[i] > 0 {
			ps.Latency.Mean = time.Duration(f.latNs[i] / int64(f.calls[i]))
		}
		st.Paths[p] = ps
	}
	st.Modes[bridge.ModeFull] = bridge.ModeStats{Fallbacks: f.fallbacks}
	st.Shadow.Compared, st.Shadow.Matched, st.Shadow.Mismatched = f.compared, f.matched, f.compared-f.matched
	return st
}

// env is a monitor on a mock clock with fake sources and a log buffer.
type env struct {
	t      testing.TB
	clk    *clock.Mock
	pool   *fakePool
	bridge *fakeBridge
	m      *Monitor
	logs   *syncBuffer
	got    *alertLog
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// alertLog records what listeners received.
type alertLog struct {
	mu sync.Mutex
	as []Alert
}

func (l *alertLog) add(a Alert) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.as = append(l.as, a)
}

func (l *alertLog) all() []Alert {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Alert(nil), l.as...)
}

func newEnv(t testing.TB, opts ...Option) *env {
	t.Helper()
	e := &env{t: t, clk: clock.NewMock(), pool: newFakePool(), bridge: newFakeBridge(), logs: &syncBuffer{}, got: &alertLog{}}
	e.clk.Set(t0)
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	base := []Option{WithClock(e.clk), WithPool(e.pool), WithBridge(e.bridge), WithLogger(logger), WithListener(e.got.add)}
	m, err := New(append(base, opts...)...)
	require.NoError(t, err)
	e.m = m
	return e
}

// step advances the clock by d and collects.
func (e *env) step(d time.Duration) Sample {
	e.clk.Add(d)
	return e.m.Collect()
}

// state returns the state of the rule's alert ("" when inactive).
func (e *env) state(rule string) AlertState {
	for _, a := range e.m.Alerts() {
		if a.Rule == rule {
			return a.State
		}
	}
	return ""
}
