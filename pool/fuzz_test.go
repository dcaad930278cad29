package pool_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bumba/pooling/pool"
)

// Outside input the pool parses: the environment's durations and byte
// counts, and every BUMBA_POOL_* variable through OptionsFromEnv and New.
// Run longer with: go test -run x -fuzz FuzzParseBytes -fuzztime 1m ./pool

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"45000", "45s", "1m30s", "0", "0s", "-1", "-5s", "10000000000000",
		"9223372036854", "9223372036855", "9223372036854775807", "99999999999999999999", "0.4ns", "1.5h",
		"2562047h", "2562048h", "NaN", "Inf", "", " ", "1e3", "5 s", "+7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := pool.ParseDuration(s)
		if err != nil {
			if !errors.Is(err, pool.ErrInvalidConfig) || !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("ParseDuration(%q): %v: want ErrInvalidConfig naming the value", s, err)
			}
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %v: negative", s, d)
		}
		if ms, perr := strconv.ParseInt(s, 10, 64); perr == nil && d != time.Duration(ms)*time.Millisecond {
			t.Fatalf("ParseDuration(%q) = %v, want %d ms", s, d, ms)
		}
		if d == 0 && strings.ContainsAny(s, "123456789") {
			t.Fatalf("ParseDuration(%q) = 0: a nonzero value rounded to 0", s)
		}
	})
}

func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"512", "1KiB", "2 MiB", "1.5GB", "3B", "415MB", "0", "-1", "-0", "NaN", "nanMiB",
		"Inf", "+Inf", "-Inf", "infinity", "1e308GiB", "9223372036854775807", "9223372036854775808", "8EiB",
		"8589934592GiB", "0.4B", "1e-400", "0.000001KB", "1TB", "MiB", "", "0x1p-3", "1_000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := pool.ParseBytes(s)
		if err != nil {
			if !errors.Is(err, pool.ErrInvalidConfig) || !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("ParseBytes(%q): %v: want ErrInvalidConfig naming the value", s, err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("ParseBytes(%q) = %d: negative", s, n)
		}
		if v, perr := strconv.ParseInt(strings.TrimSpace(s), 10, 64); perr == nil && n != v {
			t.Fatalf("ParseBytes(%q) = %d, want %d", s, n, v)
		}
	})
}

// FuzzOptionsFromEnv: any value of any variable gives options New accepts
// or an error wrapping ErrInvalidConfig, never a panic.
func FuzzOptionsFromEnv(f *testing.F) {
	names := []string{pool.EnvMaxSpecialists, pool.EnvMaxWarm, pool.EnvWarmThreshold, pool.EnvCooldown,
		pool.EnvUsageDecay, pool.EnvPredictionWindow, pool.EnvPriorityWeighting, pool.EnvDepartmentBalance,
		pool.EnvWorkflowOptimization, pool.EnvAdaptiveScaling, pool.EnvMemoryBudget, pool.EnvMaxQueue,
		pool.EnvWarmingConcurrency, pool.EnvBatchSize}
	for i, v := range []string{"100", "3", "0.3", "45000", "0.02", "15", "true", "false", "1", "0", "512MiB", "1024", "3", "5",
		"-1", "NaN", "1e309", "99999999999999999999", "0.4B", " 7 "} {
		f.Add(uint8(i), v)
	}
	fk := newFake(&testing.T{})
	specs := fk.specs(5, 5)
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		name := names[int(which)%len(names)]
		opts, err := pool.OptionsFromEnv(func(k string) (string, bool) {
			if k == name {
				return value, true
			}
			return "", false
		})
		if err != nil {
			if !errors.Is(err, pool.ErrInvalidConfig) || !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%q: %v: want ErrInvalidConfig naming the variable", name, value, err)
			}
			return
		}
		p, err := pool.New(specs, opts...)
		if err != nil {
			if !errors.Is(err, pool.ErrInvalidConfig) {
				t.Fatalf("%s=%q: New: %v: want ErrInvalidConfig", name, value, err)
			}
			return
		}
		if err := p.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
