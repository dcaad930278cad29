package pool

import (
	"fmt"
	"testing"
	"time"
)

// A SequencePredictor fed IDs of a host's own learns at most
// MaxPredictorIDs of them (and as many departments) beyond the pool's.
func TestSequencePredictorInternsABoundedNumberOfIDs(t *testing.T) {
	p := NewSequencePredictor(15, true)
	var dst []Prediction
	for i := range MaxPredictorIDs + 5000 {
		dst = p.Observe(time.Time{}, fmt.Sprintf("id-%d", i), fmt.Sprintf("dept-%d", i), dst[:0])
	}
	if n := len(p.names); n > MaxPredictorIDs {
		t.Errorf("%d IDs learned, bound %d", n, MaxPredictorIDs)
	}
	if n := len(p.depts); n > MaxPredictorIDs {
		t.Errorf("%d departments learned, bound %d", n, MaxPredictorIDs)
	}
	if p.unknown != 5000 {
		t.Errorf("%d tasks for IDs beyond the bound, want 5000", p.unknown)
	}
	// A known one is still learned and predicted.
	for range 20 {
		p.Observe(time.Time{}, "id-1", "", nil)
		p.Observe(time.Time{}, "id-2", "", nil)
	}
	got := p.Observe(time.Time{}, "id-1", "", nil)
	if len(got) == 0 || got[0].ID != "id-2" {
		t.Errorf("after id-1: %v, want id-2 first", got)
	}
}
