package bridge

import (
	"reflect"
	"strings"
)

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
// says otherwise. It compares what the command answered, not which
// specialist answered it: the results match when both failed, or when both
// succeeded with equal outputs (reflect.DeepEqual). Latency and
// Response.Detail are ignored.
//
// A command that does not name its specialist (no OptionSpecialist: it
// names a department, or is routed by its name) may be answered by any
// specialist of the department, and the pool's balancer and legacy may
// pick different ones. For such a command each side's Response.Specialist
// is masked in its output before the comparison: a string (or []byte)
// output has every occurrence of its own side's answering specialist
// replaced by one placeholder, so "react-lead" and "vue-lead", or
// "react-lead: done" and "vue-lead: done", are the same answer. A side
// that does not say who answered (empty Specialist) is compared as is.
func DefaultComparator() Comparator { return ComparatorFunc(equalOutputs) }

// specialistMask replaces the answering specialist in an output.
const specialistMask = "\x00specialist\x00"

func equalOutputs(cmd Command, legacy, intelligent Result) bool {
	if (legacy.Err == nil) != (intelligent.Err == nil) {
		return false
	}
	if legacy.Err != nil {
		return true
	}
	lo, io := legacy.Response.Output, intelligent.Response.Output
	if reflect.DeepEqual(lo, io) {
		return true
	}
	if id, ok := cmd.Options[OptionSpecialist].(string); ok && id != "" {
		return false
	}
	return reflect.DeepEqual(masked(lo, legacy.Response.Specialist), masked(io, intelligent.Response.Specialist))
}

// masked returns out with specialist replaced by the mask when out is a
// string or []byte and specialist is known.
func masked(out any, specialist string) any {
	if specialist == "" {
		return out
	}
	switch v := out.(type) {
	case string:
		return strings.ReplaceAll(v, specialist, specialistMask)
	case []byte:
		return strings.ReplaceAll(string(v), specialist, specialistMask)
	}
	return out
}
