package migrate

import (
	"context"
	"time"

	"github.com/bumba/pooling/internal/jsonx"
)

// Guard is the rollback side as the controller needs it;
// *rollback.Manager implements it. The controller calls Check at the start
// of every Step (without holding its own lock) and Latest when it restores
// or resumes; when the most recent rollback is one it has not seen, the
// rollout stops (StateRolledBack) until Resume or SetStep.
type Guard interface {
	// Check evaluates the rollback triggers at the clock's now — rolling
	// back if one fires — drives a rollback in progress, and returns the
	// most recent rollback (zero if there was none).
	Check(ctx context.Context) (RollbackInfo, error)
	// Latest returns the most recent rollback without evaluating anything.
	Latest() RollbackInfo
}

// RollbackInfo describes a rollback to the controller.
type RollbackInfo struct {
	// ID identifies the rollback ("" when there was none).
	ID string `json:"id"`
	// At is when it started.
	At time.Time `json:"at"`
	// Reason and Trigger say why ("manual" for a rollback by hand).
	Reason  string `json:"reason"`
	Trigger string `json:"trigger"`
	// InProgress: a planned rollback is still stepping down, or a
	// rollback is waiting for its verification. While it is, the
	// rollback owns the routing and the controller will not resume.
	InProgress bool `json:"inProgress"`
}

// MarshalJSON writes it in the module's JSON convention (internal/jsonx).
func (r RollbackInfo) MarshalJSON() ([]byte, error) { return jsonx.Marshal(r) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form).
func (r *RollbackInfo) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, r) }
