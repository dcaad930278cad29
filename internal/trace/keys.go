package trace

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// lines reads a text input line by line, each at most maxLine bytes,
// without holding more than one line.
type lines struct {
	input string
	r     *bufio.Reader
	line  int
}

func newLines(input string, r io.Reader) *lines {
	return &lines{input: input, r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line without its '\n' (and '\r'), or io.EOF.
func (l *lines) next() ([]byte, error) {
	b, err := l.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull || (err == nil || err == io.EOF) && len(b) > maxLine {
		return nil, malformed(l.input, l.line+1, "line longer than %d bytes", maxLine)
	}
	if err == io.EOF && len(b) == 0 {
		return nil, io.EOF
	}
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("trace: %s: read: %w", l.input, err)
	}
	l.line++
	return bytes.TrimRight(b, "\r\n"), nil
}

// untimed places access n (from 0) at n × spacing, refusing a trace whose
// last access would overflow a time.Duration.
func untimed(input string, line, n int, spacing time.Duration) (time.Duration, error) {
	if int64(n) > math.MaxInt64/int64(spacing) {
		return 0, malformed(input, line, "%d accesses %v apart overflow a time.Duration", n, spacing)
	}
	return time.Duration(n) * spacing, nil
}

// ReadKeys reads a key access trace: one decimal integer key per line (an
// optional leading '-', then digits; blanks and a '\r' around it are
// ignored, an empty line is an error, the last line may lack its '\n').
// Keys are compared as text: "007" and "7" are different keys. Access i
// (from 0) is at i × Spacing.
func ReadKeys(r io.Reader, opt Options) (*Trace, error) {
	o, err := opt.resolve()
	if err != nil {
		return nil, err
	}
	const input = "keys"
	if r == nil {
		return nil, malformed(input, 1, "empty file (nil reader)")
	}
	ls := newLines(input, r)
	b := newBuilder("keys", sourceKeys, input, o.MaxRequests)
	for {
		text, err := ls.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		key := bytes.TrimSpace(text)
		if len(key) == 0 {
			return nil, malformed(input, ls.line, "empty line, want a decimal key")
		}
		if !decimal(key) {
			return nil, malformed(input, ls.line, "key %q is not a decimal integer", key)
		}
		if err := b.access(ls.line, string(key), "keys", o); err != nil {
			return nil, err
		}
	}
	if b.t.Len() == 0 {
		return nil, malformed(input, 1, "empty file, want one key per line")
	}
	return finish(b.t), nil
}

// access appends one access of an untimed trace (keys, arc).
func (b *builder) access(line int, key, group string, o resolved) error {
	at, err := untimed(b.input, line, b.t.Len(), o.Spacing)
	if err != nil {
		return err
	}
	k, ok := b.index[key] // no allocation for a key seen before
	if !ok {
		k = b.specialist(key, group, o.Memory, o.ColdStart)
	}
	return b.add(line, at, k)
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

// maxARCBlocks bounds the blocks of one ARC line.
const maxARCBlocks = 1 << 20

// ReadARC reads a block trace in the format of the ARC paper's traces
// (Megiddo & Modha): each line is "start count ignored request-number",
// blank-separated non-negative integers (only start and count are used),
// meaning count accesses, to blocks start, start+1, …, start+count−1, in
// that order. Each block is a key (its decimal number); access i (from
// 0) is at i × Spacing. A count is at most 2^20 and the trace at most
// MaxRequests accesses; blank lines are skipped.
func ReadARC(r io.Reader, opt Options) (*Trace, error) {
	o, err := opt.resolve()
	if err != nil {
		return nil, err
	}
	const input = "arc"
	if r == nil {
		return nil, malformed(input, 1, "empty file (nil reader)")
	}
	ls := newLines(input, r)
	b := newBuilder("arc", sourceARC, input, o.MaxRequests)
	var num []byte
	for {
		text, err := ls.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		f := bytes.Fields(text)
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 || len(f) > 4 {
			return nil, malformed(input, ls.line, "%d fields, want \"start count [ignored [request]]\"", len(f))
		}
		var v [4]uint64
		for i, x := range f {
			n, err := strconv.ParseUint(string(x), 10, 63)
			if err != nil {
				return nil, malformed(input, ls.line, "field %d = %q: not a non-negative integer", i+1, x)
			}
			v[i] = n
		}
		start, count := v[0], v[1]
		switch {
		case count > maxARCBlocks:
			return nil, malformed(input, ls.line, "field 2 = %d: more than %d blocks on one line", count, maxARCBlocks)
		case start > math.MaxInt64-count:
			return nil, malformed(input, ls.line, "field 1 = %d: blocks past 2^63", start)
		}
		for blk := start; blk < start+count; blk++ {
			num = strconv.AppendUint(num[:0], blk, 10)
			if err := b.access(ls.line, string(num), "arc", o); err != nil {
				return nil, err
			}
		}
	}
	if b.t.Len() == 0 {
		return nil, malformed(input, 1, "no accesses (an empty file or only zero counts)")
	}
	return finish(b.t), nil
}
