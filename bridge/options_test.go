package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type nilPtrExec struct{}

func (*nilPtrExec) Execute(context.Context, Command) (Response, error) { return Response{}, nil }

func TestNewRejectsNilExecutors(t *testing.T) {
	ok := echo("ok")
	var typedNil *nilPtrExec
	for name, pair := range map[string][2]Executor{
		"nil legacy":         {nil, ok},
		"nil intelligent":    {ok, nil},
		"typed nil func":     {ExecutorFunc(nil), ok},
		"typed nil pointer":  {ok, typedNil},
		"both nil":           {nil, nil},
		"nil intelligent fn": {ok, ExecutorFunc(nil)},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := New(pair[0], pair[1])
			require.ErrorIs(t, err, ErrNilExecutor)
			assert.Nil(t, b)
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	cases := []struct {
		opt    Option
		name   string
		alsoIs error
	}{
		{WithClock(nil), "WithClock", nil},
		{WithRand(nil), "WithRand", nil},
		{WithLogger(nil), "WithLogger", nil},
		{WithMode(0), "WithMode", ErrUnknownMode},
		{WithMode(ModeFallback + 1), "WithMode", ErrUnknownMode},
		{WithPercentage(-0.01), "WithPercentage", ErrInvalidPercentage},
		{WithPercentage(100.5), "WithPercentage", ErrInvalidPercentage},
		{WithPercentage(math.NaN()), "WithPercentage", ErrInvalidPercentage},
		{WithFallbackWindow(999 * time.Millisecond), "WithFallbackWindow", nil},
		{WithFallbackThreshold(0), "WithFallbackThreshold", nil},
		{WithFallbackThreshold(1.01), "WithFallbackThreshold", nil},
		{WithFallbackThreshold(math.NaN()), "WithFallbackThreshold", nil},
		{WithMinVolume(0), "WithMinVolume", nil},
		{WithShadowTimeout(0), "WithShadowTimeout", nil},
		{WithShadowConcurrency(0), "WithShadowConcurrency", nil},
		{WithShadowConcurrency(1<<16 + 1), "WithShadowConcurrency", nil},
		{WithMismatchRing(0), "WithMismatchRing", nil},
		{WithComparator(nil), "WithComparator", nil},
		{WithComparator(ComparatorFunc(nil)), "WithComparator", nil},
		{WithObserver(nil), "WithObserver", nil},
		{WithObserver((*recorder)(nil)), "WithObserver", nil},
		{nil, "option 0 is nil", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := New(echo("l"), echo("i"), c.opt)
			require.ErrorIs(t, err, ErrInvalidConfig)
			if c.alsoIs != nil {
				require.ErrorIs(t, err, c.alsoIs)
			}
			assert.Contains(t, err.Error(), c.name)
			assert.Nil(t, b)
		})
	}
}

func TestDefaults(t *testing.T) {
	b, _ := newBridge(t, echo("l"), echo("i")) // defaults but for the clock
	assert.Equal(t, ModeShadow, b.Mode())
	assert.Equal(t, 0.0, b.Percentage())
	st := b.Stats()
	assert.Equal(t, 5*time.Minute, st.Window.Span)
	assert.Equal(t, 0.8, st.Window.Threshold)
	assert.Equal(t, uint64(10), st.Window.MinVolume)
	assert.Len(t, st.Modes, 4)
	assert.Len(t, st.Paths, 2)
}

func TestOptionsTakeEffect(t *testing.T) {
	clk := clock.NewMock()
	b, err := New(echo("l"), echo("i"),
		WithClock(clk), WithRand(rand.NewPCG(1, 1)), WithLogger(slog.New(slog.DiscardHandler)),
		WithMode(ModeHybrid), WithPercentage(12.34), WithFallbackWindow(time.Minute),
		WithFallbackThreshold(0.5), WithMinVolume(3), WithShadowTimeout(time.Second),
		WithShadowConcurrency(2), WithMismatchRing(4), WithFallbackOnError(false),
		WithAutoFallback(false), WithComparator(DefaultComparator()))
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close(context.Background())) }()
	assert.Equal(t, ModeHybrid, b.Mode())
	assert.InDelta(t, 12.34, b.Percentage(), 1e-9)
	st := b.Stats()
	assert.Equal(t, time.Minute, st.Window.Span)
	assert.Equal(t, 0.5, st.Window.Threshold)
	assert.Equal(t, uint64(3), st.Window.MinVolume)
}

func TestModeNamesRoundTrip(t *testing.T) {
	for _, m := range Modes() {
		got, err := ParseMode(m.String())
		require.NoError(t, err)
		assert.Equal(t, m, got)
		txt, err := m.MarshalText()
		require.NoError(t, err)
		var back Mode
		require.NoError(t, back.UnmarshalText(txt))
		assert.Equal(t, m, back)
	}
	assert.Equal(t, []string{"shadow", "hybrid", "full", "fallback"},
		[]string{ModeShadow.String(), ModeHybrid.String(), ModeFull.String(), ModeFallback.String()})
	m, err := ParseMode(" FULL_replacement ")
	require.NoError(t, err)
	assert.Equal(t, ModeFull, m)

	for _, bad := range []string{"", "shadowy", "legacy", "100"} {
		_, err := ParseMode(bad)
		assert.ErrorIs(t, err, ErrUnknownMode, bad)
	}
	assert.Equal(t, "Mode(9)", Mode(9).String())
	_, err = Mode(0).MarshalText()
	assert.ErrorIs(t, err, ErrUnknownMode)
	var mm Mode
	assert.ErrorIs(t, mm.UnmarshalText([]byte("nope")), ErrUnknownMode)

	for _, p := range Paths() {
		txt, err := p.MarshalText()
		require.NoError(t, err)
		var back Path
		require.NoError(t, back.UnmarshalText(txt))
		assert.Equal(t, p, back)
	}
	assert.Equal(t, "Path(0)", Path(0).String())
	_, err = Path(0).MarshalText()
	assert.Error(t, err)
	var pp Path
	assert.Error(t, pp.UnmarshalText([]byte("pool")))
}

func TestStatsMarshalJSONWithNamedKeys(t *testing.T) {
	b, _ := newBridge(t, echo("l"), echo("i"), WithMode(ModeFallback))
	_, err := b.Execute(context.Background(), cmd("analyze"))
	require.NoError(t, err)
	raw, err := json.Marshal(b.Stats())
	require.NoError(t, err)
	var decoded struct {
		Mode  string `json:"mode"`
		Modes map[string]struct {
			Requests uint64                     `json:"requests"`
			Paths    map[string]json.RawMessage `json:"paths"`
		} `json:"modes"`
	}
	require.NoError(t, json.Unmarshal(raw, &decoded))
	assert.Equal(t, "fallback", decoded.Mode)
	assert.Equal(t, uint64(1), decoded.Modes["fallback"].Requests)
	assert.Contains(t, decoded.Modes["fallback"].Paths, "legacy")
}

func TestSetModeAndPercentageRejectBadInput(t *testing.T) {
	rec := &recorder{}
	b, _ := newBridge(t, echo("l"), echo("i"), WithMode(ModeHybrid), WithPercentage(25), WithObserver(rec))

	for _, m := range []Mode{0, 5, 255} {
		err := b.SetMode(m)
		require.ErrorIs(t, err, ErrUnknownMode)
	}
	for _, p := range []float64{-1, -0.001, 100.001, 1e9, math.NaN(), math.Inf(1), math.Inf(-1)} {
		err := b.SetPercentage(p)
		require.ErrorIs(t, err, ErrInvalidPercentage, "%v", p)
	}
	assert.Equal(t, ModeHybrid, b.Mode(), "nothing changed")
	assert.Equal(t, 25.0, b.Percentage(), "nothing changed")
	assert.Empty(t, rec.Transitions(), "no transition for rejected input")

	require.NoError(t, b.SetPercentage(0))
	require.NoError(t, b.SetPercentage(100))
	assert.Equal(t, 100.0, b.Percentage())
}

func TestAfterCloseEverythingIsRefused(t *testing.T) {
	legacy, intel := echo("l"), echo("i")
	b, err := New(legacy, intel, WithClock(clock.NewMock()), WithMode(ModeFull))
	require.NoError(t, err)
	require.NoError(t, b.Close(context.Background()))
	require.NoError(t, b.Close(context.Background()), "Close twice is fine")

	_, err = b.Execute(context.Background(), cmd("implement"))
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, b.SetMode(ModeShadow), ErrClosed)
	assert.ErrorIs(t, b.SetPercentage(50), ErrClosed)
	assert.Equal(t, ModeFull, b.Mode())
	assert.Zero(t, legacy.calls.Load()+intel.calls.Load())
	st := b.Stats()
	assert.True(t, st.Closed)
	assert.Equal(t, uint64(1), st.Rejected)
}

func TestEmptyCommandIsRejected(t *testing.T) {
	for _, m := range Modes() {
		t.Run(m.String(), func(t *testing.T) {
			legacy, intel := echo("l"), echo("i")
			b, _ := newBridge(t, legacy, intel, WithMode(m), WithPercentage(100))
			for _, name := range []string{"", "   ", "\t\n"} {
				resp, err := b.Execute(context.Background(), Command{Name: name, RoutingKey: "k"})
				require.ErrorIs(t, err, ErrEmptyCommand)
				assert.Equal(t, Response{}, resp)
			}
			assert.Zero(t, legacy.calls.Load()+intel.calls.Load(), "no executor called")
			st := b.Stats()
			assert.Equal(t, uint64(3), st.Rejected)
			assert.Zero(t, st.Modes[m].Requests)
		})
	}
}

func TestErrorsAreDistinct(t *testing.T) {
	all := []error{ErrNilExecutor, ErrUnknownMode, ErrInvalidPercentage, ErrEmptyCommand, ErrInvalidConfig, ErrNilObserver, ErrClosed, ErrPanic}
	for i, a := range all {
		for j, b := range all {
			assert.Equal(t, i == j, errors.Is(a, b), "%v vs %v", a, b)
		}
	}
}
