package fleet

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/bumba/pooling/migrate"
)

// SchemaVersion is the version of every record this package writes. A
// record with a higher version is refused with ErrNewerRecord; one that is
// not a record (not JSON, no version) with ErrCorruptRecord. Neither is
// ever overwritten by a reader: an operator can look at it.
const SchemaVersion = 1

// Key layout under the rollout's prefix P (Config.Prefix):
//
//	P/routing                the fleet's routing (RoutingRecord)
//	P/sections/<name>        migrate.Store sections: "rollout", "rollbacks"
//	P/rollbacks/<id>         rollbacks raised by any replica (RollbackRecord)
//	P/members/<replica>      each replica's counters, under its lease (MemberRecord)
//	P/election/...           the leader election (etcd concurrency.Election)
const (
	keyRouting   = "routing"
	keySections  = "sections/"
	keyRollbacks = "rollbacks/"
	keyMembers   = "members/"
	keyElection  = "election"
)

// RoutingRecord is the fleet's routing: what every replica applies to its
// own bridge.
type RoutingRecord struct {
	Schema  int             `json:"schema"`
	Routing migrate.Routing `json:"routing"`
	// By is the replica that wrote it, Reason why ("step hybrid-50",
	// "rollback <id>").
	By     string    `json:"by"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	// Rollback is the rollback's ID when the change is a rollback.
	Rollback string `json:"rollback,omitempty"`
}

// RollbackRecord is a rollback raised by a replica: its bridge's automatic
// fallback, an operator's rollback through it, or a local fallback done
// while it was cut off from etcd (Partitioned), published on reconnect.
type RollbackRecord struct {
	Schema int    `json:"schema"`
	ID     string `json:"id"`
	// Replica raised it; Trigger says how ("bridge_fallback", "local",
	// "manual"), Reason why.
	Replica string    `json:"replica"`
	Trigger string    `json:"trigger"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
	// Before and After are the replica's routing before and after.
	Before migrate.Routing `json:"before"`
	After  migrate.Routing `json:"after"`
	// Partitioned: the replica fell back while cut off from etcd and
	// published the record when it reconnected (PublishedAt).
	Partitioned bool      `json:"partitioned"`
	PublishedAt time.Time `json:"publishedAt"`
}

func (r RollbackRecord) info() migrate.RollbackInfo {
	return migrate.RollbackInfo{ID: r.ID, At: r.At, Reason: r.Reason, Trigger: r.Trigger}
}

// Counters are a replica's cumulative counters since Epoch, as it
// publishes them. Latencies are sums in milliseconds.
type Counters struct {
	Epoch                time.Time `json:"epoch"`
	IntelligentCalls     uint64    `json:"intelligentCalls"`
	IntelligentErrors    uint64    `json:"intelligentErrors"`
	IntelligentLatencyMs float64   `json:"intelligentLatencyMs"`
	LegacyCalls          uint64    `json:"legacyCalls"`
	LegacyErrors         uint64    `json:"legacyErrors"`
	LegacyLatencyMs      float64   `json:"legacyLatencyMs"`
	ServedRequests       uint64    `json:"servedRequests"`
	ServedErrors         uint64    `json:"servedErrors"`
	Compared             uint64    `json:"compared"`
	Matched              uint64    `json:"matched"`
	// HasPool: the replica has a pool, and the Pool fields count.
	HasPool              bool    `json:"hasPool"`
	PoolTasks            uint64  `json:"poolTasks"`
	PoolWarmHits         uint64  `json:"poolWarmHits"`
	PoolMemoryEfficiency float64 `json:"poolMemoryEfficiency"`
	PoolSpecialists      int     `json:"poolSpecialists"`
}

// MemberRecord is what a replica publishes under its lease every
// interval: its counters, the routing it applies, whether it is leader,
// and the local fallbacks it did while cut off.
type MemberRecord struct {
	Schema      int             `json:"schema"`
	Replica     string          `json:"replica"`
	At          time.Time       `json:"at"`
	Routing     migrate.Routing `json:"routing"`
	Leader      bool            `json:"leader"`
	Partitioned bool            `json:"partitioned"`
	Counters    Counters        `json:"counters"`
}

// countersOf turns a migrate.Reading into Counters.
func countersOf(r migrate.Reading) Counters {
	c := Counters{
		Epoch:                r.Epoch,
		IntelligentCalls:     r.Intelligent.Calls,
		IntelligentErrors:    r.Intelligent.Errors,
		IntelligentLatencyMs: ms(r.Intelligent.Latency),
		LegacyCalls:          r.Legacy.Calls,
		LegacyErrors:         r.Legacy.Errors,
		LegacyLatencyMs:      ms(r.Legacy.Latency),
		ServedRequests:       r.Served.Requests,
		ServedErrors:         r.Served.Errors,
		Compared:             r.Compared,
		Matched:              r.Matched,
	}
	if p := r.Pool; p != nil {
		c.HasPool = true
		c.PoolTasks, c.PoolWarmHits = p.Tasks, p.WarmHits
		c.PoolMemoryEfficiency, c.PoolSpecialists = p.MemoryEfficiency, p.Specialists
	}
	return c
}

// reading turns Counters back into a migrate.Reading at at.
func (c Counters) reading(at time.Time) migrate.Reading {
	r := migrate.Reading{
		At: at, Epoch: c.Epoch,
		Intelligent: migrate.PathCounts{Calls: c.IntelligentCalls, Errors: c.IntelligentErrors, Latency: fromMs(c.IntelligentLatencyMs)},
		Legacy:      migrate.PathCounts{Calls: c.LegacyCalls, Errors: c.LegacyErrors, Latency: fromMs(c.LegacyLatencyMs)},
		Served:      migrate.Served{Requests: c.ServedRequests, Errors: c.ServedErrors},
		Compared:    c.Compared, Matched: c.Matched,
	}
	if c.HasPool {
		r.Pool = &migrate.PoolReading{Tasks: c.PoolTasks, WarmHits: c.PoolWarmHits,
			MemoryEfficiency: c.PoolMemoryEfficiency, Specialists: c.PoolSpecialists}
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fromMs(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// decode reads a record written by this package into v, refusing a newer
// schema (ErrNewerRecord) or a value that is not a record
// (ErrCorruptRecord); key names the record in the error.
func decode(key string, data []byte, v any) error {
	var h struct {
		Schema *int `json:"schema"`
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return fmt.Errorf("%w: key %q: %v", ErrCorruptRecord, key, err)
	}
	if h.Schema == nil || *h.Schema < 1 {
		return fmt.Errorf("%w: key %q: no positive \"schema\" field", ErrCorruptRecord, key)
	}
	if *h.Schema > SchemaVersion {
		return fmt.Errorf("%w: key %q: schema %d, this version reads up to %d", ErrNewerRecord, key, *h.Schema, SchemaVersion)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: key %q: %v", ErrCorruptRecord, key, err)
	}
	return nil
}
