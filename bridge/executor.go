package bridge

import (
	"context"
	"time"

	"github.com/bumba/pooling/internal/jsonx"
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
	Name string `json:"name"`
	// Args are the command's positional arguments.
	Args []string `json:"args"`
	// Options are the command's options (flags, settings).
	Options map[string]any `json:"options"`
	// RoutingKey, when not empty, makes hybrid routing sticky: every
	// command with the same key takes the same path at a given percentage
	// (for example a session, user or workflow ID).
	RoutingKey string `json:"routingKey,omitempty"`
}

// Response is an executor's answer.
type Response struct {
	// Output is the answer. The default comparator compares it with
	// reflect.DeepEqual (see DefaultComparator for commands that do not
	// name their specialist).
	Output any `json:"output"`
	// Specialist is who answered, when known: PoolExecutor sets it from
	// pool.Result.Specialist; a legacy executor should set it when its
	// answer can name who gave it. It is not part of the answer: the
	// default comparator never compares it, and masks it in string
	// outputs of commands that do not name a specialist.
	Specialist string `json:"specialist,omitempty"`
	// Detail is path-specific information that is not part of the answer
	// (who served it, whether it was warm, …). The default comparator
	// ignores it.
	Detail any `json:"detail,omitempty"`
}

// Result is one executor's complete result for a command: what it answered,
// its error and how long it took on the bridge's clock.
type Result struct {
	Response Response
	Err      error
	Latency  time.Duration
}

// resultJSON is Result in JSON: the error as its text.
type resultJSON struct {
	Response Response      `json:"response"`
	Error    string        `json:"error,omitempty"`
	Latency  time.Duration `json:"latencyMs"`
}

// MarshalJSON implements json.Marshaler for Mismatch reports and
// outcomes: {"response":{…},"error":"…","latencyMs":12.5}; a nil Args is
// [] and nil Options {}.
func (r Result) MarshalJSON() ([]byte, error) {
	j := resultJSON{Response: r.Response, Latency: r.Latency}
	if r.Err != nil {
		j.Error = r.Err.Error()
	}
	return jsonx.Marshal(j)
}

// MarshalJSON writes a nil Args as [] and nil Options as {}.
func (c Command) MarshalJSON() ([]byte, error) { return jsonx.Marshal(c) }
