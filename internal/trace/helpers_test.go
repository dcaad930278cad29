package trace_test

import "unsafe"

// unsafeData is the address of a string's bytes, to check sharing.
func unsafeData(s string) *byte { return unsafe.StringData(s) }
