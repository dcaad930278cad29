package sequence

// maxPairs bounds the order-2 table: 2^20 contexts × 80 bytes = 80 MiB at
// most (4 × specialists below that).
const maxPairs = 1 << 20

// probe is how many slots a context may sit from its home slot.
const probe = 8

// pairTable holds the order-2 contexts (pairs of previous specialists) in a
// fixed table with open addressing. When a new pair finds its probe window
// full, it replaces the least counted context there: what is rarely seen
// is what is forgotten, and the table never grows past its capacity.
type pairTable struct {
	keys []uint64 // pairKey+1; 0 is empty
	vals []successors
	mask uint64
}

func (t *pairTable) init(n int) {
	size := 1
	for size < n {
		size <<= 1
	}
	t.keys = make([]uint64, size)
	t.vals = make([]successors, size)
	t.mask = uint64(size - 1)
}

func (t *pairTable) cap() int { return len(t.keys) }

// grow rehashes into a table of at least n slots (contexts that no longer
// fit their window are dropped).
func (t *pairTable) grow(n int) {
	keys, vals := t.keys, t.vals
	t.init(n)
	for i, k := range keys {
		if k != 0 {
			*t.slot(k - 1) = vals[i]
		}
	}
}

func hash(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	return k
}

// find returns the context for key, nil when absent.
func (t *pairTable) find(key uint64) *successors {
	h := hash(key)
	for i := range uint64(probe) {
		j := (h + i) & t.mask
		if t.keys[j] == key+1 {
			return &t.vals[j]
		}
		if t.keys[j] == 0 {
			return nil
		}
	}
	return nil
}

// get returns the context for key, making one (in an empty slot, or in
// place of the least counted of the window) when absent.
func (t *pairTable) get(key uint64) *successors { return t.slot(key) }

func (t *pairTable) slot(key uint64) *successors {
	h := hash(key)
	low := h & t.mask
	for i := range uint64(probe) {
		j := (h + i) & t.mask
		switch t.keys[j] {
		case key + 1:
			return &t.vals[j]
		case 0:
			t.keys[j] = key + 1
			t.vals[j] = successors{limit: 256}
			return &t.vals[j]
		}
		if t.vals[j].total < t.vals[low].total {
			low = j
		}
	}
	t.keys[low] = key + 1
	t.vals[low] = successors{limit: 256}
	return &t.vals[low]
}
