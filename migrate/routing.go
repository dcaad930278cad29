package migrate

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/bumba/pooling/bridge"
)

// Router is how migrate and rollback act on the bridge: *bridge.Bridge
// implements it. SetMode and SetPercentage change routing at once;
// Mode and Percentage report it.
type Router interface {
	SetMode(bridge.Mode) error
	SetPercentage(float64) error
	Mode() bridge.Mode
	Percentage() float64
}

// Routing is a mode and a hybrid percentage.
type Routing struct {
	Mode       bridge.Mode `json:"mode"`
	Percentage float64     `json:"percentage"`
}

// routingJSON is Routing on disk: the zero Mode (unknown) is "".
type routingJSON struct {
	Mode       string  `json:"mode"`
	Percentage float64 `json:"percentage"`
}

// MarshalJSON writes {"mode":"hybrid","percentage":50}; an unknown (zero
// or invalid) mode is written as "".
func (r Routing) MarshalJSON() ([]byte, error) {
	j := routingJSON{Percentage: r.Percentage}
	if r.Mode.Valid() {
		j.Mode = r.Mode.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Routing) UnmarshalJSON(b []byte) error {
	var j routingJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Routing{Percentage: j.Percentage}
	if j.Mode == "" {
		return nil
	}
	m, err := bridge.ParseMode(j.Mode)
	if err != nil {
		return err
	}
	r.Mode = m
	return nil
}

// Legacy is the routing of a completed rollback: everything to legacy.
var Legacy = Routing{Mode: bridge.ModeFallback, Percentage: 0}

// Share is the percentage of commands the intelligent path serves:
// 100 in Full, the percentage in Hybrid, 0 in Shadow and Fallback.
func (r Routing) Share() float64 {
	switch r.Mode {
	case bridge.ModeFull:
		return 100
	case bridge.ModeHybrid:
		return r.Percentage
	}
	return 0
}

// Equal reports whether r and o route the same (percentages within the
// bridge's resolution of 0.01). In Full mode the percentage does not
// route anything, so any two Full routings are equal.
func (r Routing) Equal(o Routing) bool {
	if r.Mode == bridge.ModeFull && o.Mode == bridge.ModeFull {
		return true
	}
	return r.Mode == o.Mode && math.Abs(r.Percentage-o.Percentage) < 0.005
}

// String returns "hybrid 50%", "full", "shadow" or "fallback": only Hybrid
// mode says its percentage (a bridge set to Full serves everything from
// the pool whatever its percentage).
func (r Routing) String() string {
	if r.Mode == bridge.ModeHybrid {
		return fmt.Sprintf("%s %g%%", r.Mode, r.Percentage)
	}
	return r.Mode.String()
}

func (r Routing) validate() error {
	if !r.Mode.Valid() {
		return fmt.Errorf("mode %v: want shadow, hybrid, full or fallback", r.Mode)
	}
	if !(r.Percentage >= 0 && r.Percentage <= 100) {
		return fmt.Errorf("percentage %v: want [0, 100]", r.Percentage)
	}
	return nil
}

// CurrentRouting reads r's mode and percentage.
func CurrentRouting(r Router) Routing {
	return Routing{Mode: r.Mode(), Percentage: r.Percentage()}
}

// Apply switches r to to. Toward Hybrid it sets the percentage first and
// then the mode; otherwise the mode first: the path never serves the
// intelligent executor a larger share than one of the two ends does.
func Apply(r Router, to Routing) error {
	if to.Mode == bridge.ModeHybrid {
		if err := r.SetPercentage(to.Percentage); err != nil {
			return fmt.Errorf("migrate: set percentage %g: %w", to.Percentage, err)
		}
		if err := r.SetMode(to.Mode); err != nil {
			return fmt.Errorf("migrate: set mode %v: %w", to.Mode, err)
		}
		return nil
	}
	if err := r.SetMode(to.Mode); err != nil {
		return fmt.Errorf("migrate: set mode %v: %w", to.Mode, err)
	}
	if err := r.SetPercentage(to.Percentage); err != nil {
		return fmt.Errorf("migrate: set percentage %g: %w", to.Percentage, err)
	}
	return nil
}
