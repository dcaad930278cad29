package monitor

import (
	"fmt"
	"log/slog"
	"strings"
)

// EnvLogLevel is the seed's log-level variable.
const EnvLogLevel = "BUMBA_LOG_LEVEL"

// LogLevelFromEnv reads BUMBA_LOG_LEVEL through lookup (pass os.LookupEnv):
// debug, info, warn (or warning) or error, in any case; unset or empty
// means info (the seed's logLevel). Use it for the level of the handler
// behind the logger given to WithLogger:
//
//	level, err := monitor.LogLevelFromEnv(os.LookupEnv)
//	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
//
// Any other value gets an error wrapping ErrInvalidConfig.
func LogLevelFromEnv(lookup func(string) (string, bool)) (slog.Level, error) {
	v, ok := lookup(EnvLogLevel)
	v = strings.ToLower(strings.TrimSpace(v))
	if !ok || v == "" {
		return slog.LevelInfo, nil
	}
	switch v {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("monitor: %s %q: allowed debug, info, warn or error: %w", EnvLogLevel, v, ErrInvalidConfig)
}
