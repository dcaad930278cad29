// Package nilcheck tells whether a value passed as an interface is nil,
// including an interface holding a typed nil: a nil *T passed where an
// interface is expected is not == nil, but it is no usable value either.
package nilcheck

import "reflect"

// Is reports whether v is nil or holds a nil pointer, func, map, slice,
// channel or interface.
func Is(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Map, reflect.Slice, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
