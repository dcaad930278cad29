package catalog_test

import (
	"errors"
	"os"
	"testing"

	"github.com/bumba/pooling/internal/catalog"
)

// FuzzParse: a catalogue is refused with an error or holds together:
// unique non-empty IDs, sorted departments each named by a specialist,
// workflows of known specialists.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("bumba-specialists.json"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{"about":"x","reference_costs":{"memory_mb_by_state":{"cold":0,"warm":10,"active":20},"cold_start_ms":1000,"warm_start_ms":10,"task_ms":100,"always_warm_baseline_mb_per_specialist":20},"priority_weights":{"high":1,"medium":0.5,"low":0.1},"specialists":[{"id":"a","type":"t","department":"d","priority":"high"}],"workflows":{"w":["a","a"]}}`))
	f.Add([]byte(`{"specialists":[]}`))
	f.Add([]byte(`{"specialists":[{"id":"a","department":"d","priority":"urgent"}]}`))
	f.Add([]byte(`{"unknown":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := catalog.Parse(data)
		if err != nil {
			if c != nil || !errors.Is(err, catalog.ErrInvalid) && !isDecodeError(err) {
				t.Fatal("a catalogue with an error")
			}
			return
		}
		ids := map[string]bool{}
		depts := map[string]bool{}
		for _, s := range c.Specialists {
			if s.ID == "" || ids[s.ID] {
				t.Fatalf("empty or duplicate id %q", s.ID)
			}
			ids[s.ID] = true
			depts[s.Department] = true
		}
		if len(c.Departments) != len(depts) {
			t.Fatalf("%d departments listed, %d named", len(c.Departments), len(depts))
		}
		for i, d := range c.Departments {
			if !depts[d] || i > 0 && c.Departments[i-1] >= d {
				t.Fatalf("departments not sorted and unique: %q", c.Departments)
			}
		}
		for _, w := range c.Workflows {
			if len(w.Steps) == 0 {
				t.Fatalf("workflow %q without steps", w.Name)
			}
			for _, s := range w.Steps {
				if !ids[s] {
					t.Fatalf("workflow %q: unknown step %q", w.Name, s)
				}
			}
		}
		if again, err := catalog.Parse(data); err != nil || len(again.Specialists) != len(c.Specialists) {
			t.Fatalf("a second parse differs: %v", err)
		}
	})
}

// isDecodeError reports a JSON decoding error (Parse wraps it as
// "catalog: decode: …" without ErrInvalid).
func isDecodeError(err error) bool {
	return len(err.Error()) > 16 && err.Error()[:16] == "catalog: decode:"
}
