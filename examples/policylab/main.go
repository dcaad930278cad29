// Command policylab replays a workload trace through the pool and the
// classic warm-set policies and prints what each achieved.
//
//	go run ./examples/policylab -format keys
//	go run ./examples/policylab -trace DIR_OR_FILE [-format auto] [-warm 5,10,20,30,50] [-plot FILE.svg]
//
// Run with -h for every flag. Without -trace the project's embedded copy
// of the format's trace is used. Progress and timings go to stderr; bad
// flags, missing files and malformed traces end with a one-line error and
// exit code 2.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bumba/pooling/internal/catalog"
	"github.com/bumba/pooling/internal/lab"
	"github.com/bumba/pooling/internal/trace"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is a bad invocation (exit 2).
type usageError struct{ error }

func run(args []string, stdout, stderr io.Writer) int {
	err := lab1(args, stdout, stderr)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "policylab:", strings.ReplaceAll(err.Error(), "\n", " "))
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, trace.ErrMalformed) || errors.Is(err, trace.ErrUnknownFormat) || errors.Is(err, os.ErrNotExist) {
		return 2
	}
	return 1
}

const usageHead = `policylab replays a workload trace through the pool and the classic
warm-set policies, measured alike, and prints a table (or JSON).

Usage:
  policylab -format NAME              the embedded copy of a trace (azure2019, azure2021, keys, bumba)
  policylab -trace FILE|DIR [flags]   a trace on disk; its format is detected unless -format says
  policylab -format synthetic         a generated Azure-style day (1 000 functions, ~12 M invocations)

Formats: azure2019 (a directory or its invocations file: invocations.csv,
N_inv.csv or invocations_per_function_md.anon.dNN.csv, with the durations
and memory files beside it when present), azure2021 (per-invocation CSV),
keys (one decimal key per line), arc ("start count ignored request" lines),
csv (timestamp in seconds, key), bumba (the simulated workload), synthetic.

Flags:
`

// flags are the parsed command line.
type flags struct {
	format, path, plot, policies string
	warm                         []float64
	asJSON, timings              bool
	seed                         uint64
	startGaps                    float64
	concurrency                  int
	tick                         time.Duration
	maxRequests, maxPerMinute    int
	synFunctions, synTasks       int
}

func parseFlags(args []string, stdout io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("policylab", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.format, "format", "", "trace format: auto (detect; the default with -trace), "+strings.Join(trace.Formats(), ", "))
	fs.StringVar(&f.path, "trace", "", "trace file or directory; default: the embedded copy of -format's trace")
	warm := fs.String("warm", "0.2", "warm capacity: a share of the trace's specialists in (0, 1], or a percentage (5%, or a number above 1: 20 = 20 %); a comma-separated list sweeps them into one table and one plot")
	fs.BoolVar(&f.asJSON, "json", false, "print JSON (camelCase keys, shares 0–1, durations in ms) instead of a table")
	fs.BoolVar(&f.timings, "timings", false, "report the wall time each replay took (the table's \"wall s\" column, the JSON's elapsedMs); without it they are left out (0 in JSON), so that a report depends only on its inputs")
	fs.StringVar(&f.plot, "plot", "", "write cold starts against wasted warm memory-time to this SVG file (one line per policy when sweeping)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed for what the trace leaves open (Azure 2019 order inside minutes, bumba, synthetic)")
	fs.StringVar(&f.policies, "policies", "", "comma-separated policies (default: all): "+strings.Join(lab.Policies(), ", "))
	fs.Float64Var(&f.startGaps, "start-gaps", 1, "traces without timestamps (keys, arc): a cold start lasts this many access gaps")
	fs.IntVar(&f.concurrency, "concurrency", 1, "feed the rows that run through the real pool (pool, always-warm, keepalive-*) from N goroutines; reports the predictor's drop share")
	fs.DurationVar(&f.tick, "tick", time.Second, "with -concurrency: the requests of one tick of virtual time run together")
	fs.IntVar(&f.maxRequests, "max-requests", trace.DefaultMaxRequests, "refuse a trace of more requests than this")
	fs.IntVar(&f.maxPerMinute, "max-per-minute", trace.DefaultMaxPerMinute, "azure2019: refuse a count above this for one function in one minute")
	fs.IntVar(&f.synFunctions, "synthetic-functions", 1000, "synthetic: number of functions")
	fs.IntVar(&f.synTasks, "synthetic-tasks", 12_000_000, "synthetic: approximate number of invocations")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usageHead)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil, flag.ErrHelp
		}
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	var err error
	if f.warm, err = parseWarm(*warm); err != nil {
		return nil, usageError{err}
	}
	switch {
	case f.format == "" && f.path == "":
		return nil, usageError{fmt.Errorf("-format or -trace is required (formats: %s)", strings.Join(trace.Formats(), ", "))}
	case f.format == "":
		f.format = "auto"
	case f.format != "auto" && !slices.Contains(trace.Formats(), f.format):
		return nil, usageError{fmt.Errorf("-format %q: want auto or one of %s", f.format, strings.Join(trace.Formats(), ", "))}
	case f.path == "" && f.format != "bumba" && f.format != "synthetic" && !slices.Contains(trace.EmbeddedNames(), f.format):
		return nil, usageError{fmt.Errorf("-format %s has no embedded copy: give -trace", f.format)}
	}
	switch {
	case f.startGaps <= 0:
		return nil, usageError{fmt.Errorf("-start-gaps %v: want a number of access gaps > 0", f.startGaps)}
	case f.concurrency < 1:
		return nil, usageError{fmt.Errorf("-concurrency %d: want 1 or more goroutines", f.concurrency)}
	case f.tick <= 0:
		return nil, usageError{fmt.Errorf("-tick %v: want a duration > 0", f.tick)}
	case f.maxRequests < 1 || f.maxPerMinute < 1:
		return nil, usageError{errors.New("-max-requests and -max-per-minute: want 1 or more")}
	case f.synFunctions < 1 || f.synTasks < 0:
		return nil, usageError{errors.New("-synthetic-functions: want 1 or more; -synthetic-tasks: want 0 or more")}
	}
	if f.policies != "" {
		for _, n := range strings.Split(f.policies, ",") {
			if !slices.Contains(lab.Policies(), n) {
				return nil, usageError{fmt.Errorf("-policies: unknown policy %q (known: %s)", n, strings.Join(lab.Policies(), ", "))}
			}
		}
	}
	return f, nil
}

// parseWarm reads -warm: shares in (0, 1], or percentages ("5%", or a
// number above 1), comma-separated, kept in the order given.
func parseWarm(s string) ([]float64, error) {
	var out []float64
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		pct := strings.HasSuffix(item, "%")
		v, err := strconv.ParseFloat(strings.TrimSuffix(item, "%"), 64)
		if err != nil {
			return nil, fmt.Errorf("-warm %q: %q is not a number", s, item)
		}
		if pct || v > 1 {
			v /= 100
		}
		if !(v > 0 && v <= 1) {
			return nil, fmt.Errorf("-warm %q: %q: want a share in (0, 1] or a percentage in (0, 100]", s, item)
		}
		if slices.Contains(out, v) {
			return nil, fmt.Errorf("-warm %q: %q given twice", s, item)
		}
		out = append(out, v)
	}
	return out, nil
}

// untimed reports whether a format has no timestamps of its own.
func untimed(format string) bool { return format == "keys" || format == "arc" }

func load(f *flags, stderr io.Writer) (*trace.Trace, error) {
	opt := trace.Options{Seed: f.seed, MaxRequests: f.maxRequests, MaxPerMinute: f.maxPerMinute}
	format := f.format
	if format == "auto" {
		var err error
		if format, err = trace.Detect(f.path); err != nil {
			return nil, err
		}
	}
	if f.startGaps != 1 {
		if !untimed(format) {
			return nil, usageError{fmt.Errorf("-start-gaps applies to traces without timestamps (keys, arc), not %s", format)}
		}
	}
	if untimed(format) {
		opt.Spacing = time.Second
		opt.ColdStart = time.Duration(f.startGaps * float64(time.Second))
	}
	begin := time.Now()
	var tr *trace.Trace
	var err error
	switch {
	case format == "synthetic":
		tr, err = trace.Synthetic(trace.SyntheticOptions{Functions: f.synFunctions, Invocations: f.synTasks}, opt)
	case f.path == "" || format == "bumba":
		tr, err = trace.Embedded(format, opt)
	default:
		tr, err = trace.Open(format, f.path, opt)
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "policylab: %s: %d requests over %d specialists, read in %.2f s\n", tr.Name, tr.Len(), tr.Keys(), time.Since(begin).Seconds())
	return tr, nil
}

func lab1(args []string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	tr, err := load(f, stderr)
	if err != nil {
		return err
	}
	cfg := lab.Config{Progress: stderr, Concurrency: f.concurrency, Tick: f.tick}
	if tr.Name == "bumba" {
		cat, err := catalog.Load()
		if err != nil {
			return err
		}
		for _, w := range cat.Workflows {
			cfg.Workflows = append(cfg.Workflows, w.Steps)
		}
	}
	var names []string
	if f.policies != "" {
		names = strings.Split(f.policies, ",")
	}
	sweep, err := lab.Sweep(tr, cfg, f.warm, names...)
	if err == nil && !f.timings {
		for _, rs := range sweep {
			for i := range rs {
				rs[i].ElapsedMs = 0
			}
		}
	}
	if err != nil {
		return err
	}
	if f.plot != "" {
		if len(sweep) == 1 {
			err = plotTradeoff(f.plot, tr.Name, sweep[0])
		} else {
			err = plotSweep(f.plot, tr.Name, sweep)
		}
		if err != nil {
			return err
		}
	}
	if f.asJSON {
		all := []lab.Result{}
		for _, rs := range sweep {
			all = append(all, rs...)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(all)
	}
	if len(sweep) == 1 {
		return table(stdout, tr, f, sweep[0])
	}
	return sweepTable(stdout, tr, f, sweep)
}

func header(w io.Writer, tr *trace.Trace, f *flags, warm string) {
	fmt.Fprintf(w, "%s: %d requests, %d specialists, warm capacity %s", tr.Name, tr.Len(), tr.Keys(), warm)
	if f.startGaps != 1 {
		fmt.Fprintf(w, ", a start lasts %g access gaps", f.startGaps)
	}
	if f.concurrency > 1 {
		fmt.Fprintf(w, ", pool rows fed from %d goroutines (tick %v)", f.concurrency, f.tick)
	}
	fmt.Fprint(w, "\n\n")
}

func table(w io.Writer, tr *trace.Trace, f *flags, rs []lab.Result) error {
	header(w, tr, f, fmt.Sprintf("%g%% (%d)", 100*rs[0].WarmShare, rs[0].Capacity))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	wall := ""
	if f.timings {
		wall = "wall s\t"
	}
	fmt.Fprintln(tw, "policy\thit rate\tcold starts\tvs Belady\tpure misses\tvs Belady\tp75 cold %\tmemory eff.\twasted mem-time\tadded ms\tpred. acc.\tpre-warms in time\tpeak warm\tover cap\tpred. drops\t"+wall)
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%.2f%%\t%d\t%.2f×\t%d\t%.2f×\t%.1f\t%.1f%%\t%.1f\t%.1f\t%s\t%s\t%d\t%.0f%%\t%s\t",
			r.Policy, 100*r.HitRate, r.ColdStarts, r.ColdStartsVsOpt, r.PureMisses, r.PureMissesVsOpt,
			100*r.P75ColdStartShare, 100*r.MemoryEfficiency, r.WastedMemoryTimeNorm, r.AddedLatencyMs,
			pct(r.PredictionAccuracy), pct(r.PrewarmsInTime), r.PeakWarm, 100*r.OverCapacity,
			pct(r.PredictorDropShare))
		if f.timings {
			fmt.Fprintf(tw, "%.1f\t", r.ElapsedMs/1000)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func sweepTable(w io.Writer, tr *trace.Trace, f *flags, sweep [][]lab.Result) error {
	var shares []string
	for _, rs := range sweep {
		shares = append(shares, fmt.Sprintf("%g%%", 100*rs[0].WarmShare))
	}
	header(w, tr, f, strings.Join(shares, ", "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\twarm\tcapacity\tcold starts\tvs Belady\tpure misses\tvs Belady\twasted mem-time\tpeak warm\tover cap\t")
	for i := range sweep[0] {
		for _, rs := range sweep {
			r := rs[i]
			fmt.Fprintf(tw, "%s\t%g%%\t%d\t%d\t%.2f×\t%d\t%.2f×\t%.1f\t%d\t%.0f%%\t\n",
				r.Policy, 100*r.WarmShare, r.Capacity, r.ColdStarts, r.ColdStartsVsOpt, r.PureMisses, r.PureMissesVsOpt,
				r.WastedMemoryTimeNorm, r.PeakWarm, 100*r.OverCapacity)
		}
	}
	return tw.Flush()
}

func pct(p *float64) string {
	if p == nil {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100**p)
}
