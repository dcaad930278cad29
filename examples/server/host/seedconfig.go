package host

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/bumba/pooling/pool"
)

// EnvFallbackThreshold is the bridge's automatic-fallback threshold, a
// success rate in (0, 1] (the seed's fallbackThreshold, 0.8).
const EnvFallbackThreshold = "BUMBA_FALLBACK_THRESHOLD"

// seedKeys maps the seed's productionConfig keys to the variables they set.
var seedKeys = map[string]string{
	"maxSpecialists":            pool.EnvMaxSpecialists,
	"maxWarmSpecialists":        pool.EnvMaxWarm,
	"cooldownTime":              pool.EnvCooldown,
	"warmThreshold":             pool.EnvWarmThreshold,
	"usageDecayRate":            pool.EnvUsageDecay,
	"predictionWindow":          pool.EnvPredictionWindow,
	"priorityWeighting":         pool.EnvPriorityWeighting,
	"departmentBalance":         pool.EnvDepartmentBalance,
	"workflowOptimization":      pool.EnvWorkflowOptimization,
	"adaptiveScaling":           pool.EnvAdaptiveScaling,
	"batchSize":                 pool.EnvBatchSize,
	"warmingConcurrency":        pool.EnvWarmingConcurrency,
	"enterpriseMonitoring":      EnvMonitoring,
	"fallbackThreshold":         EnvFallbackThreshold,
	"autoRollbackEnabled":       EnvAutoRollback,
	"requireConfirmation":       EnvConfirm,
	"metricsCollectionInterval": EnvInterval,
	"logLevel":                  EnvLogLevel,
}

// seedIgnored are the seed's keys this host has no setting for (the
// behaviour is always on, or is the rollout's to decide).
var seedIgnored = map[string]string{
	"enableBackwardCompatibility": "always on: the bridge serves legacy's answers wherever the pool has none",
	"enableAutomaticFallback":     "always on (fallbackThreshold sets it)",
	"hybridPercentage":            "the rollout sets the percentage (bumbactl percentage by hand)",
	"mode":                        "the rollout sets the mode (bumbactl mode by hand)",
	"gracefulShutdown":            "always on (SIGINT/SIGTERM)",
	"preserveData":                "always on (the state directory)",
	"verbose":                     "use logLevel",
	"healthCheckInterval":         "the health endpoint answers from the latest sample",
	"metricsRetentionDays":        "the monitor keeps 30 days",
}

// ParseSeedConfig reads the seed's productionConfig as a JSON object (the
// deployment guide's keys: maxWarmSpecialists, cooldownTime in ms,
// warmThreshold, fallbackThreshold, autoRollbackEnabled, …) into a lookup of
// the variables they set. An unknown key, or a value that is not a number,
// boolean or string, is an error naming it; it also returns the keys this
// host reads but has no setting for, each with why.
func ParseSeedConfig(data []byte) (lookup func(string) (string, bool), ignored []string, err error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, fmt.Errorf("not a JSON object of the seed's productionConfig: %v", err)
	}
	vars := map[string]string{}
	var errs []error
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if why, ok := seedIgnored[k]; ok {
			ignored = append(ignored, fmt.Sprintf("%s: not used (%s)", k, why))
			continue
		}
		env, ok := seedKeys[k]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown setting", k))
			continue
		}
		var v any
		d := json.NewDecoder(bytes.NewReader(raw[k]))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", k, err))
			continue
		}
		switch x := v.(type) {
		case json.Number:
			vars[env] = x.String()
		case bool:
			vars[env] = strconv.FormatBool(x)
		case string:
			vars[env] = x
		default:
			errs = append(errs, fmt.Errorf("%s: %s is not a number, boolean or string", k, raw[k]))
			continue
		}
	}
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, ignored, errors.Join(errs...)
}
