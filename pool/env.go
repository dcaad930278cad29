package pool

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Environment variables read by OptionsFromEnv. The first three are the
// seed's own names (BUMBA_POOL_WARMTHRESHOLD is spelled as the seed spells it).
const (
	EnvMaxSpecialists       = "BUMBA_POOL_MAX_SPECIALISTS"
	EnvMaxWarm              = "BUMBA_POOL_MAX_WARM"
	EnvWarmThreshold        = "BUMBA_POOL_WARMTHRESHOLD"
	EnvCooldown             = "BUMBA_POOL_COOLDOWN"
	EnvUsageDecay           = "BUMBA_POOL_USAGE_DECAY"
	EnvPredictionWindow     = "BUMBA_POOL_PREDICTION_WINDOW"
	EnvPriorityWeighting    = "BUMBA_POOL_PRIORITY_WEIGHTING"
	EnvDepartmentBalance    = "BUMBA_POOL_DEPARTMENT_BALANCE"
	EnvWorkflowOptimization = "BUMBA_POOL_WORKFLOW_OPTIMIZATION"
	EnvAdaptiveScaling      = "BUMBA_POOL_ADAPTIVE_SCALING"
	EnvMemoryBudget         = "BUMBA_POOL_MEMORY_BUDGET"
	EnvMaxQueue             = "BUMBA_POOL_MAX_QUEUE"
	EnvWarmingConcurrency   = "BUMBA_POOL_WARMING_CONCURRENCY"
	EnvBatchSize            = "BUMBA_POOL_BATCH_SIZE"
)

// OptionsFromEnv reads the BUMBA_POOL_* variables through lookup (pass
// os.LookupEnv) and returns the options they set; unset variables leave the
// defaults. Durations take Go syntax ("45s") or plain milliseconds as in the
// seed ("45000"); booleans take strconv.ParseBool's forms; the memory budget
// takes bytes or a KB/MB/GB/KiB/MiB/GiB suffix. A malformed value is an error
// naming the variable and the value; ranges are checked by New.
func OptionsFromEnv(lookup func(string) (string, bool)) ([]Option, error) {
	var opts []Option
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		return strings.TrimSpace(v), ok
	}
	ints := []struct {
		name string
		opt  func(int) Option
	}{
		{EnvMaxSpecialists, WithMaxSpecialists},
		{EnvMaxWarm, WithMaxWarm},
		{EnvPredictionWindow, WithPredictionWindow},
		{EnvMaxQueue, WithMaxQueue},
		{EnvWarmingConcurrency, WithWarmingConcurrency},
		{EnvBatchSize, WithBatchSize},
	}
	for _, e := range ints {
		if v, ok := get(e.name); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, envError(e.name, v, "an integer")
			}
			opts = append(opts, e.opt(n))
		}
	}
	floats := []struct {
		name string
		opt  func(float64) Option
	}{
		{EnvWarmThreshold, WithWarmThreshold},
		{EnvUsageDecay, WithUsageDecay},
	}
	for _, e := range floats {
		if v, ok := get(e.name); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, envError(e.name, v, "a number")
			}
			opts = append(opts, e.opt(f))
		}
	}
	bools := []struct {
		name string
		opt  func(bool) Option
	}{
		{EnvPriorityWeighting, WithPriorityWeighting},
		{EnvDepartmentBalance, WithDepartmentBalance},
		{EnvWorkflowOptimization, WithWorkflowOptimization},
		{EnvAdaptiveScaling, WithAdaptiveScaling},
	}
	for _, e := range bools {
		if v, ok := get(e.name); ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, envError(e.name, v, "true or false")
			}
			opts = append(opts, e.opt(b))
		}
	}
	if v, ok := get(EnvCooldown); ok {
		d, err := ParseDuration(v)
		if err != nil {
			return nil, envError(EnvCooldown, v, `a duration ("45s") or milliseconds ("45000")`)
		}
		opts = append(opts, WithCooldown(d))
	}
	if v, ok := get(EnvMemoryBudget); ok {
		n, err := ParseBytes(v)
		if err != nil {
			return nil, envError(EnvMemoryBudget, v, `bytes, optionally with a unit ("512MiB")`)
		}
		opts = append(opts, WithMemoryBudget(n))
	}
	return opts, nil
}

func envError(name, value, want string) error {
	return fmt.Errorf("pool: %s=%q: want %s: %w", name, value, want, ErrInvalidConfig)
}

// ParseDuration reads Go duration syntax or a plain number of milliseconds
// (the seed writes cooldownTime: 45000). It refuses, with an error wrapping
// ErrInvalidConfig that names the value, a negative duration, one beyond
// time.Duration's range (about 292 years; 9 223 372 036 854 ms), and a
// nonzero value that would round to 0 ("0.4ns").
func ParseDuration(s string) (time.Duration, error) {
	bad := func(why string) (time.Duration, error) {
		return 0, fmt.Errorf("pool: duration %q: %s: %w", s, why, ErrInvalidConfig)
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		switch {
		case ms < 0:
			return bad("negative")
		case ms > math.MaxInt64/int64(time.Millisecond):
			return bad("more milliseconds than a duration holds")
		}
		return time.Duration(ms) * time.Millisecond, nil
	} else if errors.Is(err, strconv.ErrRange) {
		return bad("more milliseconds than a duration holds")
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return bad(`want Go syntax ("45s") or milliseconds ("45000")`)
	case d < 0:
		return bad("negative")
	case d == 0 && strings.ContainsAny(s, "123456789"):
		return bad("rounds to 0")
	}
	return d, nil
}

// ParseBytes reads a byte count with an optional unit: B, KB, MB, GB (powers
// of 1000) or KiB, MiB, GiB (powers of 1024). It refuses, with an error
// wrapping ErrInvalidConfig that names the value, anything but a finite
// number ≥ 0 (no NaN, no Inf), a count beyond int64, and a nonzero value
// that rounds to 0 bytes ("0.4B", which would silently turn a budget off).
// A fraction of a byte is truncated ("1.5B" is 1).
func ParseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
	}
	bad := func(why string) (int64, error) {
		return 0, fmt.Errorf("pool: byte count %q: %s: %w", s, why, ErrInvalidConfig)
	}
	num, mult := strings.TrimSpace(s), 1.0
	for _, u := range units {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	if i, err := strconv.ParseInt(num, 10, 64); err == nil && i >= 0 {
		// Whole numbers exactly, beyond float64's 2^53.
		if m := int64(mult); i > math.MaxInt64/m {
			return bad("more bytes than an int64 holds")
		}
		return i * int64(mult), nil
	}
	f, err := strconv.ParseFloat(num, 64)
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange):
		return bad(`want a number of bytes, optionally with a unit ("512MiB")`)
	case math.IsNaN(f) || math.IsInf(f, 0) || errors.Is(err, strconv.ErrRange) && math.Abs(f) > 1:
		return bad("not a finite number")
	case f < 0 || math.Signbit(f) && f != 0:
		return bad("negative")
	}
	n := f * mult
	switch {
	case n >= math.MaxInt64: // 2^63: the first float64 beyond int64
		return bad("more bytes than an int64 holds")
	case n < 1 && (n > 0 || nonzeroMantissa(num)): // a tiny nonzero value may underflow to 0
		return bad("rounds to 0 bytes")
	}
	return int64(n), nil
}

// nonzeroMantissa reports whether the number num (as ParseFloat reads it)
// has a nonzero digit before its exponent.
func nonzeroMantissa(num string) bool {
	digits, exp := "123456789", "eE"
	if l := strings.ToLower(strings.TrimLeft(num, "+-")); strings.HasPrefix(l, "0x") {
		num, digits, exp = l[2:], "123456789abcdef", "p"
	}
	if i := strings.IndexAny(num, exp); i >= 0 {
		num = num[:i]
	}
	return strings.ContainsAny(num, digits)
}
