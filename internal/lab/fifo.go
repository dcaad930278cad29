package lab

// The FIFO-family baselines, written here from their papers (the module
// proxy does not serve a Go package of them): SIEVE (Zhang et al., "SIEVE
// is Simpler than LRU", NSDI 2024) and S3-FIFO (Yang et al., "FIFO Queues
// are All You Need for Cache Eviction", SOSP 2023). Both always admit the
// requested key and evict exactly one key to make room, so they hold
// exactly the warm set.

// sieveCache: one FIFO queue, newest at the head, a visited bit per key
// and a hand. A hit sets the bit. To make room, the hand (from the tail,
// the oldest, when unset) clears visited keys moving toward the head,
// wrapping to the tail, and evicts the first unvisited key; it then rests
// on that key's newer neighbour. New keys go in at the head.
type sieveCache struct {
	capacity     int
	size         int
	in, visited  []bool
	newer, older []int32
	head, tail   int32 // newest, oldest
	hand         int32
	d            dropped
}

func newSIEVE(capacity int) func([]bool) (demandCache, error) {
	return func(resident []bool) (demandCache, error) {
		n := len(resident)
		return &sieveCache{
			capacity: capacity, in: make([]bool, n), visited: make([]bool, n),
			newer: make([]int32, n), older: make([]int32, n), head: -1, tail: -1, hand: -1,
			d: dropped{resident: resident},
		}, nil
	}
}

func (c *sieveCache) access(_ int, k int32) {
	if c.in[k] {
		c.visited[k] = true
		return
	}
	if c.size >= c.capacity {
		c.evict()
	}
	c.in[k], c.visited[k] = true, false
	c.older[k], c.newer[k] = c.head, -1
	if c.head >= 0 {
		c.newer[c.head] = k
	} else {
		c.tail = k
	}
	c.head = k
	c.size++
}

func (c *sieveCache) evict() {
	o := c.hand
	if o < 0 {
		o = c.tail
	}
	for c.visited[o] {
		c.visited[o] = false
		if o = c.newer[o]; o < 0 {
			o = c.tail
		}
	}
	c.hand = c.newer[o]
	// Unlink o.
	if n := c.newer[o]; n >= 0 {
		c.older[n] = c.older[o]
	} else {
		c.head = c.older[o]
	}
	if p := c.older[o]; p >= 0 {
		c.newer[p] = c.newer[o]
	} else {
		c.tail = c.newer[o]
	}
	c.in[o] = false
	c.size--
	c.d.add(o)
}

func (c *sieveCache) victim(k int32) (int32, error) {
	if v, ok := c.d.take(k); ok {
		return v, nil
	}
	return -1, errOutOfStep
}

func (c *sieveCache) close() {}

// s3fifoCache: a small FIFO S (10 % of the capacity), a main FIFO M and a
// ghost FIFO G of keys only (as many as M can hold), with a frequency of
// 0–3 per key. A hit raises the key's frequency. A miss makes room
// (while full: evict from S if S holds at least its 10 %, else from M),
// then inserts the key into M if G remembers it, else into S. Evicting
// from S: its oldest key moves to M if its frequency is above 1 (making
// room in M if M is then over its share), else it goes to G and out of
// the cache. Evicting from M: its oldest key is reinserted with its
// frequency lowered by one while above 0, else it leaves the cache.
type s3fifoCache struct {
	capacity, smallCap, mainCap int
	small, main                 fifo
	freq                        []uint8
	where                       []uint8 // 0 out, 1 in S, 2 in M
	ghostAt                     []int64 // insertion number in G, −1 none
	ghostSeq                    int64
	d                           dropped
}

const (
	inNone uint8 = iota
	inSmall
	inMain
)

func newS3FIFO(capacity int) func([]bool) (demandCache, error) {
	return func(resident []bool) (demandCache, error) {
		n := len(resident)
		small := max(1, capacity/10)
		c := &s3fifoCache{
			capacity: capacity, smallCap: small, mainCap: max(1, capacity-small),
			freq: make([]uint8, n), where: make([]uint8, n), ghostAt: make([]int64, n),
			d: dropped{resident: resident},
		}
		for i := range c.ghostAt {
			c.ghostAt[i] = -1
		}
		return c, nil
	}
}

func (c *s3fifoCache) inGhost(k int32) bool {
	return c.ghostAt[k] >= 0 && c.ghostSeq-c.ghostAt[k] <= int64(c.mainCap)
}

func (c *s3fifoCache) access(_ int, k int32) {
	if c.where[k] != inNone {
		c.freq[k] = min(c.freq[k]+1, 3)
		return
	}
	for c.small.len()+c.main.len() >= c.capacity {
		if c.small.len() >= c.smallCap {
			c.evictSmall()
		} else {
			c.evictMain()
		}
	}
	c.freq[k] = 0
	if c.inGhost(k) {
		c.ghostAt[k] = -1
		c.where[k] = inMain
		c.main.push(k)
	} else {
		c.where[k] = inSmall
		c.small.push(k)
	}
}

func (c *s3fifoCache) evictSmall() {
	for c.small.len() > 0 {
		t := c.small.pop()
		if c.freq[t] > 1 {
			c.where[t] = inMain
			c.main.push(t)
			if c.main.len() > c.mainCap {
				c.evictMain()
			}
			continue
		}
		c.where[t] = inNone
		c.ghostAt[t] = c.ghostSeq
		c.ghostSeq++
		c.d.add(t)
		return
	}
}

func (c *s3fifoCache) evictMain() {
	for c.main.len() > 0 {
		t := c.main.pop()
		if c.freq[t] > 0 {
			c.freq[t]--
			c.main.push(t)
			continue
		}
		c.where[t] = inNone
		c.d.add(t)
		return
	}
}

func (c *s3fifoCache) victim(k int32) (int32, error) {
	if v, ok := c.d.take(k); ok {
		return v, nil
	}
	return -1, errOutOfStep
}

func (c *s3fifoCache) close() {}

// fifo is a queue of keys: push at the head, pop the oldest.
type fifo struct {
	buf   []int32
	first int
}

func (q *fifo) len() int { return len(q.buf) - q.first }

func (q *fifo) push(k int32) { q.buf = append(q.buf, k) }

func (q *fifo) pop() int32 {
	k := q.buf[q.first]
	q.first++
	if q.first > 1024 && q.first*2 > len(q.buf) {
		n := copy(q.buf, q.buf[q.first:])
		q.buf, q.first = q.buf[:n], 0
	}
	return k
}
