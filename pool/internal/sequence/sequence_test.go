package sequence

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestBoundedUnderDrift feeds a long random, drifting stream over many
// specialists: the learned structures stay within their stated bounds and
// the heap levels off.
func TestBoundedUnderDrift(t *testing.T) {
	const n = 2000
	m := New(15, true)
	for i := range n {
		m.Add(int32(i % 40))
	}
	r := rand.New(rand.NewPCG(1, 1))
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var buf []Prediction
	feed := func(tasks int, phase int) {
		for range tasks {
			// Short chains that change with the phase: sequences drift.
			k := int32(r.IntN(n))
			for step := range 1 + r.IntN(4) {
				buf = m.Observe((k+int32(step*(phase+1)))%n, buf[:0])
			}
		}
	}
	per := 200000
	if raceOn {
		per = 20000 // the race detector costs ~30× per task; the bounds fill all the same
	}
	feed(per, 0)
	base := heap()
	for phase := 1; phase <= 8; phase++ {
		feed(per, phase)
	}
	grown := int64(heap()) - int64(base)
	if bound := 8 * n; m.order2.cap() > bound { // 4n rounded up to a power of two
		t.Errorf("order-2 table %d slots, bound %d", m.order2.cap(), bound)
	}
	if l := m.Stats().Learned; l > max(16, n/2) {
		t.Errorf("%d learned workflows, bound %d", l, max(16, n/2))
	}
	for k := range m.byFirst {
		learned := 0
		for _, f := range m.byFirst[k] {
			if f.learned {
				learned++
			}
		}
		if learned > 2 {
			t.Fatalf("%d learned workflows from one first step, bound 2", learned)
		}
	}
	if len(m.matches) > 4*m.window || len(m.detected) > 4*m.window {
		t.Errorf("matches %d, detections %d, bound %d", len(m.matches), len(m.detected), 4*m.window)
	}
	// After the structures filled, 1.6 M more tasks (160 000 under -race)
	// grew the heap by less than 1 MiB (it was 41 B per task before the
	// bounds: 65 MB here).
	if grown > 1<<20 {
		t.Errorf("heap grew %d bytes over %d tasks after filling", grown, 8*per)
	}
}

// TestRepeatingSequenceSurvivesChurn: a sequence that keeps recurring is
// still predicted while random contexts churn the order-2 table.
func TestRepeatingSequenceSurvivesChurn(t *testing.T) {
	const n = 500
	m := New(15, false)
	for range n {
		m.Add(0)
	}
	r := rand.New(rand.NewPCG(2, 2))
	var buf []Prediction
	for range 20000 {
		for range 20 {
			buf = m.Observe(int32(3+r.IntN(n-3)), buf[:0])
		}
		m.Observe(0, buf[:0])
		m.Observe(1, buf[:0])
		m.Observe(2, buf[:0])
	}
	buf = m.Observe(0, buf[:0])
	buf = m.Observe(1, buf[:0])
	best := Prediction{K: -1}
	for _, p := range buf {
		if p.Probability > best.Probability {
			best = p
		}
	}
	if best.K != 2 {
		t.Errorf("after 0, 1: top prediction %+v, want 2 (predictions %v)", best, buf)
	}
}

func TestWilsonLow(t *testing.T) {
	if w := wilsonLow(1, 3); w < 0.43 || w > 0.45 {
		t.Errorf("wilsonLow(1, 3) = %v, want ≈ 0.44", w)
	}
	if w := wilsonLow(0.67, 3); w > 0.4 {
		t.Errorf("wilsonLow(0.67, 3) = %v: three sightings pass", w)
	}
	if w := wilsonLow(0.67, 40); w < 0.5 {
		t.Errorf("wilsonLow(0.67, 40) = %v, want > 0.5", w)
	}
}

func BenchmarkObserve(b *testing.B) {
	for _, n := range []int{83, 10000} {
		b.Run(map[int]string{83: "83", 10000: "10000"}[n], func(b *testing.B) {
			m := New(15, true)
			for i := range n {
				m.Add(int32(i % 19))
			}
			r := rand.New(rand.NewPCG(1, 2))
			keys := make([]int32, 1<<16)
			for i := range keys {
				keys[i] = int32(r.IntN(n))
			}
			var buf []Prediction
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				buf = m.Observe(keys[i&(len(keys)-1)], buf[:0])
			}
		})
	}
}
