package fleet

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/benbjohnson/clock"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/bumba/pooling/internal/nilcheck"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/rollback"
)

// Errors; compare with errors.Is.
var (
	// ErrInvalidConfig wraps every error New returns for a bad Config or
	// Option, naming the setting and the value.
	ErrInvalidConfig = errors.New("fleet: invalid configuration")
	// ErrConflict is returned by Store.Save when the section or the
	// fleet's routing changed since this store last read it: another
	// writer got there first, and nothing was written.
	ErrConflict = errors.New("fleet: conflicting write")
	// ErrNotLeader is returned by a leader-only write (Store.Save while
	// fenced, Member.Step) when this replica does not hold the leadership.
	ErrNotLeader = errors.New("fleet: not the leader")
	// ErrCorruptRecord is returned for a value under the prefix that is not
	// a record of this package.
	ErrCorruptRecord = errors.New("fleet: unreadable record")
	// ErrNewerRecord is returned for a record written by a newer schema.
	ErrNewerRecord = errors.New("fleet: record has a newer schema")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("fleet: member closed")
)

// EnvEndpoints is the environment variable the examples read etcd's
// endpoints from (comma-separated).
const EnvEndpoints = "BUMBA_ETCD_ENDPOINTS"

// EndpointsFromEnv returns the endpoints in BUMBA_ETCD_ENDPOINTS, nil
// when it is unset or empty.
func EndpointsFromEnv() []string {
	var out []string
	for _, e := range strings.Split(os.Getenv(EnvEndpoints), ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// Defaults, in one place.
const (
	// DefaultPrefix is the key prefix of the rollout.
	DefaultPrefix = "/bumba/rollout/default/"
	// DefaultLeaseTTL is the lease of a replica's session: a replica that
	// stops renewing it (dead or cut off) loses the leadership and drops
	// out of the fleet's sums this long after its last renewal.
	DefaultLeaseTTL = 10 * time.Second
	// DefaultPublishInterval is how often a replica publishes its counters.
	DefaultPublishInterval = 5 * time.Second
	// DefaultStepInterval is how often the leader runs the controller.
	DefaultStepInterval = migrate.DefaultInterval
	// DefaultDialTimeout bounds connecting to etcd.
	DefaultDialTimeout = 5 * time.Second
	// DefaultRequestTimeout bounds one etcd request.
	DefaultRequestTimeout = 2 * time.Second
	// DefaultMaxRollbackRecords is how many rollback records the fleet
	// keeps (the newest; the leader deletes older ones).
	DefaultMaxRollbackRecords = 100
)

// Config is what a replica needs to join the fleet. Endpoints, TLS,
// Username and Password are passed to the etcd client unchanged.
type Config struct {
	// Endpoints of the etcd cluster ("host:port" or URLs). Required unless
	// WithClient is given.
	Endpoints []string
	// TLS, when set, is the client's TLS configuration.
	TLS *tls.Config
	// Username and Password, when set, authenticate to etcd.
	Username, Password string
	// DialTimeout bounds connecting. Default DefaultDialTimeout.
	DialTimeout time.Duration
	// Prefix is the rollout's key prefix; every key this package writes is
	// below it. Default DefaultPrefix. It must end with "/".
	Prefix string
	// Replica names this replica: unique in the fleet, no "/". Required.
	Replica string
	// LeaseTTL is the session lease, whole seconds, at least 1 s. Default
	// DefaultLeaseTTL.
	LeaseTTL time.Duration
}

// ClientConfig is the etcd client configuration c describes.
func (c Config) ClientConfig() clientv3.Config {
	dt := c.DialTimeout
	if dt == 0 {
		dt = DefaultDialTimeout
	}
	// The client's own retry warnings are not logged: the member logs
	// what failed, on its logger.
	return clientv3.Config{Endpoints: c.Endpoints, TLS: c.TLS, Username: c.Username, Password: c.Password, DialTimeout: dt,
		Logger: zap.NewNop()}
}

func (c *Config) validate(haveClient bool) error {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	switch {
	case len(c.Endpoints) == 0 && !haveClient:
		return fmt.Errorf("%w: Config.Endpoints is empty: want etcd endpoints (or WithClient)", ErrInvalidConfig)
	case strings.TrimSpace(c.Replica) == "" || strings.Contains(c.Replica, "/"):
		return fmt.Errorf("%w: Config.Replica %q: want a non-empty name without \"/\"", ErrInvalidConfig, c.Replica)
	case !strings.HasSuffix(c.Prefix, "/"):
		return fmt.Errorf("%w: Config.Prefix %q: want a prefix ending with \"/\"", ErrInvalidConfig, c.Prefix)
	case c.LeaseTTL < time.Second || c.LeaseTTL%time.Second != 0:
		return fmt.Errorf("%w: Config.LeaseTTL %v: want whole seconds, at least 1s", ErrInvalidConfig, c.LeaseTTL)
	case c.DialTimeout < 0:
		return fmt.Errorf("%w: Config.DialTimeout %v: want >= 0", ErrInvalidConfig, c.DialTimeout)
	}
	return nil
}

// options is what the Options set.
type options struct {
	clock           clock.Clock
	logger          *slog.Logger
	client          *clientv3.Client
	publishInterval time.Duration
	stepInterval    time.Duration
	requestTimeout  time.Duration
	maxRollbacks    int
	controller      []migrate.Option
	rollback        []rollback.Option
	useRollback     bool
	followers       []func(Follow)
}

func defaultOptions() options {
	return options{
		clock:           clock.New(),
		logger:          slog.New(slog.DiscardHandler),
		publishInterval: DefaultPublishInterval,
		stepInterval:    DefaultStepInterval,
		requestTimeout:  DefaultRequestTimeout,
		maxRollbacks:    DefaultMaxRollbackRecords,
	}
}

// An Option configures a Member.
type Option func(*options) error

func invalid(name string, v any, want string) error {
	return fmt.Errorf("%w: %s(%v): want %s", ErrInvalidConfig, name, v, want)
}

// WithClock sets the clock counters, soak and the publish and step
// intervals run on. Default: the real clock. (Leases and request timeouts
// are etcd's and always real time.)
func WithClock(c clock.Clock) Option {
	return func(o *options) error {
		if nilcheck.Is(c) {
			return invalid("WithClock", c, "a non-nil clock.Clock")
		}
		o.clock = c
		return nil
	}
}

// WithLogger sets the logger. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return invalid("WithLogger", l, "a non-nil *slog.Logger")
		}
		o.logger = l
		return nil
	}
}

// WithClient uses an existing etcd client instead of dialling
// Config.Endpoints. The member does not close it.
func WithClient(c *clientv3.Client) Option {
	return func(o *options) error {
		if c == nil {
			return invalid("WithClient", c, "a non-nil *clientv3.Client")
		}
		o.client = c
		return nil
	}
}

// WithPublishInterval sets how often the replica publishes its counters
// (and retries what it could not publish), at least 10 ms. Default 5 s.
func WithPublishInterval(d time.Duration) Option {
	return func(o *options) error {
		if d < 10*time.Millisecond {
			return invalid("WithPublishInterval", d, ">= 10ms")
		}
		o.publishInterval = d
		return nil
	}
}

// WithStepInterval sets how often the leader runs the controller's Step,
// at least 1 ms. Default 30 s.
func WithStepInterval(d time.Duration) Option {
	return func(o *options) error {
		if d < time.Millisecond {
			return invalid("WithStepInterval", d, ">= 1ms")
		}
		o.stepInterval = d
		return nil
	}
}

// WithRequestTimeout bounds one etcd request, at least 10 ms. Default 2 s.
func WithRequestTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 10*time.Millisecond {
			return invalid("WithRequestTimeout", d, ">= 10ms")
		}
		o.requestTimeout = d
		return nil
	}
}

// WithMaxRollbackRecords bounds the rollback records kept in etcd, in
// [1, 10000]. Default 100.
func WithMaxRollbackRecords(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 10000 {
			return invalid("WithMaxRollbackRecords", n, "[1, 10000]")
		}
		o.maxRollbacks = n
		return nil
	}
}

// WithController passes options to the migrate.Controller the leader runs
// (plan, logger, tuner, listeners…). The member sets the store, the
// router, the metrics, the guard and the clock itself; those options are
// overridden.
func WithController(opts ...migrate.Option) Option {
	return func(o *options) error {
		o.controller = append(o.controller, opts...)
		return nil
	}
}

// WithRollback makes the leader run a rollback.Manager on the fleet's
// summed metrics, so that the rollback triggers judge the whole fleet,
// with these options (triggers, minimum volume, health…). The member sets
// its store, router and clock. Without it the fleet rolls back only when
// a replica does (its bridge's automatic fallback, an operator).
func WithRollback(opts ...rollback.Option) Option {
	return func(o *options) error {
		o.useRollback = true
		o.rollback = append(o.rollback, opts...)
		return nil
	}
}

// WithFollowListener adds a function called each time the replica applied
// a new fleet routing to its bridge (on the member's goroutine, under
// recover; it must be fast).
func WithFollowListener(f func(Follow)) Option {
	return func(o *options) error {
		if f == nil {
			return invalid("WithFollowListener", "nil", "a non-nil func(Follow)")
		}
		o.followers = append(o.followers, f)
		return nil
	}
}
