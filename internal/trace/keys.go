package trace

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"time"
)

// KeysOptions tune ReadKeys.
type KeysOptions struct {
	// Spacing is the time between two accesses; 0 means 1 s.
	Spacing time.Duration
	// ColdStart is every key's cold start; 0 means 1 s.
	ColdStart time.Duration
	// Memory is every key's memory; 0 means 5 MiB.
	Memory int64
}

// ReadKeys reads a key access trace: one decimal integer key per line (an
// optional leading '-', then digits; blanks and a '\r' around it are
// ignored, an empty line is an error, the last line may lack its '\n').
// Keys are compared as text: "007" and "7" are different keys.
func ReadKeys(r io.Reader, opt KeysOptions) (*Trace, error) {
	coldStart, memory, err := defaults(opt.ColdStart, opt.Memory)
	if err != nil {
		return nil, err
	}
	spacing := opt.Spacing
	switch {
	case spacing < 0:
		return nil, fmt.Errorf("trace: spacing %v: want a duration >= 0 (0 means 1s)", spacing)
	case spacing == 0:
		spacing = time.Second
	}
	const input = "keys"
	if r == nil {
		return nil, malformed(input, 1, "empty file (nil reader)")
	}
	// The whole file at once: it lets the requests be sized exactly, which
	// saves more than the file takes.
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("trace: %s: read: %w", input, err)
	}
	if len(data) == 0 {
		return nil, malformed(input, 1, "empty file, want one key per line")
	}
	n := bytes.Count(data, []byte{'\n'})
	if data[len(data)-1] != '\n' {
		n++
	}
	switch {
	case n > maxRequests:
		return nil, malformed(input, maxRequests+1, "more than %d accesses", maxRequests)
	case int64(n-1) > math.MaxInt64/int64(spacing):
		return nil, fmt.Errorf("trace: %s: %d accesses %v apart overflow a time.Duration", input, n, spacing)
	}
	reqs := make([]Request, 0, n)
	strs := interner{}
	for line := 1; len(data) > 0; line++ {
		var text []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			text, data = data[:i], data[i+1:]
		} else {
			text, data = data, nil
		}
		key := bytes.TrimSpace(text)
		if len(key) == 0 {
			return nil, malformed(input, line, "empty line, want a decimal key")
		}
		if !decimal(key) {
			return nil, malformed(input, line, "key %q is not a decimal integer", key)
		}
		k, ok := strs[string(key)] // no allocation for a key seen before
		if !ok {
			k = string(key)
			strs[k] = k
		}
		reqs = append(reqs, Request{
			At: time.Duration(len(reqs)) * spacing, Key: k, Group: "keys",
			Memory: memory, ColdStart: coldStart,
		})
	}
	return &Trace{Name: "keys", Source: sourceKeys, Requests: reqs, Keys: len(strs)}, nil
}

// decimal reports whether b is an optional '-' and one or more digits.
func decimal(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
