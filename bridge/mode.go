package bridge

import (
	"fmt"
	"strings"
)

// Mode is how the bridge routes commands. The zero value is not a valid
// mode.
type Mode uint8

// Modes.
const (
	// ModeShadow serves every command from legacy and runs it on the
	// intelligent executor beside it, to compare the results.
	ModeShadow Mode = iota + 1
	// ModeHybrid serves a percentage of commands from the intelligent
	// executor (sticky by routing key) and the rest from legacy.
	ModeHybrid
	// ModeFull serves every command from the intelligent executor, falling
	// back to legacy per request on failure when enabled.
	ModeFull
	// ModeFallback serves every command from legacy.
	ModeFallback
)

// numModes is the number of valid modes; valid modes are 1..numModes.
const numModes = 4

// Modes returns every valid mode, in rollout order.
func Modes() []Mode { return []Mode{ModeShadow, ModeHybrid, ModeFull, ModeFallback} }

// Valid reports whether m is one of the four modes.
func (m Mode) Valid() bool { return m >= ModeShadow && m <= ModeFallback }

// servesIntelligent reports whether the intelligent executor serves answers
// in mode m.
func (m Mode) servesIntelligent() bool { return m == ModeHybrid || m == ModeFull }

// String returns "shadow", "hybrid", "full", "fallback" or "Mode(n)".
func (m Mode) String() string {
	switch m {
	case ModeShadow:
		return "shadow"
	case ModeHybrid:
		return "hybrid"
	case ModeFull:
		return "full"
	case ModeFallback:
		return "fallback"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// MarshalText implements encoding.TextMarshaler (so modes are names in
// JSON, also as map keys). An invalid mode is an error.
func (m Mode) MarshalText() ([]byte, error) {
	if !m.Valid() {
		return nil, fmt.Errorf("%w: %d", ErrUnknownMode, uint8(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseMode.
func (m *Mode) UnmarshalText(b []byte) error {
	p, err := ParseMode(string(b))
	if err != nil {
		return err
	}
	*m = p
	return nil
}

// ParseMode reads "shadow", "hybrid", "full" or "fallback" (case and
// surrounding space ignored). The legacy configuration's "full_replacement"
// is read as ModeFull.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "shadow":
		return ModeShadow, nil
	case "hybrid":
		return ModeHybrid, nil
	case "full", "full_replacement":
		return ModeFull, nil
	case "fallback":
		return ModeFallback, nil
	}
	return 0, fmt.Errorf("%w: %q (want shadow, hybrid, full or fallback)", ErrUnknownMode, s)
}

// Path is the executor that produced an answer.
type Path uint8

// Paths.
const (
	// PathLegacy is the legacy executor.
	PathLegacy Path = iota + 1
	// PathIntelligent is the intelligent (pool) executor.
	PathIntelligent
)

// Paths returns both paths.
func Paths() []Path { return []Path{PathLegacy, PathIntelligent} }

// String returns "legacy", "intelligent" or "Path(n)".
func (p Path) String() string {
	switch p {
	case PathLegacy:
		return "legacy"
	case PathIntelligent:
		return "intelligent"
	}
	return fmt.Sprintf("Path(%d)", uint8(p))
}

// MarshalText implements encoding.TextMarshaler.
func (p Path) MarshalText() ([]byte, error) {
	if p != PathLegacy && p != PathIntelligent {
		return nil, fmt.Errorf("bridge: unknown path %d", uint8(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Path) UnmarshalText(b []byte) error {
	switch string(b) {
	case "legacy":
		*p = PathLegacy
	case "intelligent":
		*p = PathIntelligent
	default:
		return fmt.Errorf("bridge: unknown path %q", b)
	}
	return nil
}
