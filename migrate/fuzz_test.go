package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/benbjohnson/clock"
)

// FuzzRoutingJSON: routing JSON is refused or read into a routing that
// writes and reads back to itself.
func FuzzRoutingJSON(f *testing.F) {
	for _, s := range []string{`{"mode":"hybrid","percentage":50}`, `{"mode":"full_replacement"}`, `{"mode":"","percentage":-1}`,
		`{"mode":"warp"}`, `{"percentage":1e400}`, `null`, `[]`, `{"mode":7}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Routing
		if err := json.Unmarshal(data, &r); err != nil {
			return
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("marshal %+v: %v", r, err)
		}
		var back Routing
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("read back %s: %v", out, err)
		}
		if r.Mode.Valid() && !back.Equal(r) {
			t.Fatalf("round trip %+v → %s → %+v", r, out, back)
		}
	})
}

// FuzzRolloutSection: whatever the rollout section holds, New either
// restores a rollout on a step of the plan or refuses with ErrCorruptState,
// ErrNewerState or ErrPlanMismatch and leaves the router as it was; it
// never panics.
func FuzzRolloutSection(f *testing.F) {
	clk := clock.NewMock()
	// A real section: the default plan driven to hybrid-25.
	store := NewMemoryStore()
	r, m := newRouter(), newMetrics(clk)
	if _, err := New(r, m, WithClock(clk), WithStore(store)); err != nil {
		f.Fatal(err)
	}
	real, _ := store.Load(context.Background(), SectionRollout)
	f.Add(real)
	f.Add([]byte(`{"version":1,"step":"hybrid-50","state":"held","routing":{"mode":"hybrid","percentage":50}}`))
	f.Add([]byte(`{"version":1,"step":"shadow","state":"rolled_back"}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"step":"nope","state":"running"}`))
	f.Add([]byte(`{"version":1,"step":"shadow","state":"running","soaked":-5,"history":[{"action":"advance"}]}`))
	f.Fuzz(func(t *testing.T, section []byte) {
		if !json.Valid(section) {
			return // a Store holds JSON only
		}
		store := NewMemoryStore()
		if err := store.Save(context.Background(), SectionRollout, section); err != nil {
			t.Fatal(err)
		}
		r := newRouter()
		c, err := New(r, newMetrics(clk), WithClock(clk), WithStore(store))
		if err != nil {
			if !errors.Is(err, ErrCorruptState) && !errors.Is(err, ErrNewerState) && !errors.Is(err, ErrPlanMismatch) && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error kind: %v", err)
			}
			if len(r.changes) != 0 && !r.routing().Equal(CurrentRouting(newRouter())) {
				t.Fatalf("refused, yet routing changed to %v", r.routing())
			}
			return
		}
		st := c.Status()
		if c.Plan().Index(st.Step.Name) < 0 {
			t.Fatalf("restored onto step %q, not in the plan", st.Step.Name)
		}
		_, _ = c.Step(context.Background())
	})
}
