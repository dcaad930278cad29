package migrate

import (
	"fmt"
	"math"
	"time"
)

// Tuner is what the optimisation phase tunes: the pool's warm threshold and
// warm cap. The pool implements it (WarmThreshold and MaxWarm exist; the
// setters must be safe while tasks run and return an error for a value
// outside the pool's allowed range).
type Tuner interface {
	WarmThreshold() float64
	SetWarmThreshold(float64) error
	MaxWarm() int
	SetMaxWarm(int) error
}

// Settings the optimiser changes.
const (
	SettingWarmThreshold = "warm_threshold"
	SettingMaxWarm       = "max_warm"
)

// TuningChange is one change the optimiser made (or tried to).
type TuningChange struct {
	At      time.Time `json:"at"`
	Step    string    `json:"step"`
	Setting string    `json:"setting"`
	Before  float64   `json:"before"`
	After   float64   `json:"after"`
	Reason  string    `json:"reason"`
	// Err is the setter's error; the setting then kept Before.
	Err string `json:"error,omitempty"`
}

// String renders "max_warm 17 → 18 (warm hit rate 62.0% below target 80%)".
func (t TuningChange) String() string {
	s := fmt.Sprintf("%s %g → %g (%s)", t.Setting, t.Before, t.After, t.Reason)
	if t.Err != "" {
		s += ": failed: " + t.Err
	}
	return s
}

// tune runs one optimisation round if one is due: c.mu is held. The rules
// are the seed's troubleshooting guide, inside the Tuning bounds:
//
//   - memory efficiency below TargetEfficiency: raise the warm threshold one
//     step and lower max warm one step, so idle specialists cool sooner and
//     fewer stay warm;
//   - otherwise, a warm hit rate below TargetHitRate over at least MinTasks
//     tasks, when one more warm slot per step (1/specialists of the
//     baseline each) still leaves memory efficiency at or above its target:
//     raise max warm and lower the threshold one step each.
func (c *Controller) tune(now time.Time, delta Window) {
	tn := c.cfg.tuner
	if tn == nil {
		return
	}
	t := c.cfg.tuning
	c.st.TuneWindow.Add(delta)
	if c.st.Soaked-c.st.TuneSoaked < t.Interval {
		return
	}
	c.st.TuneSoaked = c.st.Soaked
	w := c.st.TuneWindow
	c.st.TuneWindow = Window{}

	if c.st.TuneBase == 0 {
		c.st.TuneBase = tn.MaxWarm()
	}
	lo, hi := t.MaxWarmMin, t.MaxWarmMax
	if lo == 0 && hi == 0 {
		lo, hi = max(c.st.TuneBase-DefaultMaxWarmSpread, 1), c.st.TuneBase+DefaultMaxWarmSpread
	}
	specialists := 0
	if c.st.Prev != nil && c.st.Prev.Pool != nil {
		specialists = c.st.Prev.Pool.Specialists
	}
	if specialists > 0 {
		hi = min(hi, specialists)
		lo = min(lo, hi)
	}

	thr, mw := tn.WarmThreshold(), tn.MaxWarm()
	eff, effOK := w.Memory.Last, w.Memory.Samples > 0
	hit, hitOK := w.HitRate()
	hitOK = hitOK && w.Tasks >= t.MinTasks
	round := func(x float64) float64 { return math.Round(x*100) / 100 }
	switch {
	case effOK && eff < t.TargetEfficiency:
		reason := fmt.Sprintf("memory efficiency %.1f%% below target %.0f%%", 100*eff, 100*t.TargetEfficiency)
		c.change(now, SettingWarmThreshold, thr, round(min(thr+t.ThresholdStep, t.ThresholdMax)), reason,
			func(v float64) error { return tn.SetWarmThreshold(v) })
		c.change(now, SettingMaxWarm, float64(mw), float64(max(mw-t.MaxWarmStep, lo)), reason,
			func(v float64) error { return tn.SetMaxWarm(int(v)) })
	case hitOK && hit < t.TargetHitRate:
		if !effOK || specialists == 0 {
			c.log.Info("migrate: optimisation: hit rate low but memory unknown; nothing changed",
				"step", c.st.Step, "hit_rate", hit)
			return
		}
		after := eff - float64(t.MaxWarmStep)/float64(specialists)
		if after < t.TargetEfficiency {
			c.log.Info("migrate: optimisation: hit rate low but no memory to spare; nothing changed",
				"step", c.st.Step, "hit_rate", hit, "memory_efficiency", eff, "target", t.TargetEfficiency)
			return
		}
		reason := fmt.Sprintf("warm hit rate %.1f%% below target %.0f%% with memory efficiency %.1f%%", 100*hit, 100*t.TargetHitRate, 100*eff)
		c.change(now, SettingMaxWarm, float64(mw), float64(min(mw+t.MaxWarmStep, hi)), reason,
			func(v float64) error { return tn.SetMaxWarm(int(v)) })
		c.change(now, SettingWarmThreshold, thr, round(max(thr-t.ThresholdStep, t.ThresholdMin)), reason,
			func(v float64) error { return tn.SetWarmThreshold(v) })
	default:
		c.log.Info("migrate: optimisation: settings kept", "step", c.st.Step,
			"memory_efficiency", eff, "hit_rate", hit, "tasks", w.Tasks, "warm_threshold", thr, "max_warm", mw)
	}
}

// change applies one setting change and records it with before and after.
func (c *Controller) change(now time.Time, setting string, before, after float64, reason string, set func(float64) error) {
	if after == before {
		return
	}
	ch := TuningChange{At: now, Step: c.st.Step, Setting: setting, Before: before, After: after, Reason: reason}
	verb := "Increased"
	if after < before {
		verb = "Reduced"
	}
	if err := set(after); err != nil {
		ch.Err = err.Error()
		c.log.Warn("migrate: optimisation: could not change "+setting, "before", before, "after", after, "reason", reason, "error", err)
	} else {
		c.log.Info(fmt.Sprintf("migrate: optimisation: %s %s", verb, setting), "before", before, "after", after, "reason", reason)
	}
	c.st.Tunings = append(c.st.Tunings, ch)
	c.tuned++
	if n := len(c.st.Tunings) - c.cfg.historyLimit; n > 0 {
		c.st.Tunings = append([]TuningChange(nil), c.st.Tunings[n:]...)
	}
}
