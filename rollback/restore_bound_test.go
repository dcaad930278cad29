package rollback

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/migrate"
)

// Records restored from a store saved with a larger bound (or edited) are
// cut to WithMaxRecords, the newest kept, and the cut is logged.
func TestRestoreHonoursWithMaxRecords(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, full, WithMaxRecords(5))
	for i := 0; i < 5; i++ {
		require.NoError(t, migrate.Apply(f.router, full))
		_, err := f.mgr.Emergency(ctx, fmt.Sprintf("drill %d", i))
		require.NoError(t, err)
		f.after(2*time.Minute, nil)
	}
	require.Len(t, f.mgr.History(), 5)

	m := f.open(WithMaxRecords(2))
	h := m.History()
	require.Len(t, h, 2)
	require.Equal(t, "drill 3", h[0].Reason)
	require.Equal(t, "drill 4", h[1].Reason)
	require.Contains(t, f.logs.String(), "the oldest were dropped")
	require.Contains(t, f.logs.String(), "dropped=3")
}
