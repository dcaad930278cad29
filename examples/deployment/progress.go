package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/pool"
)

// progress shows the rollout as it goes: on a terminal a progress bar
// (schollz/progressbar) redrawn in place, plus a line per event; elsewhere
// plain lines only (a step change, every 10 simulated minutes, and each
// event). A nil *progress shows nothing.
type progress struct {
	w   io.Writer
	bar *progressbar.ProgressBar // nil unless w is a terminal
}

// barSteps is the bar's resolution: the plan's share done, in ‰.
const barSteps = 1000

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if isTerminal(w) {
		p.bar = progressbar.NewOptions(barSteps,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(20),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func status(now time.Duration, st migrate.Status, ps pool.Stats) string {
	state := ""
	if st.State != migrate.StateRunning {
		state = "  " + strings.ToUpper(strings.ReplaceAll(string(st.State), "_", " "))
	}
	return fmt.Sprintf("[%s] %-13s %3.0f%%  hit %5.1f%%  memory %5.1f/%.1f MB%s",
		clockText(now), st.Step.Name, st.Routing.Share(), 100*ps.WarmHitRate,
		float64(ps.MemoryCurrent)/mb, float64(ps.MemoryBaseline)/mb, state)
}

func (p *progress) clear() {
	if p.bar != nil {
		_ = p.bar.Clear()
	}
}

// line prints a status line (and redraws the bar on a terminal).
func (p *progress) line(now time.Duration, st migrate.Status, ps pool.Stats, done float64) {
	if p == nil {
		return
	}
	p.clear()
	fmt.Fprintln(p.w, status(now, st, ps))
	p.redraw(now, st, ps, done)
}

// redraw updates the bar on a terminal; plain output shows nothing.
func (p *progress) redraw(now time.Duration, st migrate.Status, ps pool.Stats, done float64) {
	if p == nil || p.bar == nil {
		return
	}
	p.bar.Describe(status(now, st, ps))
	_ = p.bar.Set(min(barSteps, max(0, int(done*barSteps+0.5))))
}

// event prints one line about something that happened.
func (p *progress) event(now time.Duration, msg string) {
	if p == nil {
		return
	}
	p.clear()
	fmt.Fprintf(p.w, "[%s] %s\n", clockText(now), msg)
}

// done clears the bar.
func (p *progress) done() {
	if p == nil || p.bar == nil {
		return
	}
	_ = p.bar.Finish()
}
