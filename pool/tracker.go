package pool

import (
	"context"
	"sync"
)

// tracker counts work in flight that Close waits for (the starts running).
// Once shut it admits no more. Unlike a sync.WaitGroup, adding may race
// with waiting, and a wait can end with its context.
type tracker struct {
	mu   sync.Mutex
	n    int
	shut bool
	idle chan struct{} // closed when n drops to 0; nil while nobody waits
}

// add admits one more, unless the tracker is shut.
func (t *tracker) add() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.shut {
		return false
	}
	t.n++
	return true
}

func (t *tracker) done() {
	t.mu.Lock()
	t.n--
	if t.n == 0 && t.idle != nil {
		close(t.idle)
		t.idle = nil
	}
	t.mu.Unlock()
}

// shutAndWait admits no more and waits until none is in flight or ctx ends;
// it returns how many were left.
func (t *tracker) shutAndWait(ctx context.Context) int {
	t.mu.Lock()
	t.shut = true
	if t.n == 0 {
		t.mu.Unlock()
		return 0
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	ch := t.idle
	t.mu.Unlock()
	select {
	case <-ch:
		return 0
	case <-ctx.Done():
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.n
	}
}
