package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
)

// Store keeps migrate.Store sections in etcd under P/sections/<name>, and
// is the migrate.Router of the controller the leader runs: the routing the
// controller sets is staged and written with its next Save, in the same
// transaction. Every Save is a compare-and-swap on
//
//   - the section's revision as this store last read or wrote it,
//   - the fleet's routing revision as this store last saw it, and
//   - when fenced (the leader), the leader key's creation revision,
//
// so two writers never overwrite each other: the loser gets ErrConflict (or
// ErrNotLeader) and nothing is written. A store that got ErrConflict has
// refreshed what it knows; a controller on it must be rebuilt (New loads
// the section again), since its memory holds the write that lost.
//
// Store is safe for concurrent use.
type Store struct {
	cli     *clientv3.Client
	prefix  string
	replica string
	timeout time.Duration
	clk     clock.Clock

	mu        sync.Mutex
	revs      map[string]int64 // section -> mod revision last seen (0: absent)
	fenceKey  string
	fenceRev  int64
	fleet     migrate.Routing // the fleet's routing as last seen
	fleetRev  int64           // its mod revision (0: absent)
	local     migrate.Routing // what the controller set
	haveFleet bool
}

// NewStore returns a store on cli under prefix (ending in "/"), writing as
// replica. It reads the fleet's routing once. Most hosts use the Member's
// store; NewStore is for tools and tests.
func NewStore(ctx context.Context, cli *clientv3.Client, prefix, replica string, clk clock.Clock) (*Store, error) {
	if cli == nil || !strings.HasSuffix(prefix, "/") || replica == "" || clk == nil {
		return nil, fmt.Errorf("%w: NewStore(prefix %q, replica %q): want a client, a prefix ending in \"/\", a replica name and a clock", ErrInvalidConfig, prefix, replica)
	}
	s := &Store{cli: cli, prefix: prefix, replica: replica, timeout: DefaultRequestTimeout, clk: clk, revs: map[string]int64{}}
	if err := s.RefreshRouting(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) key(section string) string { return s.prefix + keySections + section }

func (s *Store) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

type sectionRecord struct {
	Schema int             `json:"schema"`
	By     string          `json:"by"`
	At     time.Time       `json:"at"`
	Data   json.RawMessage `json:"data"`
}

// Load implements migrate.Store.
func (s *Store) Load(ctx context.Context, section string) ([]byte, error) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(c, s.key(section))
	if err != nil {
		return nil, fmt.Errorf("fleet: load section %q: %w", section, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(resp.Kvs) == 0 {
		s.revs[section] = 0
		return nil, nil
	}
	kv := resp.Kvs[0]
	var rec sectionRecord
	if err := decode(string(kv.Key), kv.Value, &rec); err != nil {
		return nil, err
	}
	s.revs[section] = kv.ModRevision
	return bytes.Clone(rec.Data), nil
}

// Save implements migrate.Store as described on Store.
func (s *Store) Save(ctx context.Context, section string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !json.Valid(data) {
		return fmt.Errorf("fleet: save section %q: not valid JSON", section)
	}
	now := s.clk.Now()
	val, err := json.Marshal(sectionRecord{Schema: SchemaVersion, By: s.replica, At: now, Data: data})
	if err != nil {
		return fmt.Errorf("fleet: save section %q: %w", section, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key, rk := s.key(section), s.prefix+keyRouting
	cmps := []clientv3.Cmp{
		clientv3.Compare(clientv3.ModRevision(key), "=", s.revs[section]),
		clientv3.Compare(clientv3.ModRevision(rk), "=", s.fleetRev),
	}
	if s.fenceKey != "" {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(s.fenceKey), "=", s.fenceRev))
	}
	ops := []clientv3.Op{clientv3.OpPut(key, string(val))}
	publish := s.local.Mode.Valid() && (!s.haveFleet || !s.local.Equal(s.fleet))
	if publish {
		rec := RoutingRecord{Schema: SchemaVersion, Routing: s.local, By: s.replica, At: now, Reason: routingReason(section, data)}
		rv, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("fleet: save section %q: %w", section, err)
		}
		ops = append(ops, clientv3.OpPut(rk, string(rv)))
	}
	elseOps := []clientv3.Op{clientv3.OpGet(key), clientv3.OpGet(rk)}
	if s.fenceKey != "" {
		elseOps = append(elseOps, clientv3.OpGet(s.fenceKey))
	}
	c, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Txn(c).If(cmps...).Then(ops...).Else(elseOps...).Commit()
	if err != nil {
		return fmt.Errorf("fleet: save section %q: %w", section, err)
	}
	if resp.Succeeded {
		rev := resp.Header.Revision
		s.revs[section] = rev
		if publish {
			s.fleet, s.fleetRev, s.haveFleet = s.local, rev, true
		}
		return nil
	}
	// Lost: learn what is there now, and say why.
	var why []string
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		if kvs[0].ModRevision != s.revs[section] {
			why = append(why, fmt.Sprintf("section %q is at revision %d, this store had %d", section, kvs[0].ModRevision, s.revs[section]))
		}
		s.revs[section] = kvs[0].ModRevision
	} else if s.revs[section] != 0 {
		why = append(why, fmt.Sprintf("section %q was deleted", section))
		s.revs[section] = 0
	}
	if kvs := resp.Responses[1].GetResponseRange().Kvs; len(kvs) > 0 {
		if kvs[0].ModRevision != s.fleetRev {
			why = append(why, fmt.Sprintf("the routing is at revision %d, this store had %d", kvs[0].ModRevision, s.fleetRev))
		}
		var rec RoutingRecord
		if err := decode(string(kvs[0].Key), kvs[0].Value, &rec); err == nil {
			s.observeLocked(rec.Routing, kvs[0].ModRevision)
		}
	}
	if s.fenceKey != "" {
		kvs := resp.Responses[2].GetResponseRange().Kvs
		if len(kvs) == 0 || kvs[0].CreateRevision != s.fenceRev {
			return fmt.Errorf("%w: save section %q: the leader key %q is gone", ErrNotLeader, section, s.fenceKey)
		}
	}
	return fmt.Errorf("%w: save section %q: %s", ErrConflict, section, strings.Join(why, "; "))
}

// routingReason names the step a rollout section is at, for the routing
// record written with it.
func routingReason(section string, data []byte) string {
	var st struct {
		Step  string `json:"step"`
		State string `json:"state"`
	}
	if section == migrate.SectionRollout && json.Unmarshal(data, &st) == nil && st.Step != "" {
		return fmt.Sprintf("rollout step %q (%s)", st.Step, st.State)
	}
	return fmt.Sprintf("saved with section %q", section)
}

// fence makes every later Save conditional on key existing with creation
// revision rev (the leader's election key); an empty key removes it.
func (s *Store) fence(key string, rev int64) {
	s.mu.Lock()
	s.fenceKey, s.fenceRev = key, rev
	s.mu.Unlock()
}

// RefreshRouting reads the fleet's routing from etcd.
func (s *Store) RefreshRouting(ctx context.Context) error {
	c, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(c, s.prefix+keyRouting)
	if err != nil {
		return fmt.Errorf("fleet: read routing: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return nil
	}
	var rec RoutingRecord
	if err := decode(string(resp.Kvs[0].Key), resp.Kvs[0].Value, &rec); err != nil {
		return err
	}
	s.observe(rec.Routing, resp.Kvs[0].ModRevision)
	return nil
}

// observe takes a routing seen in etcd at revision rev, if newer than what
// the store knows; it replaces what the controller staged.
func (s *Store) observe(r migrate.Routing, rev int64) {
	s.mu.Lock()
	s.observeLocked(r, rev)
	s.mu.Unlock()
}

func (s *Store) observeLocked(r migrate.Routing, rev int64) {
	if rev <= s.fleetRev {
		return
	}
	s.fleet, s.local, s.fleetRev, s.haveFleet = r, r, rev, true
}

// unstage drops what a controller staged and not saved.
func (s *Store) unstage() {
	s.mu.Lock()
	s.local = s.fleet
	s.mu.Unlock()
}

// Routing returns the fleet's routing as last seen and its revision.
func (s *Store) Routing() (migrate.Routing, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fleet, s.fleetRev
}

// SetMode implements migrate.Router: it stages the mode for the next Save.
func (s *Store) SetMode(m bridge.Mode) error {
	if !m.Valid() {
		return fmt.Errorf("fleet: set mode %v: %w", m, bridge.ErrUnknownMode)
	}
	s.mu.Lock()
	s.local.Mode = m
	s.mu.Unlock()
	return nil
}

// SetPercentage implements migrate.Router: it stages the percentage.
func (s *Store) SetPercentage(p float64) error {
	if !(p >= 0 && p <= 100) {
		return fmt.Errorf("%w: SetPercentage(%v): want [0, 100]", ErrInvalidConfig, p)
	}
	s.mu.Lock()
	s.local.Percentage = p
	s.mu.Unlock()
	return nil
}

// Mode implements migrate.Router: the staged mode.
func (s *Store) Mode() bridge.Mode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.local.Mode
}

// Percentage implements migrate.Router: the staged percentage.
func (s *Store) Percentage() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.local.Percentage
}
