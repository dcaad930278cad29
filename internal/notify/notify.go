// Package notify calls listeners so that one that panics neither stops the
// caller nor keeps the others from being called.
package notify

// Each calls every listener with every value, in order. A panic in a
// listener is recovered and passed to onPanic with the value it was handed.
func Each[T any](listeners []func(T), values []T, onPanic func(v T, recovered any)) {
	for _, v := range values {
		for _, f := range listeners {
			call(f, v, onPanic)
		}
	}
}

func call[T any](f func(T), v T, onPanic func(T, any)) {
	defer func() {
		if r := recover(); r != nil {
			onPanic(v, r)
		}
	}()
	f(v)
}
