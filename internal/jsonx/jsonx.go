// Package jsonx renders the module's exported types in its one JSON
// convention, and reads them back:
//
//   - keys are the fields' json tags, which are camelCase;
//   - a time.Duration field whose key ends in "Ms" is a number of
//     milliseconds (a float: 1.5 is 1.5 ms); any other time.Duration field
//     is a Go duration string ("1m30s"); never raw nanoseconds;
//   - a nil slice is [] and a nil map {}, never null (unless the field is
//     omitempty and so left out).
//
// A type opts in with two one-line methods:
//
//	func (s Status) MarshalJSON() ([]byte, error) { return jsonx.Marshal(s) }
//	func (s *Status) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, s) }
//
// Embedded structs are flattened as encoding/json does (their own
// MarshalJSON is not used for the embedding type). Other fields are
// encoded by encoding/json, so nested types follow their own MarshalJSON.
//
// Unmarshal also reads what the module wrote before the convention: a key
// that is missing is looked up under its snake_case form ("warmHits" →
// "warm_hits"; "soakedMs" → "soaked", then in nanoseconds), so durable
// state written by an earlier version still loads.
package jsonx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
	"unicode"
)

var durationType = reflect.TypeFor[time.Duration]()

// field is one JSON member of a struct.
type field struct {
	key       string
	index     []int
	typ       reflect.Type
	omitEmpty bool
	omitZero  bool
}

// fields lists t's members in order, flattening untagged embedded structs
// (a shallower field shadows a deeper one of the same key).
func fields(t reflect.Type) []field {
	var out []field
	depth := map[string]int{}
	var walk func(t reflect.Type, index []int, d int)
	walk = func(t reflect.Type, index []int, d int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), index...), i)
			ft := sf.Type
			if sf.Anonymous && name == "" {
				if ft.Kind() == reflect.Struct {
					walk(ft, idx, d+1)
				}
				continue
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if od, seen := depth[name]; seen {
				if od <= d {
					continue
				}
				for j := range out {
					if out[j].key == name {
						out = append(out[:j], out[j+1:]...)
						break
					}
				}
			}
			depth[name] = d
			out = append(out, field{key: name, index: idx, typ: ft,
				omitEmpty: strings.Contains(","+opts+",", ",omitempty,"),
				omitZero:  strings.Contains(","+opts+",", ",omitzero,")})
		}
	}
	walk(t, nil, 0)
	return out
}

// Marshal encodes the struct v (or a pointer to one) in the convention.
func Marshal(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return []byte("null"), nil
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil, fmt.Errorf("jsonx: Marshal(%T): want a struct", v)
	}
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for _, f := range fields(rv.Type()) {
		fv, ok := fieldByIndex(rv, f.index)
		if !ok {
			continue
		}
		if (f.omitEmpty && isEmpty(fv)) || (f.omitZero && isZero(fv)) {
			continue
		}
		val, err := encode(f, fv)
		if err != nil {
			return nil, fmt.Errorf("jsonx: %s.%s: %w", rv.Type(), f.key, err)
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func encode(f field, v reflect.Value) ([]byte, error) {
	if v.Type() == durationType {
		d := time.Duration(v.Int())
		if strings.HasSuffix(f.key, "Ms") {
			return json.Marshal(Ms(d))
		}
		return json.Marshal(d.String())
	}
	switch v.Kind() {
	case reflect.Slice:
		if v.IsNil() && v.Type().Elem().Kind() != reflect.Uint8 {
			return []byte("[]"), nil
		}
	case reflect.Map:
		if v.IsNil() {
			return []byte("{}"), nil
		}
	}
	return json.Marshal(v.Interface())
}

// Ms is d in milliseconds.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// FromMs is the duration of ms milliseconds (rounded to the nanosecond,
// saturating at the Duration range; NaN is 0).
func FromMs(ms float64) time.Duration {
	ns := math.Round(ms * float64(time.Millisecond))
	switch {
	case math.IsNaN(ns):
		return 0
	case ns >= math.MaxInt64:
		return math.MaxInt64
	case ns <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(ns)
}

// Unmarshal decodes data, as Marshal writes it (or as the module wrote it
// before, see the package documentation), into the struct ptr points to.
func Unmarshal(data []byte, ptr any) error {
	rv := reflect.ValueOf(ptr)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("jsonx: Unmarshal(%T): want a non-nil pointer to a struct", ptr)
	}
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	rv = rv.Elem()
	var zero reflect.Value = reflect.New(rv.Type()).Elem()
	rv.Set(zero)
	for _, f := range fields(rv.Type()) {
		msg, key, legacy := lookup(raw, f)
		if msg == nil || bytes.Equal(bytes.TrimSpace(msg), []byte("null")) {
			continue
		}
		fv := allocByIndex(rv, f.index)
		if err := decode(f, fv, msg, legacy); err != nil {
			return fmt.Errorf("jsonx: %s: key %q: %w", rv.Type(), key, err)
		}
	}
	return nil
}

// lookup finds f's value: under its key, else (legacy) under the
// snake_case key the module used before.
func lookup(raw map[string]json.RawMessage, f field) (json.RawMessage, string, bool) {
	if m, ok := raw[f.key]; ok {
		return m, f.key, false
	}
	k := f.key
	if f.typ == durationType {
		k = strings.TrimSuffix(k, "Ms")
	}
	if old := Snake(k); old != f.key {
		if m, ok := raw[old]; ok {
			return m, old, true
		}
	}
	return nil, f.key, false
}

func decode(f field, v reflect.Value, msg json.RawMessage, legacy bool) error {
	if f.typ != durationType {
		return json.Unmarshal(msg, v.Addr().Interface())
	}
	var s string
	if json.Unmarshal(msg, &s) == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	var x float64
	if err := json.Unmarshal(msg, &x); err != nil {
		return err
	}
	if legacy || !strings.HasSuffix(f.key, "Ms") {
		if math.IsNaN(x) || math.Abs(x) > math.MaxInt64 {
			return fmt.Errorf("duration %v ns out of range", x)
		}
		v.SetInt(int64(x)) // nanoseconds, as time.Duration encodes itself
		return nil
	}
	if math.Abs(x) > Ms(math.MaxInt64) {
		return fmt.Errorf("duration %v ms out of range", x)
	}
	v.SetInt(int64(FromMs(x)))
	return nil
}

// Snake is the snake_case form of a camelCase key ("warmHits" →
// "warm_hits", "p95" → "p95").
func Snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

func allocByIndex(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

func isZero(v reflect.Value) bool {
	if z, ok := v.Interface().(interface{ IsZero() bool }); ok {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return true
		}
		return z.IsZero()
	}
	return v.IsZero()
}
