package bridge

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/bumba/pooling/pool"
)

// Options a Command may carry to steer the pool adapter.
const (
	// OptionSpecialist names the specialist to run the command.
	OptionSpecialist = "specialist"
	// OptionDepartment names the department (the pool's Balancer picks).
	OptionDepartment = "department"
	// OptionPriority is "high", "medium" or "low".
	OptionPriority = "priority"
)

// DefaultRoutes maps the standard BUMBA commands to the departments of the
// reference catalogue. A "bumba:" prefix on a command name is ignored.
func DefaultRoutes() map[string]string {
	return map[string]string{
		"implement": "FULLSTACK",
		"build":     "FULLSTACK",
		"api":       "BACKEND",
		"backend":   "BACKEND",
		"frontend":  "FRONTEND",
		"ui":        "FRONTEND",
		"mobile":    "MOBILE",
		"design":    "DESIGN",
		"architect": "ARCHITECTURE",
		"analyze":   "ANALYTICS",
		"data":      "DATA_ENGINEERING",
		"science":   "DATA_SCIENCE",
		"ml":        "ML_AI",
		"ai":        "ML_AI",
		"research":  "RESEARCH",
		"test":      "TESTING",
		"qa":        "QUALITY",
		"review":    "QUALITY",
		"secure":    "SECURITY",
		"audit":     "SECURITY",
		"deploy":    "DEVOPS",
		"infra":     "INFRASTRUCTURE",
		"cloud":     "CLOUD",
		"monitor":   "MONITORING",
		"optimize":  "PERFORMANCE",
	}
}

// Router turns a command into a pool task; ok false means no route (the
// bridge then serves the command from legacy).
type Router func(cmd Command) (t pool.Task, ok bool)

// PoolExecutor serves a *pool.Pool as an Executor: it routes each command
// to a specialist or department, runs it on the pool, and answers with the
// instance's output (Response.Specialist is who served it; Response.Detail
// is the pool.Result: who served it, whether it was warm, how long it
// waited).
//
// A command is routed by its OptionSpecialist or OptionDepartment option if
// present, else by its name through the routing table (DefaultRoutes unless
// WithRoutes replaces it). The task's Payload is the Command itself. A
// command with no route, or naming a specialist or department the pool does
// not have, returns an error wrapping ErrUnroutable, so that the bridge
// serves it from legacy and counts it, never refusing it.
type PoolExecutor struct {
	p      *pool.Pool
	route  Router
	routes map[string]string
	// explicitRoutes is set by WithRoutes: only a table the caller gave is
	// checked against the pool's departments.
	explicitRoutes bool
}

// PoolOption configures NewPoolExecutor.
type PoolOption interface {
	applyPool(*PoolExecutor) error
}

type poolOptionFunc func(*PoolExecutor) error

func (f poolOptionFunc) applyPool(e *PoolExecutor) error { return f(e) }

// WithRoutes replaces the routing table (command name → department). Every
// department it names must exist in the pool: NewPoolExecutor returns an
// error wrapping ErrInvalidConfig naming the first command (in name order)
// whose department the pool lacks. The DefaultRoutes used without
// WithRoutes are not checked: a default route to a department the pool does
// not have is simply unused (such a command is unroutable and the bridge
// serves it from legacy).
func WithRoutes(routes map[string]string) PoolOption {
	return poolOptionFunc(func(e *PoolExecutor) error {
		e.routes = maps.Clone(routes)
		e.explicitRoutes = true
		return nil
	})
}

// WithRouter replaces routing entirely.
func WithRouter(r Router) PoolOption {
	return poolOptionFunc(func(e *PoolExecutor) error {
		if r == nil {
			return fmt.Errorf("%w: WithRouter(nil): want a router", ErrInvalidConfig)
		}
		e.route = r
		return nil
	})
}

// NewPoolExecutor returns the adapter for p.
func NewPoolExecutor(p *pool.Pool, opts ...PoolOption) (*PoolExecutor, error) {
	if p == nil {
		return nil, fmt.Errorf("%w: pool", ErrNilExecutor)
	}
	e := &PoolExecutor{p: p, routes: DefaultRoutes()}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: pool option %d is nil", ErrInvalidConfig, i)
		}
		if err := o.applyPool(e); err != nil {
			return nil, err
		}
	}
	if e.route == nil {
		depts := p.Departments()
		for _, name := range slices.Sorted(maps.Keys(e.routes)) {
			d := e.routes[name]
			if slices.Contains(depts, d) {
				continue
			}
			if e.explicitRoutes {
				return nil, fmt.Errorf("%w: WithRoutes: command %q goes to department %q, which the pool does not have (it has %s)",
					ErrInvalidConfig, name, d, strings.Join(depts, ", "))
			}
			// A default route to a department this pool lacks: unused, so
			// the command is unroutable (served from legacy).
			delete(e.routes, name)
		}
		e.route = e.tableRoute
	}
	return e, nil
}

func (e *PoolExecutor) tableRoute(cmd Command) (pool.Task, bool) {
	t := pool.Task{Command: strings.TrimPrefix(cmd.Name, "bumba:")}
	if id, ok := cmd.Options[OptionSpecialist].(string); ok && id != "" {
		t.Specialist = id
	}
	if d, ok := cmd.Options[OptionDepartment].(string); ok && d != "" {
		t.Department = d
	}
	if p, ok := cmd.Options[OptionPriority].(string); ok {
		pr, err := pool.ParsePriority(p)
		if err != nil {
			return pool.Task{}, false
		}
		t.Priority = pr
	}
	if t.Specialist == "" && t.Department == "" {
		d, ok := e.routes[t.Command]
		if !ok {
			return pool.Task{}, false
		}
		t.Department = d
	}
	return t, true
}

// Execute implements Executor.
func (e *PoolExecutor) Execute(ctx context.Context, cmd Command) (Response, error) {
	t, ok := e.route(cmd)
	if !ok {
		return Response{}, fmt.Errorf("%w: %q", ErrUnroutable, cmd.Name)
	}
	t.Payload = cmd
	res, err := e.p.Execute(ctx, t)
	if err != nil {
		if errors.Is(err, pool.ErrUnknownSpecialist) || errors.Is(err, pool.ErrUnknownDepartment) || errors.Is(err, pool.ErrInvalidTask) {
			return Response{}, fmt.Errorf("%w: %w", ErrUnroutable, err)
		}
		return Response{}, err
	}
	return Response{Output: res.Output, Specialist: res.Specialist, Detail: res}, nil
}
