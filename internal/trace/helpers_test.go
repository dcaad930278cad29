package trace_test

import (
	"unsafe"

	"github.com/bumba/pooling/internal/trace"
)

// unsafeData is the address of a string's bytes, to check sharing.
func unsafeData(s string) *byte { return unsafe.StringData(s) }

// all collects a trace's requests.
func all(tr *trace.Trace) []trace.Request {
	out := make([]trace.Request, 0, tr.Len())
	for _, r := range tr.All() {
		out = append(out, r)
	}
	return out
}
