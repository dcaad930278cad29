package jsonx

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var camel = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// Check reports every way data breaks the convention: a key that is not
// camelCase, a null value, and (when sentinel is not 0) a duration written
// as raw nanoseconds — the decimal sentinel.Nanoseconds() anywhere in
// data. Keys of the objects at the paths in maps ("modes", "paths",
// "departments.*"; "*" matches one key) are the map's keys, not checked. It
// is for the packages' tests.
func Check(data []byte, sentinel time.Duration, maps ...string) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	var errs []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case nil:
			errs = append(errs, fmt.Sprintf("%s: null", path))
		case map[string]any:
			isMap := matchAny(path, maps)
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				if !isMap && !camel.MatchString(k) {
					errs = append(errs, fmt.Sprintf("%s: key %q is not camelCase", path, k))
				}
				walk(join(path, k), x[k])
			}
		case []any:
			for _, e := range x {
				walk(path+"[]", e)
			}
		}
	}
	walk("", v)
	if sentinel != 0 && strings.Contains(string(data), strconv.FormatInt(sentinel.Nanoseconds(), 10)) {
		errs = append(errs, fmt.Sprintf("a duration (%v) is written as raw nanoseconds", sentinel))
	}
	if len(errs) > 0 {
		return fmt.Errorf("jsonx: %s", strings.Join(errs, "; "))
	}
	return nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func matchAny(path string, patterns []string) bool {
	for _, p := range patterns {
		if match(path, p) {
			return true
		}
	}
	return false
}

func match(path, pattern string) bool {
	ps, qs := strings.Split(path, "."), strings.Split(pattern, ".")
	if len(ps) != len(qs) {
		return false
	}
	for i := range ps {
		if qs[i] != "*" && strings.TrimSuffix(qs[i], "[]") != strings.TrimSuffix(ps[i], "[]") {
			return false
		}
	}
	return true
}

// Fill sets every time.Duration reachable from ptr (through struct
// fields, pointers, which it allocates, and slices, to which it adds one
// element when empty) to d, for Check's sentinel. It is for the packages'
// tests.
func Fill(ptr any, d time.Duration) {
	fill(reflect.ValueOf(ptr), d, 0)
}

func fill(v reflect.Value, d time.Duration, depth int) {
	if depth > 8 || !v.IsValid() {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			if !v.CanSet() {
				return
			}
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem(), d, depth+1)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			return
		}
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				fill(f, d, depth+1)
			}
		}
	case reflect.Slice:
		if v.Len() == 0 && v.CanSet() && v.Type().Elem().Kind() != reflect.Uint8 {
			v.Set(reflect.Append(v, reflect.New(v.Type().Elem()).Elem()))
		}
		for i := range v.Len() {
			fill(v.Index(i), d, depth+1)
		}
	case reflect.Int64:
		if v.Type() == durationType && v.CanSet() {
			v.SetInt(int64(d))
		}
	}
}
