package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bumba/pooling/examples/server/host"
	"github.com/bumba/pooling/monitor/admin"
)

type env struct {
	o              *options
	fs             *flag.FlagSet
	c              *client
	stdout, stderr io.Writer
	lookup         func(string) (string, bool)
	// per-command flags
	reason  *string
	confirm *bool
	watch   *bool
	every   *time.Duration
	limit   *int
	period  *string
	history *bool
	fromEnv *bool
}

type command struct {
	usage string
	flags func(e *env)
	run   func(ctx context.Context, e *env, args []string) error
}

func withReason(e *env) {
	e.reason = e.fs.String("reason", "", "why (required; recorded with who did it)")
}

func noFlags(*env) {}

var commands map[string]command

func init() {
	commands = map[string]command{
		"status": {"[-watch] [-every 2s]", func(e *env) {
			e.watch = e.fs.Bool("watch", false, "redraw the status until interrupted (in place on a terminal)")
			e.every = e.fs.Duration("every", 2*time.Second, "how often -watch redraws")
		}, runStatus},
		"health":     {"", noFlags, runHealth},
		"mode":       {"[shadow|hybrid|full|fallback -reason R]", withReason, runMode},
		"percentage": {"[0-100 -reason R]", withReason, runPercentage},
		"advance":    {"-reason R", withReason, rolloutAction("advance")},
		"hold":       {"-reason R", withReason, rolloutAction("hold")},
		"resume":     {"-reason R", withReason, rolloutAction("resume")},
		"step":       {"NAME -reason R", withReason, runStep},
		"rollback": {"emergency|planned -reason R [-confirm]", func(e *env) {
			withReason(e)
			e.confirm = e.fs.Bool("confirm", false, "confirm (when the host requires confirmation)")
		}, runRollback},
		"rollbacks":   {"[-limit N]", func(e *env) { e.limit = e.fs.Int("limit", 0, "only the newest N") }, runRollbacks},
		"analyze":     {"ID", noFlags, runAnalyze},
		"specialists": {"", noFlags, runSpecialists},
		"report":      {"[-period 1h]", func(e *env) { e.period = e.fs.String("period", "1h", "the period: 30m, 1h, 7d …") }, runReport},
		"alerts":      {"[-history]", func(e *env) { e.history = e.fs.Bool("history", false, "the alerts that fired, not the active ones") }, runAlerts},
		"actions":     {"[-limit N]", func(e *env) { e.limit = e.fs.Int("limit", 0, "only the newest N") }, runActions},
		"validate-config": {"[-env | FILE]", func(e *env) {
			e.fromEnv = e.fs.Bool("env", false, "validate the environment's BUMBA_* variables")
		}, runValidate},
	}
}

func noArgs(args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}

func (e *env) printJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		_, err = e.stdout.Write(data)
		return err
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// read GETs path: with -json it prints the answer and reports printed;
// otherwise it decodes the answer into v for the caller's table.
func (e *env) read(ctx context.Context, path string, v any) (printed bool, err error) {
	if e.o.json {
		data, err := e.c.get(ctx, path, nil)
		if err != nil {
			return true, err
		}
		return true, e.printJSON(data)
	}
	_, err = e.c.get(ctx, path, v)
	return false, err
}

func (e *env) table() *tabwriter.Writer { return tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0) }

func (e *env) needReason() (string, error) {
	if strings.TrimSpace(*e.reason) == "" {
		return "", usagef("-reason is required: say why")
	}
	return *e.reason, nil
}

func pct(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + "%" }

func ms(n int64) string { return (time.Duration(n) * time.Millisecond).Round(time.Second).String() }

// --- status ---

func runStatus(ctx context.Context, e *env, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	if *e.every <= 0 {
		return usagef("-every %v must be positive", *e.every)
	}
	once := func() error {
		var st admin.Status
		if printed, err := e.read(ctx, "/status", &st); printed || err != nil {
			return err
		}
		writeStatus(e.stdout, st)
		return nil
	}
	if !*e.watch {
		return once()
	}
	tty := isTerminal(e.stdout)
	for {
		if tty {
			fmt.Fprint(e.stdout, "\x1b[H\x1b[2J")
		}
		if err := once(); err != nil {
			return err
		}
		if !tty && !e.o.json {
			fmt.Fprintln(e.stdout, "---")
		}
		select {
		case <-ctx.Done():
			return nil // interrupted: a watch ends normally
		case <-time.After(*e.every):
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func writeStatus(w io.Writer, st admin.Status) {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintf(tw, "Replica\t%s\tup %s\n", st.Replica, ms(st.UptimeMs))
	if st.Mode != "" {
		fmt.Fprintf(tw, "Routing\t%s\t%g%%\n", st.Mode, st.Percentage)
	}
	if r := st.Rollout; r != nil {
		fmt.Fprintf(tw, "Rollout\t%s (%d/%d, %s)\t%s%s\n", r.Step, r.Index+1, r.Steps, r.Phase, r.State, paren(r.Reason))
		fmt.Fprintf(tw, "Soak\t%s of %s\t%s left\n", ms(r.SoakedMs), ms(r.SoakMs), ms(r.RemainingMs))
		if r.Gate != nil {
			verdict := "passing"
			switch {
			case r.Gate.Failed:
				verdict = "FAILING"
			case r.Gate.NoData:
				verdict = "lacking data"
			}
			fmt.Fprintf(tw, "Gate\t%s\t\n", verdict)
			for _, c := range r.Gate.Checks {
				mark := "ok"
				switch {
				case !c.HasData:
					mark = "no data"
				case !c.Passed:
					mark = "FAIL"
				}
				fmt.Fprintf(tw, "  %s %s %g\t%s\t%s\n", c.Metric, c.Op, c.Threshold, mark, c.Detail)
			}
		}
	}
	if h := st.Health; h != nil {
		fmt.Fprintf(tw, "Health\t%s\tscore %.1f, %d alerts\n", h.Status, h.Score, h.Alerts)
	}
	if len(st.Alerts) == 0 {
		fmt.Fprintf(tw, "Alerts\tnone firing\t\n")
	}
	for _, a := range st.Alerts {
		fmt.Fprintf(tw, "Alert\t%s %s\t%s (%g)\n", a.Severity, a.Rule, a.Message, a.Value)
	}
	if r := st.Rollback; r != nil {
		state := "done"
		if r.InProgress {
			state = "IN PROGRESS"
		}
		fmt.Fprintf(tw, "Rollback\t%s\t%s, %s: %q\n", r.ID, state, r.Trigger, r.Reason)
	}
	if p := st.Pool; p != nil {
		fmt.Fprintf(tw, "Pool\t%d/%d warm (max %d)\thit rate %s, memory saved %s, queue %d\n",
			p.Warm, p.Specialists, p.MaxWarm, pct(p.WarmHitRate), pct(p.MemoryEfficiency), p.QueueDepth)
	}
	if f := st.Fleet; f != nil {
		fmt.Fprintf(tw, "Fleet\tleader %s\tpartitioned %v\n", f.Leader, f.Partitioned)
	}
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// --- health ---

func runHealth(ctx context.Context, e *env, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	var h struct {
		Status     string  `json:"status"`
		Score      float64 `json:"score"`
		Alerts     int     `json:"alerts"`
		Components []struct {
			Name    string  `json:"name"`
			Value   float64 `json:"value"`
			Score   float64 `json:"score"`
			Weight  float64 `json:"weight"`
			HasData bool    `json:"hasData"`
		} `json:"components"`
	}
	if printed, err := e.read(ctx, "/health", &h); printed || err != nil {
		return err
	}
	tw := e.table()
	fmt.Fprintf(tw, "%s\tscore %.1f\t%d alerts\n", h.Status, h.Score, h.Alerts)
	fmt.Fprintf(tw, "COMPONENT\tVALUE\tSCORE\tWEIGHT\n")
	for _, c := range h.Components {
		v := strconv.FormatFloat(c.Value, 'g', 4, 64)
		if !c.HasData {
			v = "no data"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%g\n", c.Name, v, c.Score, c.Weight)
	}
	return tw.Flush()
}

// --- actions ---

func (e *env) printAction(data []byte) error {
	if e.o.json {
		return e.printJSON(data)
	}
	var res admin.ActionResult
	if err := json.Unmarshal(data, &res); err != nil {
		return err
	}
	a := res.Action
	fmt.Fprintf(e.stdout, "%s done by %s: %s %g%% %s → %s %g%% %s", a.Action, a.Who,
		a.Before.Mode, a.Before.Percentage, a.Before.Step, a.After.Mode, a.After.Percentage, a.After.Step)
	if a.Rollback != "" {
		fmt.Fprintf(e.stdout, " (rollback %s)", a.Rollback)
	}
	fmt.Fprintln(e.stdout)
	return nil
}

func runMode(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return e.showRouting(ctx, func(st admin.Status) string { return st.Mode })
	}
	if len(args) > 1 {
		return usagef("unexpected argument %q", args[1])
	}
	reason, err := e.needReason()
	if err != nil {
		return err
	}
	data, err := e.c.post(ctx, "/mode", map[string]any{"mode": args[0], "reason": reason}, nil)
	if err != nil {
		return err
	}
	return e.printAction(data)
}

// showRouting prints the routing in force: as JSON (mode and percentage)
// with -json, else the one line text gives.
func (e *env) showRouting(ctx context.Context, text func(admin.Status) string) error {
	var st admin.Status
	data, err := e.c.get(ctx, "/status", &st)
	if err != nil {
		return err
	}
	if e.o.json {
		return e.printJSON(mustJSON(map[string]any{"mode": st.Mode, "percentage": st.Percentage}, data))
	}
	_, err = fmt.Fprintln(e.stdout, text(st))
	return err
}

func mustJSON(v any, fallback []byte) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		return fallback
	}
	return data
}

func runPercentage(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return e.showRouting(ctx, func(st admin.Status) string { return strconv.FormatFloat(st.Percentage, 'g', -1, 64) })
	}
	if len(args) > 1 {
		return usagef("unexpected argument %q", args[1])
	}
	p, err := strconv.ParseFloat(strings.TrimSuffix(args[0], "%"), 64)
	if err != nil || p < 0 || p > 100 {
		return usagef("percentage %q is not a number from 0 to 100", args[0])
	}
	reason, err := e.needReason()
	if err != nil {
		return err
	}
	data, err := e.c.post(ctx, "/percentage", map[string]any{"percentage": p, "reason": reason}, nil)
	if err != nil {
		return err
	}
	return e.printAction(data)
}

func rolloutAction(name string) func(ctx context.Context, e *env, args []string) error {
	return func(ctx context.Context, e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		reason, err := e.needReason()
		if err != nil {
			return err
		}
		data, err := e.c.post(ctx, "/rollout/"+name, map[string]any{"reason": reason}, nil)
		if err != nil {
			return err
		}
		return e.printAction(data)
	}
}

func runStep(ctx context.Context, e *env, args []string) error {
	if len(args) != 1 {
		return usagef("give one step name")
	}
	reason, err := e.needReason()
	if err != nil {
		return err
	}
	data, err := e.c.post(ctx, "/rollout/step", map[string]any{"step": args[0], "reason": reason}, nil)
	if err != nil {
		return err
	}
	return e.printAction(data)
}

func runRollback(ctx context.Context, e *env, args []string) error {
	if len(args) != 1 || (args[0] != "emergency" && args[0] != "planned") {
		return usagef("say emergency or planned")
	}
	reason, err := e.needReason()
	if err != nil {
		return err
	}
	body := map[string]any{"reason": reason}
	if *e.confirm {
		body["confirm"] = true
	}
	data, err := e.c.post(ctx, "/rollbacks/"+args[0], body, nil)
	if err != nil {
		return err
	}
	return e.printAction(data)
}

// --- records ---

// field reads the first of keys present in m as a string.
func field(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if v, ok := m[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
	}
	return ""
}

func limitQuery(n int) (string, error) {
	if n < 0 {
		return "", usagef("-limit %d must not be negative", n)
	}
	if n == 0 {
		return "", nil
	}
	return "?limit=" + strconv.Itoa(n), nil
}

func runRollbacks(ctx context.Context, e *env, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	q, err := limitQuery(*e.limit)
	if err != nil {
		return err
	}
	var out struct {
		Rollbacks []map[string]any `json:"rollbacks"`
	}
	if printed, err := e.read(ctx, "/rollbacks"+q, &out); printed || err != nil {
		return err
	}
	tw := e.table()
	fmt.Fprintln(tw, "ID\tKIND\tSTATUS\tVERIFIED\tTRIGGER\tSTARTED\tREASON")
	for _, r := range out.Rollbacks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", field(r, "id"), field(r, "kind"), field(r, "status"),
			verified(r), field(r, "trigger"), field(r, "startedAt", "started_at"), field(r, "reason"))
	}
	if len(out.Rollbacks) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	return tw.Flush()
}

// verified says how a record's verification went (the seed's
// verify-rollback): "passed", "FAILED: <checks>" or "pending".
func verified(r map[string]any) string {
	v, ok := r["verification"].(map[string]any)
	if !ok {
		return "pending"
	}
	if p, _ := v["passed"].(bool); p {
		return "passed"
	}
	var failed []string
	checks, _ := v["checks"].([]any)
	for _, c := range checks {
		if m, ok := c.(map[string]any); ok {
			if p, _ := m["passed"].(bool); !p {
				if s, _ := m["skipped"].(bool); !s {
					failed = append(failed, field(m, "name"))
				}
			}
		}
	}
	return "FAILED: " + strings.Join(failed, ", ")
}

func runAnalyze(ctx context.Context, e *env, args []string) error {
	if len(args) != 1 {
		return usagef("give one rollback ID")
	}
	path := "/rollbacks/" + url.PathEscape(args[0]) + "/analysis"
	if e.o.json {
		_, err := e.read(ctx, path, nil)
		return err
	}
	txt, err := e.c.getText(ctx, path+"?format=text")
	if err != nil {
		return err
	}
	fmt.Fprint(e.stdout, txt)
	if !strings.HasSuffix(txt, "\n") {
		fmt.Fprintln(e.stdout)
	}
	return nil
}

func runSpecialists(ctx context.Context, e *env, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	var out struct {
		Specialists []struct {
			ID         string  `json:"id"`
			Department string  `json:"department"`
			Priority   string  `json:"priority"`
			State      string  `json:"state"`
			Score      float64 `json:"score"`
			Memory     int64   `json:"memory"`
			Tasks      uint64  `json:"tasks"`
			WarmHits   uint64  `json:"warmHits"`
			ColdStarts uint64  `json:"coldStarts"`
			LastError  string  `json:"lastError"`
		} `json:"specialists"`
	}
	if printed, err := e.read(ctx, "/specialists", &out); printed || err != nil {
		return err
	}
	tw := e.table()
	fmt.Fprintln(tw, "ID\tDEPARTMENT\tPRIORITY\tSTATE\tSCORE\tMEMORY\tTASKS\tWARM HITS\tCOLD STARTS")
	for _, s := range out.Specialists {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%.1f MB\t%d\t%d\t%d\n", s.ID, s.Department, s.Priority, s.State,
			s.Score, float64(s.Memory)/(1<<20), s.Tasks, s.WarmHits, s.ColdStarts)
	}
	return tw.Flush()
}

func runReport(ctx context.Context, e *env, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	q := "?period=" + url.QueryEscape(*e.period)
	if e.o.json {
		_, err := e.read(ctx, "/report"+q, nil)
		return err
	}
	txt, err := e.c.getText(ctx, "/report"+q+"&format=text")
	if err != nil {
		return err
	}
	fmt.Fprint(e.stdout, txt)
	return nil
}

func runAlerts(ctx context.Context, e *env, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	path := "/alerts"
	if *e.history {
		path = "/alerts/history"
	}
	var out struct {
		Alerts []map[string]any `json:"alerts"`
	}
	if printed, err := e.read(ctx, path, &out); printed || err != nil {
		return err
	}
	tw := e.table()
	fmt.Fprintln(tw, "SEVERITY\tRULE\tSTATE\tVALUE\tSINCE\tMESSAGE")
	for _, a := range out.Alerts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", field(a, "severity"), field(a, "rule"), field(a, "state"),
			field(a, "value"), field(a, "since"), field(a, "message"))
	}
	if len(out.Alerts) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	return tw.Flush()
}

func runActions(ctx context.Context, e *env, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	q, err := limitQuery(*e.limit)
	if err != nil {
		return err
	}
	var out struct {
		Actions []admin.Action `json:"actions"`
	}
	if printed, err := e.read(ctx, "/actions"+q, &out); printed || err != nil {
		return err
	}
	tw := e.table()
	fmt.Fprintln(tw, "SEQ\tAT\tWHO\tACTION\tTARGET\tOK\tREASON")
	for _, a := range out.Actions {
		ok := "ok"
		if !a.OK {
			ok = "refused: " + a.Error
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Seq, a.At.Format(time.RFC3339), a.Who, a.Action, a.Target, ok, a.Reason)
	}
	return tw.Flush()
}

// --- validate-config ---

// validation is validate-config's JSON answer.
type validation struct {
	Source string   `json:"source"`
	Valid  bool     `json:"valid"`
	Errors []string `json:"errors"`
	// Notes are the seed's keys this host has no setting for.
	Notes []string `json:"notes"`
}

func runValidate(_ context.Context, e *env, args []string) error {
	var lookup func(string) (string, bool)
	var source string
	var fileNotes []string
	switch {
	case *e.fromEnv && len(args) == 0:
		lookup, source = e.lookup, "the environment"
	case !*e.fromEnv && len(args) == 1:
		data, err := os.ReadFile(args[0])
		if err != nil {
			return usagef("%v", err)
		}
		var notes []string
		var l func(string) (string, bool)
		if t := strings.TrimSpace(string(data)); strings.HasPrefix(t, "{") {
			l, notes, err = host.ParseSeedConfig(data) // the seed's productionConfig as JSON
		} else {
			l, err = host.ParseEnvFile(string(data))
		}
		if err != nil {
			return report(e, validation{Source: args[0], Errors: splitErr(err), Notes: notes})
		}
		lookup, source, fileNotes = l, args[0], notes
	default:
		return usagef("give -env or one FILE")
	}
	cfg, err := host.FromEnv(lookup)
	if err == nil {
		err = host.Validate(cfg)
	}
	v := validation{Source: source, Valid: err == nil, Errors: []string{}, Notes: fileNotes}
	if err != nil {
		v.Errors = splitErr(err)
	}
	return report(e, v)
}

func splitErr(err error) []string {
	var out []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// invalidError is a configuration found invalid: exit 1, like a refusal.
type invalidError struct{ n int }

func (e *invalidError) Error() string { return fmt.Sprintf("%d bad setting(s)", e.n) }

func report(e *env, v validation) error {
	if v.Notes == nil {
		v.Notes = []string{}
	}
	if e.o.json {
		if v.Errors == nil {
			v.Errors = []string{}
		}
		data, _ := json.Marshal(v)
		if err := e.printJSON(data); err != nil {
			return err
		}
	} else {
		for _, s := range v.Notes {
			fmt.Fprintf(e.stdout, "%s: note: %s\n", v.Source, s)
		}
		if v.Valid {
			fmt.Fprintf(e.stdout, "%s: valid (pool, bridge, monitor, rollout, rollback and admin all accept it)\n", v.Source)
		}
		for _, s := range v.Errors {
			fmt.Fprintf(e.stdout, "%s: %s\n", v.Source, s)
		}
	}
	if !v.Valid {
		return &invalidError{len(v.Errors)}
	}
	return nil
}
