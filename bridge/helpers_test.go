package bridge

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errBoom = errors.New("boom")

// fakeExec is a scripted executor that counts its calls.
type fakeExec struct {
	name  string
	calls atomic.Int64
	fn    func(ctx context.Context, cmd Command) (Response, error)
}

func (f *fakeExec) Execute(ctx context.Context, cmd Command) (Response, error) {
	f.calls.Add(1)
	if f.fn != nil {
		return f.fn(ctx, cmd)
	}
	return Response{Output: f.name + ":" + cmd.Name}, nil
}

// echo answers "<prefix>:<command name>".
func echo(prefix string) *fakeExec { return &fakeExec{name: prefix} }

// same answers like legacy does, so shadow comparisons match.
func same() *fakeExec { return echo("same") }

// script answers with fn.
func script(fn func(ctx context.Context, cmd Command) (Response, error)) *fakeExec {
	return &fakeExec{fn: fn}
}

// recorder is an Observer that keeps everything it is told.
type recorder struct {
	mu          sync.Mutex
	outcomes    []Outcome
	transitions []Transition
	shadowDone  chan Outcome // if set, gets every KindShadow outcome
}

func (r *recorder) OnOutcome(o Outcome) {
	r.mu.Lock()
	r.outcomes = append(r.outcomes, o)
	r.mu.Unlock()
	if o.Kind == KindShadow && r.shadowDone != nil {
		r.shadowDone <- o
	}
}

func (r *recorder) OnTransition(t Transition) {
	r.mu.Lock()
	r.transitions = append(r.transitions, t)
	r.mu.Unlock()
}

func (r *recorder) Outcomes() []Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Outcome(nil), r.outcomes...)
}

func (r *recorder) Transitions() []Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Transition(nil), r.transitions...)
}

func (r *recorder) served() []Outcome {
	var out []Outcome
	for _, o := range r.Outcomes() {
		if o.Kind == KindServed {
			out = append(out, o)
		}
	}
	return out
}

// newBridge builds a bridge on a fresh mock clock and closes it at the end
// of the test.
func newBridge(t *testing.T, legacy, intelligent Executor, opts ...Option) (*Bridge, *clock.Mock) {
	t.Helper()
	clk := clock.NewMock()
	b, err := New(legacy, intelligent, append([]Option{WithClock(clk)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close(context.Background())) })
	return b, clk
}

func cmd(name string) Command { return Command{Name: name} }

func keyed(name, key string) Command { return Command{Name: name, RoutingKey: key} }
