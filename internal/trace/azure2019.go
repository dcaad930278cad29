package trace

import (
	"cmp"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Names of the Azure 2019 identity columns, in the order they nest.
const (
	colOwner    = "HashOwner"
	colApp      = "HashApp"
	colFunction = "HashFunction"
)

const (
	// rankBits is the width of a function's rank in the packed sort key
	// (offset inside the minute in ns << rankBits | rank): a minute is
	// 6·10^10 ns < 2^36, so 36 + 28 bits fill a uint64.
	rankBits = 28
	rankMask = 1<<rankBits - 1
	// maxMinute bounds minute numbers so that minute offsets fit a
	// time.Duration (10^8 minutes is 190 years).
	maxMinute = 100_000_000
	// pcgStream is the second PCG word; the seed alone decides.
	pcgStream = 0x9e3779b97f4a7c15
)

// ReadAzure2019 reads the Azure Functions 2019 per-minute format: the
// invocation counts (required) and, optionally, per-function durations
// and memory (nil readers use the defaults). See the package comment for
// how counts become requests and for the limits.
func ReadAzure2019(invocations, durations, memory io.Reader, opt Options) (*Trace, error) {
	o, err := opt.resolve()
	if err != nil {
		return nil, err
	}
	inv, err := readInvocations(invocations, o)
	if err != nil {
		return nil, err
	}
	var durs, mems *sideTable
	if durations != nil {
		// Average ms → ns; at most 10^12 ms (31 years).
		if durs, err = readSide("durations.csv", durations, "Average", 1e12, float64(time.Millisecond)); err != nil {
			return nil, err
		}
	}
	if memory != nil {
		// MB = MiB = 1<<20 bytes; at most 2^32 MB.
		if mems, err = readSide("memory.csv", memory, "AverageAllocatedMb", 1<<32, 1<<20); err != nil {
			return nil, err
		}
	}
	return inv.trace(durs, mems, o), nil
}

// trace turns parsed counts into a trace, with each function's costs from
// the side tables.
func (inv *invocationCounts) trace(durs, mems *sideTable, o resolved) *Trace {
	// Key: HashFunction when it alone tells the functions apart, else the
	// whole owner/app/function path (for every function, so that keys
	// have one form per trace).
	fnSeen := make(map[string]struct{}, len(inv.funcs))
	for _, f := range inv.funcs {
		fnSeen[f.fn] = struct{}{}
	}
	joined := len(fnSeen) != len(inv.funcs)

	specs := make([]Specialist, len(inv.funcs))
	for i, f := range inv.funcs {
		s := Specialist{ID: f.fn, Group: f.owner, Memory: o.Memory, ColdStart: o.ColdStart}
		if joined {
			s.ID = f.owner + "/" + f.app + "/" + f.fn
		}
		if v, ok := mems.lookup(f.owner, f.app, f.fn); ok {
			s.Memory = v
		}
		if v, ok := durs.lookup(f.owner, f.app, f.fn); ok {
			s.Duration = time.Duration(v)
		}
		specs[i] = s
	}
	t := &Trace{Name: "azure2019", Source: sourceAzure2019, Specialists: specs}
	inv.spread(t, o.Seed)
	return finish(t)
}

// function is one row of invocations.csv.
type function struct {
	owner, app, fn string
	total          int
}

// cell is a non-zero count: fn's invocations in the minute of index minute.
type cell struct {
	fn, minute, count uint32
}

// invocationCounts is invocations.csv, parsed.
type invocationCounts struct {
	funcs     []function
	minutes   []int // minute numbers present, ascending; minutes[0] is t = 0
	perMinute []int // invocations per minute index
	cells     []cell
	total     int
}

// minuteColumn reports whether a header name is a minute column, "N" or
// "minute_N", and its N.
func minuteColumn(name string) (n int, ok bool, err error) {
	digits := strings.TrimPrefix(strings.ToLower(name), "minute_")
	if digits == "" {
		return 0, false, nil
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false, nil
		}
	}
	n, err = strconv.Atoi(digits)
	if err != nil || n >= maxMinute {
		return 0, true, malformed("invocations.csv", 1, "bad header: minute column %q out of range (want less than %d)", name, maxMinute)
	}
	return n, true, nil
}

func readInvocations(r io.Reader, o resolved) (*invocationCounts, error) {
	if r == nil {
		return nil, malformed("invocations.csv", 1, "empty file (nil reader)")
	}
	t, err := newTable("invocations.csv", r)
	if err != nil {
		return nil, err
	}
	id, err := t.need(colOwner, colApp, colFunction)
	if err != nil {
		return nil, err
	}
	type minuteCol struct{ col, n int }
	var mcols []minuteCol
	for c, name := range t.header {
		n, ok, err := minuteColumn(name)
		if err != nil {
			return nil, err
		}
		if ok {
			mcols = append(mcols, minuteCol{c, n})
		}
	}
	if len(mcols) == 0 {
		return nil, malformed(t.input, 1, "bad header: no minute columns (named N or minute_N)")
	}
	slices.SortFunc(mcols, func(a, b minuteCol) int { return cmp.Compare(a.n, b.n) })
	inv := &invocationCounts{minutes: make([]int, len(mcols)), perMinute: make([]int, len(mcols))}
	for j, m := range mcols {
		if j > 0 && m.n == mcols[j-1].n {
			return nil, malformed(t.input, 1, "bad header: minute %d appears twice (%s and %s)", m.n, t.field(mcols[j-1].col), t.field(m.col))
		}
		inv.minutes[j] = m.n
	}

	strs := interner{}
	firstLine := map[string]int{} // owner\x00app\x00function → line
	for {
		rec, err := t.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		var ident [3]string
		for k, c := range id {
			if ident[k], err = t.nonEmpty(rec, c); err != nil {
				return nil, err
			}
		}
		path := ident[0] + "\x00" + ident[1] + "\x00" + ident[2]
		if l, dup := firstLine[path]; dup {
			return nil, t.errorf("function %s/%s/%s repeats line %d", ident[0], ident[1], ident[2], l)
		}
		firstLine[path] = t.line
		if len(inv.funcs) > rankMask {
			return nil, t.errorf("more than %d functions", rankMask+1)
		}
		fi := uint32(len(inv.funcs))
		f := function{owner: strs.get(ident[0]), app: strs.get(ident[1]), fn: strs.get(ident[2])}
		for j, m := range mcols {
			s := rec[m.col]
			c, err := strconv.ParseInt(s, 10, 64)
			switch {
			case err != nil:
				return nil, t.errorf("%s = %q: count not a non-negative integer", t.field(m.col), s)
			case c < 0:
				return nil, t.errorf("%s = %q: negative count", t.field(m.col), s)
			case c > int64(o.MaxPerMinute):
				return nil, t.errorf("%s = %q: more than %d invocations of one function in one minute (the reader's MaxPerMinute)", t.field(m.col), s, o.MaxPerMinute)
			case c > int64(o.MaxRequests-inv.total):
				return nil, t.errorf("%s = %q: more than %d invocations in all (the reader's MaxRequests)", t.field(m.col), s, o.MaxRequests)
			case c == 0:
				continue
			}
			inv.total += int(c)
			inv.perMinute[j] += int(c)
			f.total += int(c)
			inv.cells = append(inv.cells, cell{fn: fi, minute: uint32(j), count: uint32(c)})
		}
		inv.funcs = append(inv.funcs, f)
	}
	if len(inv.funcs) == 0 {
		return nil, malformed(t.input, t.line+1, "no function rows after the header")
	}
	if inv.total == 0 {
		return nil, malformed(t.input, t.line, "no invocations: every count is 0")
	}
	return inv, nil
}

// spread turns the counts into t's requests: each invocation gets a
// uniform random offset inside its minute, drawn minute by minute
// (ascending), and inside a minute function by function in file order;
// then each minute is sorted by (offset, key). t.Specialists[i] is
// function i.
func (inv *invocationCounts) spread(t *Trace, seed uint64) {
	specs := t.Specialists
	// Rank functions by key, so that ties sort by key as integers.
	byRank := make([]int32, len(specs))
	for i := range byRank {
		byRank[i] = int32(i)
	}
	slices.SortFunc(byRank, func(a, b int32) int { return strings.Compare(specs[a].ID, specs[b].ID) })
	rank := make([]uint64, len(specs))
	for r, i := range byRank {
		rank[i] = uint64(r)
	}

	// Group the cells by minute, keeping file order inside a minute
	// (a counting sort).
	start := make([]int, len(inv.minutes)+1)
	for _, c := range inv.cells {
		start[c.minute+1]++
	}
	for j := range inv.minutes {
		start[j+1] += start[j]
	}
	byMinute := make([]cell, len(inv.cells))
	next := slices.Clone(start[:len(inv.minutes)])
	for _, c := range inv.cells {
		byMinute[next[c.minute]] = c
		next[c.minute]++
	}
	inv.cells = nil

	t.At = make([]time.Duration, 0, inv.total)
	t.Key = make([]int32, 0, inv.total)
	buf := make([]uint64, 0, slices.Max(inv.perMinute))
	rng := rand.New(rand.NewPCG(seed, pcgStream))
	for j, m := range inv.minutes {
		base := time.Duration(m-inv.minutes[0]) * time.Minute
		buf = buf[:0]
		for _, c := range byMinute[start[j]:start[j+1]] {
			r := rank[c.fn]
			for range c.count {
				buf = append(buf, rng.Uint64N(uint64(time.Minute))<<rankBits|r)
			}
		}
		slices.Sort(buf)
		for _, v := range buf {
			t.At = append(t.At, base+time.Duration(v>>rankBits))
			t.Key = append(t.Key, byRank[v&rankMask])
		}
	}
}

// sideTable is durations.csv or memory.csv: one value per function (or per
// app, when the file has no HashFunction column).
type sideTable struct {
	by   [3]bool // which of HashOwner, HashApp, HashFunction the rows carry
	vals map[string]int64
}

// readSide reads column value of every row as a number in [0, limit),
// scaled and rounded to an integer.
func readSide(input string, r io.Reader, value string, limit, scale float64) (*sideTable, error) {
	t, err := newTable(input, r)
	if err != nil {
		return nil, err
	}
	vc, err := t.need(value)
	if err != nil {
		return nil, err
	}
	s := &sideTable{vals: map[string]int64{}}
	var idCols []int
	for k, name := range []string{colOwner, colApp, colFunction} {
		if c, ok := t.has(name); ok {
			s.by[k] = true
			idCols = append(idCols, c)
		}
	}
	if !s.by[1] && !s.by[2] {
		return nil, malformed(input, 1, "bad header: no %s or %s column to match functions by", colFunction, colApp)
	}
	firstLine := map[string]int{}
	for {
		rec, err := t.next()
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return nil, err
		}
		parts := make([]string, len(idCols))
		for k, c := range idCols {
			if parts[k], err = t.nonEmpty(rec, c); err != nil {
				return nil, err
			}
		}
		key := strings.Join(parts, "\x00")
		if l, dup := firstLine[key]; dup {
			return nil, t.errorf("row for %s repeats line %d", strings.Join(parts, "/"), l)
		}
		firstLine[key] = t.line
		v, err := t.number(rec, vc[0], limit)
		if err != nil {
			return nil, err
		}
		s.vals[key] = int64(math.Round(v * scale))
	}
}

// lookup returns the value of a function; false when s is nil or has no
// row for it.
func (s *sideTable) lookup(owner, app, fn string) (int64, bool) {
	if s == nil {
		return 0, false
	}
	parts := make([]string, 0, 3)
	for k, v := range [3]string{owner, app, fn} {
		if s.by[k] {
			parts = append(parts, v)
		}
	}
	v, ok := s.vals[strings.Join(parts, "\x00")]
	return v, ok
}
