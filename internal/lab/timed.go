package lab

import (
	"container/heap"
	"time"
)

// timeline is a min-heap of scheduled per-key actions for the stand-alone
// simulators; stale entries are skipped by version.
type timeline []scheduled

type scheduled struct {
	at      time.Duration
	key     int
	kind    action
	version uint64
}

type action uint8

const (
	actStop action = iota + 1
	actLoad
)

func (t timeline) Len() int { return len(t) }
func (t timeline) Less(i, j int) bool {
	if t[i].at != t[j].at {
		return t[i].at < t[j].at
	}
	return t[i].key < t[j].key
}
func (t timeline) Swap(i, j int)    { t[i], t[j] = t[j], t[i] }
func (t *timeline) Push(x any)      { *t = append(*t, x.(scheduled)) }
func (t *timeline) Pop() any        { old := *t; x := old[len(old)-1]; *t = old[:len(old)-1]; return x }
func (t *timeline) add(s scheduled) { heap.Push(t, s) }

// due pops the next entry at or before now.
func (t *timeline) due(now time.Duration) (scheduled, bool) {
	if len(*t) == 0 || (*t)[0].at > now {
		return scheduled{}, false
	}
	return heap.Pop(t).(scheduled), true
}
