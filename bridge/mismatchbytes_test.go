package bridge

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// 1 000 mismatches of 1 MB answers keep at most the byte bound: the
// newest, each cut with a marker saying so.
func TestMismatchesAreBoundedInBytes(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	// The answers are made once and shared: only what the bridge keeps
	// can grow the heap.
	bigLegacy, bigDetail := "legacy:"+big, []byte(big)
	bigAnswer, bigErr := map[string]any{"answer": big, "n": 1}, errors.New("failed: "+big)
	bigArgs, bigOptions := []string{big}, map[string]any{"blob": big}
	legacy := script(func(_ context.Context, c Command) (Response, error) {
		return Response{Output: bigLegacy, Detail: bigDetail}, nil
	})
	intel := script(func(_ context.Context, c Command) (Response, error) {
		return Response{Output: bigAnswer}, bigErr
	})
	rec := &doneSignal{done: make(chan Verdict)}
	const limit = 1 << 20
	b, _ := newBridge(t, legacy, intel, WithMismatchBytes(limit), WithMismatchRing(1000), WithObserver(rec))
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < 1000; i++ {
		_, err := b.Execute(context.Background(), Command{Name: fmt.Sprint("cmd-", i), Args: bigArgs, Options: bigOptions})
		require.NoError(t, err)
		require.Equal(t, VerdictMismatch, <-rec.done)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)

	require.LessOrEqual(t, b.shadow.mismatchBytes(), limit)
	mm := b.Mismatches()
	require.NotEmpty(t, mm)
	require.Equal(t, "cmd-999", mm[len(mm)-1].Command.Name, "the newest are kept")
	m := mm[len(mm)-1]
	require.True(t, m.Truncated)
	out, ok := m.Legacy.Response.Output.(Truncated)
	require.True(t, ok, "the legacy output is a Truncated: %T", m.Legacy.Response.Output)
	assert.Equal(t, "string", out.Type)
	assert.True(t, out.AtLeast)
	assert.Equal(t, "legacy:xxx", out.Prefix[:10])
	assert.Contains(t, out.String(), "truncated by bridge.WithMismatchBytes")
	det, ok := m.Legacy.Response.Detail.(Truncated)
	require.True(t, ok)
	assert.Equal(t, "[]uint8", det.Type)
	in, ok := m.Intelligent.Response.Output.(Truncated)
	require.True(t, ok)
	assert.Equal(t, "map[string]interface {}", in.Type)
	require.Error(t, m.Intelligent.Err)
	assert.Contains(t, m.Intelligent.Err.Error(), "error text of 1048584 bytes truncated")
	assert.Less(t, len(m.Intelligent.Err.Error()), 1000)
	require.Len(t, m.Command.Args, 1)
	assert.Contains(t, m.Command.Args[0], "truncated by bridge.WithMismatchBytes")
	assert.IsType(t, Truncated{}, m.Command.Options["truncated"])
	assert.Equal(t, uint64(1000), b.Stats().Shadow.Mismatched)

	// Kept: about the bound, not 1 000 × 5 MB (the shared answers
	// were allocated before the first reading).
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	assert.Less(t, grown, int64(16<<20), "heap grew %d bytes", grown)
	t.Logf("1000 mismatches of ~5 MB each: %d kept, %d bytes estimated, heap +%.1f MiB", len(mm), b.shadow.mismatchBytes(), float64(grown)/(1<<20))
}

// Small mismatches are kept whole, unmarked; the byte bound drops the
// oldest when the count bound does not.
func TestSmallMismatchesAreKeptWholeAndTheOldestDropped(t *testing.T) {
	rec := &recorder{shadowDone: make(chan Outcome)}
	payload := strings.Repeat("y", 300) // each part well under a tenth
	legacy := script(func(_ context.Context, c Command) (Response, error) { return Response{Output: payload + "l"}, nil })
	intel := script(func(_ context.Context, c Command) (Response, error) { return Response{Output: payload + "i"}, nil })
	b, _ := newBridge(t, legacy, intel, WithMismatchBytes(4096), WithMismatchRing(100), WithObserver(rec))
	for i := 0; i < 20; i++ {
		_, err := b.Execute(context.Background(), cmd(fmt.Sprint("c", i)))
		require.NoError(t, err)
		<-rec.shadowDone
	}
	mm := b.Mismatches()
	require.Less(t, len(mm), 20, "the byte bound dropped some")
	require.Greater(t, len(mm), 2)
	require.Equal(t, "c19", mm[len(mm)-1].Command.Name)
	require.Equal(t, fmt.Sprint("c", 20-len(mm)), mm[0].Command.Name, "oldest first, contiguous")
	for _, m := range mm {
		require.False(t, m.Truncated)
		require.Equal(t, payload+"l", m.Legacy.Response.Output)
	}
	require.LessOrEqual(t, b.shadow.mismatchBytes(), 4096)
}

func TestWithMismatchBytesRange(t *testing.T) {
	for _, n := range []int{0, 4095, 1<<40 + 1} {
		_, err := New(echo("l"), echo("i"), WithMismatchBytes(n))
		require.ErrorIs(t, err, ErrInvalidConfig)
		require.Contains(t, err.Error(), "WithMismatchBytes")
	}
}

func TestSizeOfStopsAtTheLimitAndSurvivesCycles(t *testing.T) {
	type node struct {
		Next *node
		Name string
	}
	n := &node{Name: "a"}
	n.Next = n
	size, ok := sizeOf(n, 1000)
	require.True(t, ok)
	require.Positive(t, size)
	huge := make([]string, 1<<20)
	size, ok = sizeOf(huge, 1000)
	require.False(t, ok)
	require.Less(t, size, 2000, "sizing stopped early")
}

// doneSignal is an Observer that only signals each shadow verdict (a
// recorder would keep every outcome, answers included).
type doneSignal struct{ done chan Verdict }

func (d *doneSignal) OnOutcome(o Outcome) {
	if o.Kind == KindShadow {
		d.done <- o.Verdict
	}
}
func (d *doneSignal) OnTransition(Transition) {}
