package policy_test

import (
	"github.com/bumba/pooling/pool/internal/policy"
	"math/rand/v2"
	"testing"
)

// BenchmarkAccess is the model's cost per task on the pool's own goroutine,
// for a skewed mix over n specialists at a 20 % cap with a follower cache.
func BenchmarkAccess(b *testing.B) {
	for _, n := range []int{83, 1000, 10000} {
		b.Run(itoa(n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			z := rand.NewZipf(r, 1.1, 4, uint64(n-1))
			keys := make([]int32, 1<<16)
			for i := range keys {
				keys[i] = int32(z.Uint64())
			}
			c := max(1, n/5)
			tr := keyed{keys: keys, at: make([]int64, len(keys)), n: n}
			for i := range tr.at {
				tr.at[i] = int64(i) * 1e6
			}
			m, _ := policy.New(policy.Config{Specialists: n, MaxWarm: c, Sizes: make([]int64, n), Seed: 1})
			held := make([]bool, n)
			count := 0
			var buf []int32
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				j := i & (len(keys) - 1)
				k := keys[j]
				m.Access(k, int64(i)*1e6, 1)
				if held[k] {
					continue
				}
				if count >= c {
					buf = m.Victims(buf[:0], 1, func(v int32) bool { return v != k })
					held[buf[0]] = false
					m.Remove(buf[0])
					count--
				}
				held[k] = true
				m.Admit(k)
				count++
			}
		})
	}
}

func itoa(n int) string {
	switch n {
	case 83:
		return "83"
	case 1000:
		return "1000"
	}
	return "10000"
}

// BenchmarkVictims is the eviction decision alone: 8 candidates from a
// model whose cache and the pool's warm set hold w specialists, the task
// that asked taken in first (as the pool does on a miss), then the first
// candidate evicted and the newcomer admitted.
func BenchmarkVictims(b *testing.B) {
	for _, w := range []int{1000, 10000} {
		b.Run(itoa(w), func(b *testing.B) {
			n := 2 * w
			m, err := policy.New(policy.Config{Specialists: n, MaxWarm: w, Sizes: make([]int64, n), Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			for k := range int32(w) {
				m.Access(k, int64(k)*1e6, 1)
				m.Admit(k)
			}
			held := make([]bool, n)
			for k := range w {
				held[k] = true
			}
			var buf []int32
			next := int32(w)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := next
				next = (next + 1) % int32(n)
				m.Access(k, int64(w+i)*1e6, 1)
				if held[k] {
					continue
				}
				buf = m.Victims(buf[:0], 8, func(v int32) bool { return v != k })
				v := buf[0]
				held[v] = false
				m.Remove(v)
				held[k] = true
				m.Admit(k)
			}
		})
	}
}
