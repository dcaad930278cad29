// Command server is a real host process built on the module's public
// packages alone: a pool of fake specialists (pool/pooltest) behind the
// bridge, a simulated legacy executor, the monitor, the rollout controller
// and the rollback manager on a state file, and simulated BUMBA traffic so
// that the figures move. It serves
//
//	GET /health/intelligent-pooling   the seed's health JSON
//	GET /metrics                      Prometheus, on the server's own registry
//	    /admin/v1/…                   the admin API (package monitor/admin)
//	GET /dashboard/                   the live dashboard
//
// on 127.0.0.1:8080 by default. Without BUMBA_ADMIN_TOKEN the admin API's
// actions stay closed (403) and the server says so at start.
//
//	BUMBA_ADMIN_TOKEN=$(openssl rand -hex 16) go run ./examples/server
//
// SIGINT or SIGTERM shuts it down gracefully: it stops accepting requests and
// traffic, drains what is in flight, saves its state (the rollout and the
// rollbacks as they change; the pool's and the monitor's snapshots at the
// end) and closes every specialist. Run with -h for every flag and variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/bumba/pooling/examples/server/host"
	"github.com/bumba/pooling/monitor"
)

func main() {
	os.Exit(run(os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

func usage(fs *flag.FlagSet, w io.Writer) func() {
	return func() {
		fmt.Fprintf(w, "Usage: server [flags]\n\nA reference BUMBA host: /health/intelligent-pooling, /metrics and the admin API /admin/v1/.\n\nFlags (each overrides its variable):\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fmt.Fprintf(w, "\nEnvironment:\n")
		for _, v := range host.Vars() {
			fmt.Fprintf(w, "  %-34s default %s\n      %s\n", v.Name, v.Default, v.Help)
		}
		fmt.Fprintf(w, "\nSIGINT/SIGTERM: stop accepting, drain, save state, close every specialist; exit 0.\n")
	}
}

func run(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	def := host.Default()
	addr := fs.String("addr", def.AdminAddr, "listen address (overrides "+host.EnvAdminAddr+")")
	stateDir := fs.String("state", def.StateDir, "state directory (overrides "+host.EnvStateDir+")")
	rate := fs.Float64("rate", def.TrafficRate, "simulated commands per second (overrides "+host.EnvTrafficRate+")")
	drain := fs.Duration("drain", 10*time.Second, "how long shutdown waits for requests and tasks in flight")
	printRules := fs.Bool("print-alert-rules", false, "print the monitor's alert rules as a Prometheus rules file (at "+host.EnvInterval+") and exit")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(fs, stderr)()
			return 0
		}
		fmt.Fprintf(stderr, "server: %v (see -h)\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "server: unexpected argument %q (see -h)\n", fs.Arg(0))
		return 2
	}
	cfg, err := host.FromEnv(lookup)
	if err != nil {
		fmt.Fprintf(stderr, "server: bad configuration:\n%v\n", err)
		return 2
	}
	fs.Visit(func(f *flag.Flag) { // a flag given overrides its variable
		switch f.Name {
		case "addr":
			cfg.AdminAddr = *addr
		case "state":
			cfg.StateDir = *stateDir
		case "rate":
			cfg.TrafficRate = *rate
		}
	})
	if *printRules {
		out, err := monitor.PrometheusRules(monitor.DefaultRules(), cfg.Interval)
		if err != nil {
			fmt.Fprintf(stderr, "server: %v\n", err)
			return 1
		}
		stdout.Write(out)
		return 0
	}
	if cfg.TrafficRate < 0 {
		fmt.Fprintf(stderr, "server: -rate %g must not be negative\n", cfg.TrafficRate)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

	sys, err := host.New(cfg, host.Options{Logger: logger})
	if err != nil {
		fmt.Fprintf(stderr, "server: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		fmt.Fprintf(stderr, "server: %v\n", err)
		closeAll(sys, *drain, logger)
		return 1
	}
	url := "http://" + ln.Addr().String()
	logger.Info("BUMBA host starting", "config", cfg.Describe(), "specialists", host.Specialists())
	if cfg.AdminToken == "" {
		logger.Warn("admin API actions are CLOSED: " + host.EnvAdminToken + " is not set (read routes stay open)")
	} else {
		logger.Info("admin API actions open to the bearer token in " + host.EnvAdminToken)
	}
	srv := &http.Server{Handler: sys.Handler(), ReadHeaderTimeout: 5 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening on %s (health %s/health/intelligent-pooling, admin %s/admin/v1/status)\n", url, url, url)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	runCtx, stopRun := context.WithCancel(context.Background())
	trafficCtx, stopTraffic := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sys.Run(runCtx) }()
	go func() {
		defer wg.Done()
		n := host.Traffic(trafficCtx, sys.Clock, sys.Bridge, cfg.TrafficRate, uint64(time.Now().UnixNano()))
		logger.Info("traffic stopped", "commands", n)
	}()

	code := 0
	select {
	case s := <-sigs:
		logger.Info("shutting down", "signal", s.String())
	case err := <-serveErr:
		logger.Error("ERROR server stopped", "error", err)
		code = 1
	}
	// Stop accepting: end the event streams, then let requests in flight
	// finish.
	_ = sys.Admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		logger.Warn("requests still in flight at shutdown", "error", err)
	}
	stopTraffic() // drains the commands in flight
	stopRun()
	wg.Wait()
	if sys.Monitor != nil {
		sys.Monitor.Collect() // the last figures, into the snapshot
	}
	files, err := sys.Save()
	if err != nil {
		logger.Error("ERROR saving state", "error", err)
		code = 1
	}
	if err := closeAll(sys, *drain, logger); err != nil {
		code = 1
	}
	c := sys.Fleet.Counts()
	if c.Resident != 0 || c.Violations != 0 {
		logger.Error("ERROR specialists left behind", "resident", c.Resident, "violations", c.Violations)
		code = 1
	}
	logger.Info("state saved; every specialist closed", "files", files)
	fmt.Fprintf(stdout, "stopped: state saved in %s; %d instances started, %d closed, %d resident\n",
		cfg.StateDir, c.Instances, c.Closes, c.Resident)
	return code
}

func closeAll(sys *host.System, drain time.Duration, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := sys.Close(ctx)
	if err != nil {
		logger.Error("ERROR closing", "error", err)
	}
	return err
}
