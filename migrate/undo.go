package migrate

import (
	"errors"
	"fmt"
	"time"
)

// A failed save changes nothing: the controller takes back the decision —
// its state, history, pending notifications, the routing it applied and
// the tuning it changed — so that an error from Step or a manual action
// means the rollout, the router and the tuner are as before the call, and
// a restart finds the state the running process has.

// saveError is an error from the Store; Step and the manual actions undo
// the decision when they get one.
type saveError struct{ err error }

func (e *saveError) Error() string { return "migrate: save state: " + e.err.Error() }
func (e *saveError) Unwrap() error { return e.err }

func isSaveError(err error) bool {
	var se *saveError
	return errors.As(err, &se)
}

// checkpoint is what undo restores; c.mu is held from mark to undo.
type checkpoint struct {
	st       persisted // a shallow copy: the slices are only appended to or replaced
	idx      int
	lastEval time.Time
	pending  int
	routing  Routing
	tuned    int
}

func (c *Controller) mark() checkpoint {
	return checkpoint{
		st: c.st, idx: c.idx, lastEval: c.lastEval, pending: len(c.pending),
		routing: CurrentRouting(c.router), tuned: c.tuned,
	}
}

// undo takes back everything since u after the save failed with err, and
// returns the decision describing the state as it is again.
func (c *Controller) undo(u checkpoint, err error) (Decision, error) {
	if n := c.tuned - u.tuned; n > 0 && c.cfg.tuner != nil {
		ts := c.st.Tunings
		for i := len(ts) - 1; i >= 0 && i >= len(ts)-n; i-- {
			if ts[i].Err != "" {
				continue
			}
			var serr error
			switch ts[i].Setting {
			case SettingWarmThreshold:
				serr = c.cfg.tuner.SetWarmThreshold(ts[i].Before)
			case SettingMaxWarm:
				serr = c.cfg.tuner.SetMaxWarm(int(ts[i].Before))
			}
			if serr != nil {
				c.log.Error("migrate: ERROR could not undo a tuning change after a failed save", "setting", ts[i].Setting, "before", ts[i].Before, "error", serr)
			}
		}
	}
	c.st, c.idx, c.lastEval, c.tuned = u.st, u.idx, u.lastEval, u.tuned
	c.pending = c.pending[:u.pending]
	err = c.restoreRouting(u.routing, err)
	now := c.clk.Now()
	d := c.view(now, ActionHold, "the state could not be saved; nothing changed: "+err.Error())
	return d, err
}

// restoreRouting puts the router back at r if it is elsewhere, after err;
// it returns err saying what it did.
func (c *Controller) restoreRouting(r Routing, err error) error {
	cur := CurrentRouting(c.router)
	if cur.Equal(r) {
		return err
	}
	if aerr := Apply(c.router, r); aerr != nil {
		c.log.Error("migrate: ERROR could not put the routing back", "routing", r.String(), "found", cur.String(), "error", aerr)
		return fmt.Errorf("%w; the routing could not be put back to %s (it is at %s): %w", err, r, CurrentRouting(c.router), aerr)
	}
	c.log.Warn("migrate: routing put back after an error", "routing", r.String(), "error", err)
	return fmt.Errorf("%w; the routing was put back to %s", err, r)
}
