package migrate

import (
	"errors"

	"github.com/bumba/pooling/internal/state"
)

// Errors returned by the package; compare with errors.Is. An error about a
// bad argument wraps the sentinel with the setting, the value and the
// allowed range, and changes nothing.
var (
	// ErrInvalidConfig wraps every error New returns for a bad Option.
	ErrInvalidConfig = errors.New("migrate: invalid configuration")
	// ErrInvalidPlan wraps every error Plan.Validate returns.
	ErrInvalidPlan = errors.New("migrate: invalid plan")
	// ErrNilRouter is returned by New for a nil Router.
	ErrNilRouter = errors.New("migrate: nil router")
	// ErrNilMetrics is returned by New for a nil Metrics, and by
	// NewStatsMetrics for a nil bridge.
	ErrNilMetrics = errors.New("migrate: nil metrics")
	// ErrUnknownStep is returned for a step name that is not in the plan.
	ErrUnknownStep = errors.New("migrate: unknown step")
	// ErrReasonRequired is returned by a manual action without a reason.
	ErrReasonRequired = errors.New("migrate: a reason is required")
	// ErrCompleted is returned by Advance and Hold once the plan is
	// complete.
	ErrCompleted = errors.New("migrate: plan completed")
	// ErrRolledBack is returned by Advance and Hold while the rollout is
	// rolled back: Resume or SetStep first.
	ErrRolledBack = errors.New("migrate: rollout is rolled back")
	// ErrNotHeld is returned by Resume when the rollout is neither held nor
	// rolled back.
	ErrNotHeld = errors.New("migrate: rollout is not held")
	// ErrRollbackInProgress is returned by Resume and SetStep while the
	// Guard reports a rollback still in progress.
	ErrRollbackInProgress = errors.New("migrate: a rollback is in progress")
	// ErrPlanMismatch is returned by New when the saved state names a step
	// the plan does not have.
	ErrPlanMismatch = errors.New("migrate: saved state does not match the plan")
	// ErrCorruptState is returned for a state file (or section) that cannot
	// be read: not a state file, truncated, garbled or failing its
	// checksum. The file is never reset.
	ErrCorruptState = state.ErrCorrupt
	// ErrNewerState is returned for a state file or section written by a
	// newer version of this package. The file is never reset.
	ErrNewerState = state.ErrNewerVersion
)
