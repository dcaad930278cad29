package sim

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/bumba/pooling/pool"
)

// Instance is a started specialist. It implements pool.Instance and
// pool.Sizer. Execute may be called concurrently, also with Close.
type Instance struct {
	sp     *specialist
	closed atomic.Bool
	size   atomic.Int64
	buf    []byte // written only by the Close that wins closed
}

var (
	_ pool.Instance = (*Instance)(nil)
	_ pool.Sizer    = (*Instance)(nil)
)

// ID returns the specialist's ID.
func (in *Instance) ID() string { return in.sp.id }

// Execute waits the task latency on the framework's clock (or until ctx
// ends), then fails or panics if a fault is injected, and otherwise returns
// a Result whose Output is the specialist's ID. With zero task latency it
// returns at once and allocates nothing.
func (in *Instance) Execute(ctx context.Context, _ pool.Task) (pool.Result, error) {
	sp := in.sp
	if in.closed.Load() {
		return pool.Result{}, fmt.Errorf("sim: execute %s: %w", sp.id, ErrClosed)
	}
	fw := sp.fw
	if err := fw.wait(ctx, fw.taskLatency, fw.executeHook, sp.id); err != nil {
		return pool.Result{}, fmt.Errorf("sim: execute %s: %w", sp.id, err)
	}
	if f := sp.execFault.Load(); f != nil {
		return pool.Result{}, f.fire("execute", sp.id)
	}
	return pool.Result{Output: sp.output, Specialist: sp.id}, nil
}

// MemoryBytes returns the bytes the instance holds: its buffer's length
// while live, zero once closed.
func (in *Instance) MemoryBytes() int64 { return in.size.Load() }

// Close releases the instance's memory. Closing twice returns an error
// wrapping ErrClosed.
func (in *Instance) Close() error {
	if !in.closed.CompareAndSwap(false, true) {
		return fmt.Errorf("sim: close %s: %w", in.sp.id, ErrClosed)
	}
	n := in.size.Swap(0)
	in.buf = nil
	in.sp.fw.closed(in, n)
	return nil
}
