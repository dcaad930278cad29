package vclock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSetMovesNowAndTickersNeverFire(t *testing.T) {
	origin := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(origin)
	tk := c.Ticker(time.Second)
	defer tk.Stop()
	assert.Equal(t, origin, c.Now().UTC())
	c.Set(origin.Add(time.Hour))
	assert.Equal(t, time.Hour, c.Since(origin))
	assert.Equal(t, -time.Hour, c.Until(origin))
	select {
	case <-tk.C:
		t.Fatal("a ticker fired on a clock set by hand")
	default:
	}
}
