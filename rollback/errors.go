package rollback

import "errors"

// Errors returned by the package; compare with errors.Is. An error about a
// bad argument wraps the sentinel with the setting, the value and the
// allowed range, and changes nothing.
var (
	// ErrInvalidConfig wraps every error New returns for a bad Option.
	ErrInvalidConfig = errors.New("rollback: invalid configuration")
	// ErrNilRouter is returned by New for a nil Router.
	ErrNilRouter = errors.New("rollback: nil router")
	// ErrNilMetrics is returned by New for a nil Metrics.
	ErrNilMetrics = errors.New("rollback: nil metrics")
	// ErrReasonRequired is returned by Emergency and Planned without a
	// reason.
	ErrReasonRequired = errors.New("rollback: a reason is required")
	// ErrNotConfirmed is returned when the Confirm function declined a
	// manual rollback.
	ErrNotConfirmed = errors.New("rollback: not confirmed")
	// ErrNothingToRollBack is returned when everything already goes to
	// legacy.
	ErrNothingToRollBack = errors.New("rollback: nothing to roll back, everything already goes to legacy")
	// ErrInProgress is returned by Planned while another rollback is in
	// progress.
	ErrInProgress = errors.New("rollback: a rollback is in progress")
	// ErrUnknownRollback is returned by Get and Analyze for an unknown ID.
	ErrUnknownRollback = errors.New("rollback: unknown rollback")
)
