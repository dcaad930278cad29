package rollback

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/migrate"
)

// FuzzRecordsSection: whatever the rollbacks section holds, New restores
// at most WithMaxRecords records or refuses with migrate.ErrCorruptState
// or migrate.ErrNewerState; it never panics.
func FuzzRecordsSection(f *testing.F) {
	clk := clock.NewMock()
	store := migrate.NewMemoryStore()
	m, err := New(newRouter(full), newMetrics(clk), WithClock(clk), WithStore(store))
	if err != nil {
		f.Fatal(err)
	}
	if _, err := m.Emergency(context.Background(), "seed"); err != nil {
		f.Fatal(err)
	}
	real, _ := store.Load(context.Background(), SectionRollbacks)
	f.Add(real)
	f.Add([]byte(`{"version":1,"records":[{"id":"a","status":"in_progress","stages":[]}]}`))
	f.Add([]byte(`{"version":1,"records":[{"id":"a","status":"in_progress","stages":[{"routing":{"mode":"warp"}}]}]}`))
	f.Add([]byte(`{"version":1,"records":[{"id":"a","status":"completed"},{"id":"b","status":"interrupted"},{"id":"c","status":"completed"}]}`))
	f.Add([]byte(`{"version":9}`))
	f.Add([]byte(`{"version":1,"records":null,"seq":-1}`))
	f.Fuzz(func(t *testing.T, section []byte) {
		if !json.Valid(section) {
			return
		}
		store := migrate.NewMemoryStore()
		if err := store.Save(context.Background(), SectionRollbacks, section); err != nil {
			t.Fatal(err)
		}
		m, err := New(newRouter(full), newMetrics(clk), WithClock(clk), WithStore(store), WithMaxRecords(2))
		if err != nil {
			if !errors.Is(err, migrate.ErrCorruptState) && !errors.Is(err, migrate.ErrNewerState) {
				t.Fatalf("error kind: %v", err)
			}
			return
		}
		if n := len(m.History()); n > 2 {
			t.Fatalf("%d records restored, WithMaxRecords(2)", n)
		}
		_, _ = m.Check(context.Background())
	})
}
