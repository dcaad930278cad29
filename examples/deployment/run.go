package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/bumba/pooling/migrate"
)

// usageError is a bad invocation (exit 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// run is the command: it parses args, deploys, prints the report and
// returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWith(ctx, args, stdout, stderr, nil)
}

// runWith is run with a hook to adjust the configuration (tests shorten
// the plan).
func runWith(ctx context.Context, args []string, stdout, stderr io.Writer, adjust func(*config)) int {
	cfg, opts, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usageText())
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "deployment:", strings.ReplaceAll(err.Error(), "\n", " "))
		return 2
	}
	if adjust != nil {
		adjust(&cfg)
	}
	// Progress goes to stdout, unless stdout carries the JSON.
	progressTo := stdout
	if opts.json {
		progressTo = stderr
	}
	if !opts.quiet {
		cfg.Progress = newProgress(progressTo)
	}
	rep, err := deploy(ctx, cfg)
	cfg.Progress.done()
	if err != nil {
		fmt.Fprintln(stderr, "deployment:", err)
		return 1
	}
	if opts.json {
		if err := writeJSON(stdout, rep); err != nil {
			fmt.Fprintln(stderr, "deployment:", err)
			return 1
		}
	} else if err := rep.WriteText(stdout); err != nil {
		fmt.Fprintln(stderr, "deployment:", err)
		return 1
	}
	if opts.out != "" {
		f, err := os.Create(opts.out)
		if err == nil {
			err = writeJSON(f, rep)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintln(stderr, "deployment:", err)
			return 1
		}
	}
	if cfg.Fault != FaultNone {
		if rep.Fault != nil && rep.Fault.Handled {
			return 0
		}
		return 1
	}
	if rep.Outcome != "completed" {
		return 1
	}
	return 0
}

const usage = `usage: deployment [-json] [-out FILE] [-quiet] [-fault errors|latency|memory [-fault-phase STEP]]
                  [-seed N] [-state NEWFILE] [-task-latency D]

Runs the simulated BUMBA rollout (migrate.DefaultPlan) on a fast-forwarded
clock starting at %s, and prints the deployment report.
-fault injects a fault from the step
-fault-phase (default hybrid-50; a phase name such as "hybrid" is its first
step) on and shows the automatic rollback.
Exit status: 0 completed or fault handled, 1 otherwise, 2 bad flags.

Flags:
`

// usageText is the usage with every flag and its help.
func usageText() string {
	var b strings.Builder
	fmt.Fprintf(&b, usage, Epoch.Format("2006-01-02 15:04 MST"))
	fs, _, _, _ := newFlagSet()
	fs.SetOutput(&b)
	fs.PrintDefaults()
	return b.String()
}

type outputOptions struct {
	json  bool
	out   string
	quiet bool
}

// newFlagSet declares every flag on a fresh configuration.
func newFlagSet() (*flag.FlagSet, *config, *outputOptions, *string) {
	cfg := defaultConfig()
	o := &outputOptions{}
	fs := flag.NewFlagSet("deployment", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&o.json, "json", false, "print the report as JSON (progress then goes to stderr)")
	fs.StringVar(&o.out, "out", "", "also write the report as JSON to this `file`")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress display")
	fs.StringVar(&cfg.Fault, "fault", "", "inject a `fault`: errors, latency or memory")
	phase := fs.String("fault-phase", "", "the `step` (or phase: shadow, hybrid, full …) the fault starts in (default hybrid-50)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "workload `seed`")
	fs.StringVar(&cfg.StatePath, "state", "", "keep the rollout and rollback state in this new `file` (default: in memory)")
	fs.DurationVar(&cfg.TaskLatency, "task-latency", cfg.TaskLatency, "simulated `time` one command takes on either system")
	return fs, &cfg, o, phase
}

func parseFlags(args []string) (config, outputOptions, error) {
	fs, cp, op, phase := newFlagSet()
	err := fs.Parse(args)
	cfg, o := *cp, *op
	if err != nil {
		return cfg, o, usageError{err}
	}
	if fs.NArg() > 0 {
		return cfg, o, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	switch cfg.Fault {
	case FaultNone, FaultErrors, FaultLatency, FaultMemory:
	default:
		return cfg, o, usageError{fmt.Errorf("-fault %q: want errors, latency or memory", cfg.Fault)}
	}
	if *phase != "" {
		if cfg.Fault == FaultNone {
			return cfg, o, usageError{errors.New("-fault-phase needs -fault")}
		}
		step, ok := faultStep(cfg.Plan, *phase)
		if !ok {
			return cfg, o, usageError{fmt.Errorf("-fault-phase %q: want one of %s, or a phase (%s)", *phase, stepNames(cfg.Plan), phaseNames(cfg.Plan))}
		}
		cfg.FaultPhase = step
	}
	if cfg.StatePath != "" {
		// The simulation always starts from scratch: a saved rollout from
		// another run would resume on a different workload and clock.
		if _, err := os.Stat(cfg.StatePath); err == nil {
			return cfg, o, usageError{fmt.Errorf("-state %s: the file exists; give a new path", cfg.StatePath)}
		}
	}
	if cfg.TaskLatency <= 0 || cfg.TaskLatency > time.Minute {
		return cfg, o, usageError{fmt.Errorf("-task-latency %v: want (0, 1m]", cfg.TaskLatency)}
	}
	return cfg, o, nil
}

// faultStep is the step -fault-phase names: a step, or the first step of a
// phase (the seed's "hybrid" is hybrid-25).
func faultStep(p migrate.Plan, name string) (string, bool) {
	if p.Index(name) >= 0 {
		return name, true
	}
	for _, s := range p.Steps {
		if strings.EqualFold(string(s.Phase), name) {
			return s.Name, true
		}
	}
	return "", false
}

func phaseNames(p migrate.Plan) string {
	var names []string
	for _, s := range p.Steps {
		if n := string(s.Phase); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

func stepNames(p migrate.Plan) string {
	names := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

func writeJSON(w io.Writer, rep Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
