package fleet

import (
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/bumba/pooling/migrate"
)

// fleetMetrics is the leader's migrate.Metrics: the sum over live replicas
// (those whose lease holds their member key) of what each published since
// this leader first saw it. A replica seen for the first time that
// started before this leader only sets its baseline, so a new leader does
// not count the fleet's history into the current step (one started since
// counts from its start); a replica whose key expired drops out, and its counts
// so far stay in the sum. The counters only grow from the leader's epoch.
// Memory efficiency is the mean over live replicas with a pool.
type fleetMetrics struct {
	m     *Member
	epoch time.Time

	mu    sync.Mutex
	prev  map[string]migrate.Reading // per replica, the last reading; bounded by the live replicas
	total migrate.Window
	live  int
}

func (f *fleetMetrics) Read() (migrate.Reading, error) {
	m := f.m
	c, cancel := context.WithTimeout(m.runCtx, m.opts.requestTimeout)
	defer cancel()
	resp, err := m.cli.Get(c, m.cfg.Prefix+keyMembers, clientv3.WithPrefix())
	if err != nil {
		m.setErr(err)
		return migrate.Reading{}, fmt.Errorf("fleet: read members: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := make(map[string]bool, len(resp.Kvs))
	var effSum float64
	var effN int
	for _, kv := range resp.Kvs {
		var rec MemberRecord
		if err := decode(string(kv.Key), kv.Value, &rec); err != nil {
			m.log.Error("fleet: ERROR member record", "error", err)
			continue
		}
		seen[rec.Replica] = true
		cur := rec.Counters.reading(rec.At)
		if p, ok := f.prev[rec.Replica]; ok {
			f.total.Add(migrate.Delta(p, cur))
		} else if !rec.Counters.Epoch.Before(f.epoch) {
			f.total.Add(migrate.Delta(migrate.Reading{}, cur)) // all of it happened under this leader
		}
		f.prev[rec.Replica] = cur
		if rec.Counters.HasPool {
			effSum += rec.Counters.PoolMemoryEfficiency
			effN++
		}
	}
	for name := range f.prev {
		if !seen[name] {
			delete(f.prev, name)
		}
	}
	f.live = len(seen)
	t := f.total
	r := migrate.Reading{
		At: m.clk.Now(), Epoch: f.epoch, Routing: migrate.CurrentRouting(m.store),
		Intelligent: t.Intelligent, Legacy: t.Legacy, Served: t.Served, Compared: t.Compared, Matched: t.Matched,
	}
	if effN > 0 {
		r.Pool = &migrate.PoolReading{MemoryEfficiency: effSum / float64(effN), Tasks: t.Tasks, WarmHits: t.WarmHits}
	}
	return r, nil
}

// Live returns how many replicas the last reading summed.
func (f *fleetMetrics) Live() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.live
}
