package policy

// none marks the end of a list and a key in no list.
const none int32 = -1

// links is the link storage for a family of disjoint intrusive lists over
// keys 0…n−1: a key is in at most one list of a family at a time. Lists
// cost two int32 per key and no allocation per operation.
type links struct {
	prev, next []int32
	owner      []*list // the list a key is in, nil when none
}

func newLinks(n int) *links {
	l := &links{prev: make([]int32, n), next: make([]int32, n), owner: make([]*list, n)}
	for i := range l.prev {
		l.prev[i], l.next[i] = none, none
	}
	return l
}

// list is a doubly linked list of keys, oldest (head) first.
type list struct {
	lk         *links
	head, tail int32
	len        int
	bytes      int64
}

func (lk *links) newList() *list { return &list{lk: lk, head: none, tail: none} }

// in reports whether k is in l.
func (l *list) in(k int32) bool { return l.lk.owner[k] == l }

// pushBack appends k, which must be in no list of the family.
func (l *list) pushBack(k int32, size int64) {
	lk := l.lk
	lk.owner[k] = l
	lk.prev[k], lk.next[k] = l.tail, none
	if l.tail != none {
		lk.next[l.tail] = k
	} else {
		l.head = k
	}
	l.tail = k
	l.len++
	l.bytes += size
}

// remove takes k, which must be in l, out of it.
func (l *list) remove(k int32, size int64) {
	lk := l.lk
	p, n := lk.prev[k], lk.next[k]
	if p != none {
		lk.next[p] = n
	} else {
		l.head = n
	}
	if n != none {
		lk.prev[n] = p
	} else {
		l.tail = p
	}
	lk.prev[k], lk.next[k] = none, none
	lk.owner[k] = nil
	l.len--
	l.bytes -= size
}

// moveBack makes k, which must be in l, its newest key.
func (l *list) moveBack(k int32) {
	if l.tail == k {
		return
	}
	lk := l.lk
	p, n := lk.prev[k], lk.next[k]
	if p != none {
		lk.next[p] = n
	} else {
		l.head = n
	}
	lk.prev[n] = p // n exists: k is not the tail
	lk.prev[k], lk.next[k] = l.tail, none
	lk.next[l.tail] = k
	l.tail = k
}

// popFront removes and returns the oldest key (none when empty).
func (l *list) popFront(size func(int32) int64) int32 {
	k := l.head
	if k != none {
		l.remove(k, size(k))
	}
	return k
}

// ownerOf returns the list k is in, nil when none.
func (lk *links) ownerOf(k int32) *list { return lk.owner[k] }
