package bridge

import (
	"fmt"
	"reflect"
)

// Truncated stands in, in a kept Mismatch, for a value (an answer's
// Output or Detail, a command's Options) too large for the
// WithMismatchBytes bound. It says so, how large the value was and of
// which type, and keeps its first bytes.
type Truncated struct {
	// Type is the value's Go type.
	Type string `json:"type"`
	// Bytes is the value's estimated size (strings and byte slices by
	// length, numbers 8 bytes, containers by their elements), counted up
	// to the bound.
	Bytes int `json:"bytes"`
	// AtLeast is set when sizing stopped at the bound: the value is at
	// least Bytes large.
	AtLeast bool `json:"atLeast,omitempty"`
	// Prefix is the start of the value's text (like fmt's %v).
	Prefix string `json:"prefix"`
}

func (t Truncated) String() string {
	more := ""
	if t.AtLeast {
		more = " or more"
	}
	return fmt.Sprintf("<truncated by bridge.WithMismatchBytes: %s of %d bytes%s; starts %q>", t.Type, t.Bytes, more, t.Prefix)
}

// truncatedPrefix is how many bytes of a truncated value's text are kept.
const truncatedPrefix = 256

// sizeOf estimates v's size in bytes, walking it by reflection; it stops
// (returning a value above limit and false) once the size passes limit,
// so that sizing a huge value costs little.
func sizeOf(v any, limit int) (int, bool) {
	s := sizer{limit: limit, seen: map[uintptr]bool{}}
	s.walk(reflect.ValueOf(v), 0)
	return s.n, s.n <= limit
}

type sizer struct {
	n, limit int
	seen     map[uintptr]bool
}

func (s *sizer) walk(v reflect.Value, depth int) {
	if s.n > s.limit {
		return
	}
	if !v.IsValid() || depth > 64 {
		s.n += 8
		return
	}
	switch v.Kind() {
	case reflect.String:
		s.n += 16 + v.Len()
	case reflect.Slice:
		if v.IsNil() {
			s.n += 24
			return
		}
		s.n += 24
		if v.Type().Elem().Kind() == reflect.Uint8 {
			s.n += v.Len()
			return
		}
		for i := 0; i < v.Len() && s.n <= s.limit; i++ {
			s.walk(v.Index(i), depth+1)
		}
	case reflect.Array:
		for i := 0; i < v.Len() && s.n <= s.limit; i++ {
			s.walk(v.Index(i), depth+1)
		}
	case reflect.Map:
		s.n += 48
		it := v.MapRange()
		for it.Next() && s.n <= s.limit {
			s.walk(it.Key(), depth+1)
			s.walk(it.Value(), depth+1)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField() && s.n <= s.limit; i++ {
			s.walk(v.Field(i), depth+1)
		}
	case reflect.Pointer:
		s.n += 8
		if v.IsNil() || s.seen[v.Pointer()] {
			return
		}
		s.seen[v.Pointer()] = true
		s.walk(v.Elem(), depth+1)
	case reflect.Interface:
		s.n += 16
		if !v.IsNil() {
			s.walk(v.Elem(), depth+1)
		}
	default:
		s.n += 8
	}
}

// bound returns v, or a Truncated standing in for it when it is larger
// than limit, with the size it keeps.
func bound(v any, limit int) (any, int, bool) {
	n, ok := sizeOf(v, limit)
	if ok {
		return v, n, false
	}
	var prefix string
	switch x := v.(type) {
	case string:
		prefix = x[:min(len(x), truncatedPrefix)]
	case []byte:
		prefix = string(x[:min(len(x), truncatedPrefix)])
	default:
		prefix = preview(v, truncatedPrefix)
	}
	t := Truncated{Type: fmt.Sprintf("%T", v), Bytes: n, AtLeast: true, Prefix: prefix}
	return t, 64 + len(prefix), true
}

// errTruncated is a kept error whose text was too long.
type errTruncated struct{ msg string }

func (e errTruncated) Error() string { return e.msg }

// boundError keeps err, or an error with the first bytes of its text and
// a marker when the text is longer than limit (the original, and what
// errors.Is would find in it, is not kept).
func boundError(err error, limit int) (size int, truncated bool, kept error) {
	if err == nil {
		return 0, false, nil
	}
	msg := err.Error()
	if len(msg) <= limit {
		return 16 + len(msg), false, err
	}
	keep := msg[:min(len(msg), truncatedPrefix)]
	e := errTruncated{msg: fmt.Sprintf("%s… <error text of %d bytes truncated by bridge.WithMismatchBytes>", keep, len(msg))}
	return 16 + len(e.msg), true, e
}

// boundResult bounds a result's Output, Detail and error text to limit
// bytes each.
func boundResult(r Result, limit int) (Result, int, bool) {
	out, n1, t1 := bound(r.Response.Output, limit)
	det, n2, t2 := bound(r.Response.Detail, limit)
	n3, t3, err := boundError(r.Err, limit)
	r.Response.Output, r.Response.Detail, r.Err = out, det, err
	return r, n1 + n2 + n3 + 8, t1 || t2 || t3
}

// boundCommand bounds a command's Args and Options to limit bytes each.
func boundCommand(c Command, limit int) (Command, int, bool) {
	truncated := false
	for _, f := range []*string{&c.Name, &c.RoutingKey} {
		if len(*f) > limit {
			*f = fmt.Sprintf("%s… <%d bytes truncated by bridge.WithMismatchBytes>", (*f)[:min(limit, truncatedPrefix)], len(*f))
			truncated = true
		}
	}
	size := 32 + len(c.Name) + len(c.RoutingKey)
	if n, ok := sizeOf(c.Args, limit); ok {
		size += n
	} else {
		text := preview(c.Args, truncatedPrefix)
		c.Args = []string{fmt.Sprintf("%s… <%d arguments of %d bytes or more truncated by bridge.WithMismatchBytes>", text[:min(len(text), truncatedPrefix)], len(c.Args), n)}
		size += 64 + len(c.Args[0])
		truncated = true
	}
	if n, ok := sizeOf(c.Options, limit); ok {
		size += n
	} else {
		t, tn, _ := bound(c.Options, limit)
		c.Options = map[string]any{"truncated": t}
		size += tn + 64
		truncated = true
	}
	return c, size, truncated
}

// boundMismatch bounds each part of m to perValue bytes, marks m
// Truncated when something was cut, and returns m with its estimated
// size.
func boundMismatch(m Mismatch, perValue int) (Mismatch, int) {
	cmd, n1, t1 := boundCommand(m.Command, perValue)
	leg, n2, t2 := boundResult(m.Legacy, perValue)
	in, n3, t3 := boundResult(m.Intelligent, perValue)
	m.Command, m.Legacy, m.Intelligent = cmd, leg, in
	m.Truncated = m.Truncated || t1 || t2 || t3
	return m, n1 + n2 + n3 + 64
}

// preview renders the start of v like fmt's %v, at most limit bytes,
// without formatting the rest.
func preview(v any, limit int) string {
	p := previewer{limit: limit, seen: map[uintptr]bool{}}
	p.walk(reflect.ValueOf(v), 0)
	out := p.buf
	if len(out) > limit {
		out = out[:limit]
	}
	return string(out)
}

type previewer struct {
	buf   []byte
	limit int
	seen  map[uintptr]bool
}

func (p *previewer) add(s string) {
	if room := p.limit + 1 - len(p.buf); room > 0 {
		p.buf = append(p.buf, s[:min(len(s), room)]...)
	}
}

func (p *previewer) full() bool { return len(p.buf) > p.limit }

func (p *previewer) walk(v reflect.Value, depth int) {
	if p.full() {
		return
	}
	if !v.IsValid() {
		p.add("<nil>")
		return
	}
	if depth > 16 {
		p.add("…")
		return
	}
	switch v.Kind() {
	case reflect.String:
		p.add(v.String())
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			b := v.Bytes()
			p.add(fmt.Sprint(b[:min(len(b), p.limit)]))
			return
		}
		p.add("[")
		for i := 0; i < v.Len() && !p.full(); i++ {
			if i > 0 {
				p.add(" ")
			}
			p.walk(v.Index(i), depth+1)
		}
		p.add("]")
	case reflect.Map:
		p.add("map[")
		it := v.MapRange()
		for first := true; it.Next() && !p.full(); first = false {
			if !first {
				p.add(" ")
			}
			p.walk(it.Key(), depth+1)
			p.add(":")
			p.walk(it.Value(), depth+1)
		}
		p.add("]")
	case reflect.Struct:
		p.add("{")
		for i := 0; i < v.NumField() && !p.full(); i++ {
			if i > 0 {
				p.add(" ")
			}
			p.walk(v.Field(i), depth+1)
		}
		p.add("}")
	case reflect.Pointer:
		if v.IsNil() || p.seen[v.Pointer()] {
			p.add(fmt.Sprintf("%#x", v.Pointer()))
			return
		}
		p.seen[v.Pointer()] = true
		p.add("&")
		p.walk(v.Elem(), depth+1)
	case reflect.Interface:
		p.walk(v.Elem(), depth+1)
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		if v.CanInterface() {
			p.add(fmt.Sprint(v.Interface()))
		} else {
			p.add(fmt.Sprint(v))
		}
	default:
		p.add("<" + v.Type().String() + ">")
	}
}
