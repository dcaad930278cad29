package bridge

import "errors"

// Errors returned by the bridge; compare with errors.Is. Errors about a bad
// argument wrap the sentinel with the offending value and leave the bridge
// unchanged.
var (
	// ErrNilExecutor is returned by New when the legacy or the intelligent
	// executor is nil (including a typed nil).
	ErrNilExecutor = errors.New("bridge: nil executor")
	// ErrUnknownMode is returned for a Mode that is not one of ModeShadow,
	// ModeHybrid, ModeFull or ModeFallback, and by ParseMode for an
	// unknown name.
	ErrUnknownMode = errors.New("bridge: unknown mode")
	// ErrInvalidPercentage is returned for a hybrid percentage outside
	// [0, 100] (or NaN).
	ErrInvalidPercentage = errors.New("bridge: percentage must be within [0, 100]")
	// ErrEmptyCommand is returned by Execute for a command whose Name is
	// empty or blank; neither executor is called.
	ErrEmptyCommand = errors.New("bridge: command name is empty")
	// ErrInvalidConfig wraps every error New returns for a bad Option. The
	// message names the option, the value and the allowed range.
	ErrInvalidConfig = errors.New("bridge: invalid configuration")
	// ErrNilObserver is returned by AddObserver for a nil Observer.
	ErrNilObserver = errors.New("bridge: nil observer")
	// ErrClosed is returned by Execute, SetMode and SetPercentage after
	// Close.
	ErrClosed = errors.New("bridge: closed")
	// ErrUnroutable is returned (wrapped) by an intelligent executor for a
	// command it has no route for. The bridge then serves the command from
	// legacy in every mode and counts it as unrouted: it is neither refused
	// nor held against the intelligent path.
	ErrUnroutable = errors.New("bridge: no route for command")
	// ErrPanic wraps a panic recovered from the intelligent executor (served
	// or shadow) or from a Comparator.
	ErrPanic = errors.New("bridge: recovered panic")
)
