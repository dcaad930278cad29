// Command policylab replays a workload trace through the pool and the
// classic warm-set policies and prints what each achieved.
//
//	go run ./examples/policylab -format azure2019|azure2021|keys|bumba [-trace PATH] [-warm 0.2] [-json] [-plot FILE.svg]
//
// Without -trace the project's embedded copy of the trace is used. Progress
// goes to stderr; bad flags, missing files and malformed traces end with a
// one-line error and exit code 2.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

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
	if errors.As(err, &ue) || errors.Is(err, trace.ErrMalformed) || errors.Is(err, os.ErrNotExist) {
		return 2
	}
	return 1
}

func lab1(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policylab", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "", "trace format: azure2019, azure2021, keys or bumba")
	path := fs.String("trace", "", "trace path (a directory for azure2019); default: the embedded copy")
	warm := fs.Float64("warm", 0.2, "warm capacity as a share of the trace's specialists, (0, 1]")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	plotFile := fs.String("plot", "", "write the cold-start vs wasted-memory trade-off to this SVG file")
	seed := fs.Uint64("seed", 1, "seed for orderings the trace leaves open")
	policies := fs.String("policies", "", "comma-separated policies (default: all)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	switch *format {
	case "azure2019", "azure2021", "keys", "bumba":
	case "":
		return usageError{errors.New("-format is required: azure2019, azure2021, keys or bumba")}
	default:
		return usageError{fmt.Errorf("-format %q: want azure2019, azure2021, keys or bumba", *format)}
	}
	if *warm <= 0 || *warm > 1 {
		return usageError{fmt.Errorf("-warm %v: want a share in (0, 1]", *warm)}
	}
	var names []string
	if *policies != "" {
		names = strings.Split(*policies, ",")
		for _, n := range names {
			if !contains(lab.Policies(), n) {
				return usageError{fmt.Errorf("-policies: unknown policy %q (known: %s)", n, strings.Join(lab.Policies(), ", "))}
			}
		}
	}
	var tr *trace.Trace
	var err error
	if *path == "" || *format == "bumba" {
		tr, err = trace.Embedded(*format, trace.Options{Seed: *seed})
	} else {
		if _, statErr := os.Stat(*path); statErr != nil {
			return statErr
		}
		tr, err = trace.Open(*format, *path, trace.Options{Seed: *seed})
	}
	if err != nil {
		return err
	}
	cfg := lab.Config{Capacity: *warm, Progress: stderr}
	if *format == "bumba" {
		cat, err := catalog.Load()
		if err != nil {
			return err
		}
		for _, w := range cat.Workflows {
			cfg.Workflows = append(cfg.Workflows, w.Steps)
		}
	}
	results, err := lab.Run(tr, cfg, names...)
	if err != nil {
		return err
	}
	if *plotFile != "" {
		if err := plotTradeoff(*plotFile, tr.Name, results); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	return table(stdout, tr, *warm, results)
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func table(w io.Writer, tr *trace.Trace, warm float64, rs []lab.Result) error {
	fmt.Fprintf(w, "%s: %d requests, %d specialists, warm capacity %.0f%%\n\n", tr.Name, tr.Len(), tr.Keys(), 100*warm)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\thit rate\tcold starts\tvs Belady\tp75 cold %\tmemory eff.\twasted mem-time\tadded ms\tpred. acc.\tpre-warms in time\tpeak warm\tover cap\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%.2f%%\t%d\t%.2f×\t%.1f\t%.1f%%\t%.1f\t%.1f\t%s\t%s\t%d\t%.0f%%\t\n",
			r.Policy, 100*r.HitRate, r.ColdStarts, r.ColdStartsVsOpt, 100*r.P75ColdStartShare, 100*r.MemoryEfficiency,
			r.WastedMemoryTimeNorm, r.AddedLatencyMs, pct(r.PredictionAccuracy), pct(r.PrewarmsInTime),
			r.PeakWarm, 100*r.OverCapacity)
	}
	return tw.Flush()
}

func pct(p *float64) string {
	if p == nil {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100**p)
}
