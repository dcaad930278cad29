package bridge

import (
	"context"
	"time"
)

// Executor is the interface the legacy BUMBA system already has: it runs
// one command and returns its answer. The Bridge is itself an Executor, so a
// host can put it where its legacy executor was.
//
// Implementations must be safe for concurrent use and should honour ctx:
// a shadow run is cancelled through ctx on its timeout and on Close, and
// Close can only wait for runs whose executor returns.
type Executor interface {
	Execute(ctx context.Context, cmd Command) (Response, error)
}

// ExecutorFunc adapts a function to Executor.
type ExecutorFunc func(ctx context.Context, cmd Command) (Response, error)

// Execute calls f(ctx, cmd).
func (f ExecutorFunc) Execute(ctx context.Context, cmd Command) (Response, error) {
	return f(ctx, cmd)
}

// Command is one BUMBA command. The bridge passes it unchanged to the
// executor(s) and keeps it in outcomes and mismatch records, so treat it as
// immutable once passed to Execute (its slice and map are shared, not
// copied).
type Command struct {
	// Name is the BUMBA command (implement, analyze, design, …). Required.
	Name string
	// Args are the command's positional arguments.
	Args []string
	// Options are the command's options (flags, settings).
	Options map[string]any
	// RoutingKey, when not empty, makes hybrid routing sticky: every
	// command with the same key takes the same path at a given percentage
	// (for example a session, user or workflow ID).
	RoutingKey string
}

// Response is an executor's answer.
type Response struct {
	// Output is the answer. The default comparator compares it with
	// reflect.DeepEqual (see DefaultComparator for commands that do not
	// name their specialist).
	Output any
	// Specialist is who answered, when known: PoolExecutor sets it from
	// pool.Result.Specialist; a legacy executor should set it when its
	// answer can name who gave it. It is not part of the answer: the
	// default comparator never compares it, and masks it in string
	// outputs of commands that do not name a specialist.
	Specialist string
	// Detail is path-specific information that is not part of the answer
	// (who served it, whether it was warm, …). The default comparator
	// ignores it.
	Detail any
}

// Result is one executor's complete result for a command: what it answered,
// its error and how long it took on the bridge's clock.
type Result struct {
	Response Response
	Err      error
	Latency  time.Duration
}
