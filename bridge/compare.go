package bridge

import "reflect"

// Comparator decides whether the intelligent executor's result for a shadow
// run is equivalent to the legacy result that was served. It is called on
// the shadow run's goroutine, never on the served path; a panic in it is
// recovered and counted as a mismatch.
type Comparator interface {
	Compare(cmd Command, legacy, intelligent Result) bool
}

// ComparatorFunc adapts a function to Comparator.
type ComparatorFunc func(cmd Command, legacy, intelligent Result) bool

// Compare calls f.
func (f ComparatorFunc) Compare(cmd Command, legacy, intelligent Result) bool {
	return f(cmd, legacy, intelligent)
}

// DefaultComparator is the comparator a bridge uses unless WithComparator
// says otherwise: the results match when both failed, or when both
// succeeded with reflect.DeepEqual outputs. Latency and Response.Detail are
// ignored.
func DefaultComparator() Comparator { return ComparatorFunc(equalOutputs) }

func equalOutputs(_ Command, legacy, intelligent Result) bool {
	if (legacy.Err == nil) != (intelligent.Err == nil) {
		return false
	}
	if legacy.Err != nil {
		return true
	}
	return reflect.DeepEqual(legacy.Response.Output, intelligent.Response.Output)
}
