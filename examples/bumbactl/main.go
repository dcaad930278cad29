// Command bumbactl is the operator's command line for a running BUMBA host:
// it speaks the admin API (package monitor/admin) served by the host, for
// instance examples/server.
//
//	export BUMBA_ADMIN_URL=http://127.0.0.1:8080 BUMBA_ADMIN_TOKEN=…
//	bumbactl status -watch
//	bumbactl percentage 50 -reason "gate passed"
//	bumbactl rollback emergency -reason "Production issue"
//	bumbactl analyze rb-20260115-103000-1
//
// Output is a table by default and JSON with -json (any command). Exit status:
// 0 on success, 1 when the server refused (or could not be reached), 2 on a
// usage error; an error is one line naming what was wrong. Run bumbactl -h for
// every command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"
)

const usageText = `Usage: bumbactl [flags] COMMAND [args] [flags]

Commands (the seed's scripts):
  status [-watch] [-every 2s]       integration status: mode, percentage, step, gate, health, alerts
  health                            health check: status, score and its components
  mode [NAME -reason R]             show, or set shadow|hybrid|full|fallback
  percentage [N -reason R]          show, or set the hybrid percentage 0–100 (adjust-routing)
  advance -reason R                 advance the rollout to its next step
  hold -reason R                    hold the rollout
  resume -reason R                  resume a held or rolled back rollout
  step NAME -reason R               set the rollout's step (after a rollback: step shadow)
  rollback emergency|planned -reason R [-confirm]
                                    emergency (at once) or planned (gradual) rollback to legacy
  rollbacks [-limit N]              rollback records (verify-rollback, monitor-rollback)
  analyze ID                        a rollback's analysis (analyze-rollback --rollback-id=ID)
  specialists                       every specialist's state (export-specialist-state)
  report [-period 1h]               the metrics report (metrics-report --period=1h)
  alerts [-history]                 alerts pending and firing, or the ones that fired
  actions [-limit N]                the admin actions' audit record
  validate-config [-env | FILE]     validate a configuration with every constructor, starting nothing:
                                    the environment, a KEY=VALUE file, or the seed's productionConfig as JSON

Flags (before or after the command):
`

type options struct {
	url, token string
	json       bool
	timeout    time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// usageError is a bad command line (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

func envDefaults(lookup func(string) (string, bool)) options {
	o := options{url: "http://127.0.0.1:8080", timeout: 10 * time.Second}
	if v, ok := lookup("BUMBA_ADMIN_URL"); ok && v != "" {
		o.url = v
	}
	o.token, _ = lookup("BUMBA_ADMIN_TOKEN")
	return o
}

// commonFlags registers the flags every command takes, defaulting to def.
func commonFlags(fs *flag.FlagSet, o *options, def options) {
	fs.StringVar(&o.url, "url", def.url, "the host's address (BUMBA_ADMIN_URL)")
	fs.StringVar(&o.token, "token", def.token, "the admin token (BUMBA_ADMIN_TOKEN)")
	fs.BoolVar(&o.json, "json", def.json, "print JSON instead of a table")
	fs.DurationVar(&o.timeout, "timeout", def.timeout, "how long a request may take")
}

// parse parses fs over args, flags before, between and after positional
// arguments, and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	var o options
	global := flag.NewFlagSet("bumbactl", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	commonFlags(global, &o, envDefaults(lookup))
	printUsage := func() {
		fmt.Fprint(stderr, usageText)
		global.SetOutput(stderr)
		global.PrintDefaults()
	}
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage()
			return 0
		}
		fmt.Fprintf(stderr, "bumbactl: %v (see bumbactl -h)\n", err)
		return 2
	}
	rest := global.Args()
	if len(rest) == 0 {
		printUsage()
		return 2
	}
	name, rest := rest[0], rest[1:]
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "bumbactl: unknown command %q (see bumbactl -h)\n", name)
		return 2
	}
	fs := flag.NewFlagSet("bumbactl "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	commonFlags(fs, &o, o) // the global flags' values are the command's defaults
	e := &env{o: &o, fs: fs, stdout: stdout, stderr: stderr, lookup: lookup}
	cmd.flags(e)
	pos, err := parse(fs, rest)
	if err == nil {
		e.c = &client{base: o.url, token: o.token, timeout: o.timeout, http: &http.Client{}}
		err = cmd.run(ctx, e, pos)
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, "Usage: bumbactl %s %s\n", name, cmd.usage)
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		return 0
	}
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "bumbactl %s: %v (usage: bumbactl %s %s)\n", name, err, name, cmd.usage)
		return 2
	case strings.HasPrefix(err.Error(), "flag provided but not defined"), strings.HasPrefix(err.Error(), "invalid value"),
		strings.HasPrefix(err.Error(), "flag needs an argument"), strings.HasPrefix(err.Error(), "invalid boolean"):
		fmt.Fprintf(stderr, "bumbactl %s: %v (usage: bumbactl %s %s)\n", name, err, name, cmd.usage)
		return 2
	}
	fmt.Fprintf(stderr, "bumbactl %s: %s\n", name, oneLine(err.Error()))
	return 1
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}
