package admin

import (
	"context"
	"time"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/monitor"
	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/rollback"
)

// Pool is what the admin API reads from the pool; *pool.Pool satisfies it.
type Pool interface {
	Stats() pool.Stats
	Specialists() []pool.SpecialistInfo
}

// Bridge is what the admin API reads and sets on the bridge; *bridge.Bridge
// satisfies it. If it also has AddObserver (as *bridge.Bridge does), the event
// stream carries its transitions.
type Bridge interface {
	Mode() bridge.Mode
	Percentage() float64
	SetMode(bridge.Mode) error
	SetPercentage(float64) error
	Stats() bridge.Stats
}

// BridgeObservable is the optional part of a Bridge that feeds the event
// stream's transitions.
type BridgeObservable interface {
	AddObserver(bridge.Observer) (remove func(), err error)
}

// Rollout is the migrate controller as the admin API drives it;
// *migrate.Controller satisfies it.
type Rollout interface {
	Status() migrate.Status
	History() []migrate.Decision
	Plan() migrate.Plan
	Advance(ctx context.Context, reason string) (migrate.Decision, error)
	Hold(ctx context.Context, reason string) (migrate.Decision, error)
	Resume(ctx context.Context, reason string) (migrate.Decision, error)
	SetStep(ctx context.Context, name, reason string) (migrate.Decision, error)
}

// Rollbacks is the rollback manager as the admin API drives it;
// *rollback.Manager satisfies it.
type Rollbacks interface {
	History() []rollback.Record
	Get(id string) (rollback.Record, error)
	Analyze(id string) (rollback.Analysis, error)
	Emergency(ctx context.Context, reason string) (rollback.Record, error)
	Planned(ctx context.Context, reason string) (rollback.Record, error)
	Latest() migrate.RollbackInfo
	Triggers() []rollback.TriggerStatus
}

// Monitor is what the admin API reads from the monitor; *monitor.Monitor
// satisfies it. If it also has AddListener (as *monitor.Monitor does), the
// event stream carries alerts as they fire and resolve.
type Monitor interface {
	Health() monitor.Health
	Alerts() []monitor.Alert
	AlertHistory() []monitor.Alert
	Report(period time.Duration) monitor.Report
	Query(metric monitor.Metric, from, to time.Time) (monitor.Summary, error)
	Latest() (monitor.Sample, bool)
}

// AlertSource is the optional part of a Monitor that feeds the event stream's
// alerts.
type AlertSource interface {
	AddListener(f func(monitor.Alert)) (remove func())
}

// FleetStatus is a replica's view of its fleet (a fleet package implements
// it): its own name, whether it is cut off from the shared state, and who
// leads (empty when unknown).
type FleetStatus interface {
	Replica() string
	Partitioned() bool
	Leader() string
}

// Compile-time checks that the module's types satisfy the interfaces.
var (
	_ Pool             = (*pool.Pool)(nil)
	_ Bridge           = (*bridge.Bridge)(nil)
	_ BridgeObservable = (*bridge.Bridge)(nil)
	_ Rollout          = (*migrate.Controller)(nil)
	_ Rollbacks        = (*rollback.Manager)(nil)
	_ Monitor          = (*monitor.Monitor)(nil)
	_ AlertSource      = (*monitor.Monitor)(nil)
)
