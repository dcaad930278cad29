package pool_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestOptionsFromEnvAppliesEveryVariable(t *testing.T) {
	env := map[string]string{
		pool.EnvMaxSpecialists:       "10",
		pool.EnvMaxWarm:              "4",
		pool.EnvWarmThreshold:        "0.45",
		pool.EnvCooldown:             "60000",
		pool.EnvUsageDecay:           "0.05",
		pool.EnvPredictionWindow:     "20",
		pool.EnvPriorityWeighting:    "false",
		pool.EnvDepartmentBalance:    "true",
		pool.EnvWorkflowOptimization: "false",
		pool.EnvAdaptiveScaling:      "false",
		pool.EnvMemoryBudget:         "5KB",
		pool.EnvMaxQueue:             "7",
		pool.EnvWarmingConcurrency:   "5",
		pool.EnvBatchSize:            "10",
	}
	opts, err := pool.OptionsFromEnv(lookup(env))
	require.NoError(t, err)
	assert.Len(t, opts, len(env))
	f := newFake(t)
	p := f.newPool(f.specs(10, 10), append(opts, pool.WithPredictor(noPrediction{}))...)
	assert.Equal(t, 4, p.MaxWarm())
	assert.InDelta(t, 0.45, p.WarmThreshold(), 1e-9)

	// Behaviour shows the rest: 60 s cooldown, no priority weighting, decay 0.05.
	run(t, p, "s0")
	f.clk.Add(59 * time.Second)
	assert.Equal(t, pool.StateWarm, stateOf(p, "s0"))
	f.clk.Add(6 * time.Second)
	assert.Equal(t, pool.StateCold, stateOf(p, "s0"))
	run(t, p, "s1")
	f.clk.Add(10 * time.Second)
	score := p.Specialists()[1].Score
	assert.InEpsilon(t, 1-expNeg(expNeg(0)*expNeg(0.5)), score, 0.003, "weight 1, decayed e^(−0.05·10) (to the decay table's 0.3 %)")
	// Budget 5 KB = 5 specialists of 1000 B, but the cap of 4 binds first.
	for _, id := range []string{"s2", "s3", "s4", "s5"} {
		run(t, p, id)
	}
	assert.LessOrEqual(t, p.Stats().Warm, 4)
}

func expNeg(x float64) float64 {
	// e^(−x), spelled out so the test reads like the formula.
	r := 1.0
	term := 1.0
	for i := 1; i < 40; i++ {
		term *= -x / float64(i)
		r += term
	}
	return r
}

func TestOptionsFromEnvEmpty(t *testing.T) {
	opts, err := pool.OptionsFromEnv(lookup(nil))
	require.NoError(t, err)
	assert.Empty(t, opts)
}

func TestOptionsFromEnvRejectsMalformedValues(t *testing.T) {
	cases := map[string]string{
		pool.EnvMaxWarm:            "seventeen",
		pool.EnvWarmThreshold:      "high",
		pool.EnvCooldown:           "soon",
		pool.EnvAdaptiveScaling:    "maybe",
		pool.EnvMemoryBudget:       "lots",
		pool.EnvPredictionWindow:   "1.5",
		pool.EnvWarmingConcurrency: "",
	}
	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := pool.OptionsFromEnv(lookup(map[string]string{name: value}))
			require.Error(t, err)
			assert.ErrorIs(t, err, pool.ErrInvalidConfig)
			assert.Contains(t, err.Error(), name)
			assert.Contains(t, err.Error(), `"`+value+`"`)
		})
	}
}

func TestOptionsFromEnvOutOfRangeIsCaughtByNew(t *testing.T) {
	opts, err := pool.OptionsFromEnv(lookup(map[string]string{pool.EnvWarmThreshold: "0.9"}))
	require.NoError(t, err)
	f := newFake(t)
	_, err = pool.New(f.specs(5, 5), opts...)
	assert.ErrorIs(t, err, pool.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "warm threshold 0.9")
}

func TestParseBytesAndDuration(t *testing.T) {
	for in, want := range map[string]int64{"512": 512, "1KiB": 1024, "2 MiB": 2 << 20, "1.5GB": 1_500_000_000, "3B": 3, "415MB": 415_000_000} {
		got, err := pool.ParseBytes(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "-1", "1TB", "MiB", "NaN", "nanMiB", "Inf", "-Inf", "1e308GiB",
		"9223372036854775808", "8589934592GiB", "0.4B", "0.0001KB", "1e-400", "-0.5"} {
		_, err := pool.ParseBytes(bad)
		assert.ErrorIs(t, err, pool.ErrInvalidConfig, bad)
		if err != nil {
			assert.Contains(t, err.Error(), strconv.Quote(bad), "the error names the value")
		}
	}
	for _, bad := range []string{"10000000000000", "9223372036855", "99999999999999999999", "-1", "-5s", "0.4ns", "2562048h", "soon"} {
		_, err := pool.ParseDuration(bad)
		assert.ErrorIs(t, err, pool.ErrInvalidConfig, bad)
		if err != nil {
			assert.Contains(t, err.Error(), strconv.Quote(bad), "the error names the value")
		}
	}
	n, err := pool.ParseBytes("0")
	require.NoError(t, err)
	assert.Zero(t, n)
	max, err := pool.ParseDuration("9223372036854")
	require.NoError(t, err)
	assert.Equal(t, 9223372036854*time.Millisecond, max)
	d, err := pool.ParseDuration("45000")
	require.NoError(t, err)
	assert.Equal(t, 45*time.Second, d)
	d, err = pool.ParseDuration("1m30s")
	require.NoError(t, err)
	assert.Equal(t, 90*time.Second, d)
}
