package lab

import (
	"fmt"

	"github.com/bumba/pooling/internal/trace"
)

// Restart is what a restart in the middle of a replay costs the pool: the
// same trace replayed whole, split in two with a restart restored from the
// pool's snapshot (pool.WithRestore), and split with a cold restart.
type Restart struct {
	Trace string `json:"trace"`
	// At is the request before which the pool restarts.
	At       int    `json:"at"`
	Whole    Result `json:"whole"`
	Restored Result `json:"restored"`
	Cold     Result `json:"cold"`
	// RestoredLoss and ColdLoss are the hits lost against the whole
	// replay, as a share of its hits (negative: more hits).
	RestoredLoss float64 `json:"restoredLoss"`
	ColdLoss     float64 `json:"coldLoss"`
}

// RestartLoss replays tr through the default pool at cfg.Capacity three
// times: whole, and restarted before its middle request, once from a
// snapshot and once cold. Replays are serial (cfg.Concurrency is ignored).
func RestartLoss(tr *trace.Trace, cfg Config) (Restart, error) {
	if cfg.Capacity == 0 {
		cfg.Capacity = 0.2
	}
	cfg.Concurrency = 0
	p, err := prepare(tr, cfg.Capacity)
	if err != nil {
		return Restart{}, err
	}
	out := Restart{Trace: tr.Name, At: len(p.ks) / 2}
	run := func(at int, cold bool) (Result, error) {
		setup := defaultSetup(p)
		setup.restartAt, setup.coldRestart = at, cold
		return runPool(p, cfg, "pool", setup)
	}
	if out.Whole, err = run(0, false); err != nil {
		return Restart{}, fmt.Errorf("lab: whole replay: %w", err)
	}
	if out.Restored, err = run(out.At, false); err != nil {
		return Restart{}, fmt.Errorf("lab: restored replay: %w", err)
	}
	if out.Cold, err = run(out.At, true); err != nil {
		return Restart{}, fmt.Errorf("lab: cold replay: %w", err)
	}
	if h := out.Whole.Hits; h > 0 {
		out.RestoredLoss = float64(h-out.Restored.Hits) / float64(h)
		out.ColdLoss = float64(h-out.Cold.Hits) / float64(h)
	}
	return out, nil
}
