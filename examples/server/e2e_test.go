package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// build compiles a command of the module into dir.
func build(t *testing.T, dir, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// TestEndToEnd starts the server as a process on a free loopback port,
// drives it with bumbactl as a process, checks each answer against the
// server's own state, then stops it with SIGTERM: it exits 0 with its state
// saved.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	server := build(t, dir, "github.com/bumba/pooling/examples/server")
	ctl := build(t, dir, "github.com/bumba/pooling/examples/bumbactl")
	state := filepath.Join(dir, "state")
	const token = "e2e-token"

	env := append(os.Environ(), "BUMBA_ADMIN_ADDR=127.0.0.1:0", "BUMBA_ADMIN_TOKEN="+token,
		"BUMBA_STATE_DIR="+state, "BUMBA_METRICS_INTERVAL=1s", "BUMBA_TRAFFIC_RATE=100", "BUMBA_LOG_LEVEL=warn")
	stderr := &syncBuf{}
	srv, url, rest, exited := start(t, server, env, stderr)

	// ctl runs bumbactl and returns its stdout, stderr and exit code.
	ctl1 := func(env []string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(ctl, args...)
		cmd.Env = append(os.Environ(), append([]string{"BUMBA_ADMIN_URL=" + url, "BUMBA_ADMIN_TOKEN=" + token}, env...)...)
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}
	ok0 := func(args ...string) string {
		t.Helper()
		o, e, code := ctl1(nil, args...)
		if code != 0 {
			t.Fatalf("bumbactl %v: exit %d: %s", args, code, e)
		}
		return o
	}
	// server reads the server's own state.
	server1 := func(path string, v any) {
		t.Helper()
		res, err := http.Get(url + "/admin/v1" + path)
		must(t, err)
		defer res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, res.StatusCode)
		}
		must(t, json.NewDecoder(res.Body).Decode(v))
	}
	type status struct {
		Mode       string  `json:"mode"`
		Percentage float64 `json:"percentage"`
		Rollout    struct {
			Step string `json:"step"`
		} `json:"rollout"`
		Rollback *struct {
			ID string `json:"id"`
		} `json:"rollback"`
	}

	// status
	var got, want status
	must(t, json.Unmarshal([]byte(ok0("status", "-json")), &got))
	server1("/status", &want)
	if got.Mode != want.Mode || got.Rollout.Step != want.Rollout.Step || got.Mode != "fallback" {
		t.Errorf("status: bumbactl %+v, server %+v", got, want)
	}
	if tbl := ok0("status"); !strings.Contains(tbl, "preparation") || !strings.Contains(tbl, "Health") {
		t.Errorf("status table:\n%s", tbl)
	}

	// step and percentage
	ok0("step", "hybrid-50", "-reason", "e2e: into hybrid")
	out := ok0("percentage", "40", "-reason", "e2e: adjust routing")
	server1("/status", &want)
	if want.Mode != "hybrid" || want.Percentage != 40 || !strings.Contains(out, "set_percentage") {
		t.Errorf("after percentage 40: server %+v; bumbactl said %q", want, out)
	}
	if o := ok0("percentage"); strings.TrimSpace(o) != "40" {
		t.Errorf("percentage reads %q", o)
	}

	// refusals: bad token → 1, usage → 2, and nothing changed
	if _, e, code := ctl1([]string{"BUMBA_ADMIN_TOKEN=wrong"}, "percentage", "90", "-reason", "x"); code != 1 || !strings.Contains(e, "403") || strings.Count(strings.TrimSpace(e), "\n") != 0 {
		t.Errorf("bad token: exit %d, %q", code, e)
	}
	if _, e, code := ctl1(nil, "percentage", "150", "-reason", "x"); code != 2 {
		t.Errorf("percentage 150: exit %d, %q", code, e)
	}
	if _, e, code := ctl1(nil, "step", "hybrid-99", "-reason", "x"); code != 1 || !strings.Contains(e, `"hybrid-99"`) {
		t.Errorf("unknown step: exit %d, %q", code, e)
	}
	server1("/status", &want)
	if want.Percentage != 40 || want.Rollout.Step != "hybrid-50" {
		t.Errorf("a refused request changed the server: %+v", want)
	}

	// emergency rollback, then analyze the new id
	out = ok0("rollback", "emergency", "-reason", "e2e: production issue", "-json")
	var res struct {
		Record struct {
			ID string `json:"id"`
		} `json:"record"`
	}
	must(t, json.Unmarshal([]byte(out), &res))
	server1("/status", &want)
	if res.Record.ID == "" || want.Rollback == nil || want.Rollback.ID != res.Record.ID || want.Mode != "fallback" {
		t.Fatalf("after the emergency rollback: bumbactl %q, server %+v", out, want)
	}
	id := res.Record.ID
	if a := ok0("analyze", id); !strings.Contains(a, id) || !strings.Contains(a, "e2e: production issue") {
		t.Errorf("analysis:\n%s", a)
	}
	if _, e, code := ctl1(nil, "analyze", "rb-nope"); code != 1 || !strings.Contains(e, `"rb-nope"`) {
		t.Errorf("unknown id: exit %d, %q", code, e)
	}
	if rb := ok0("rollbacks"); !strings.Contains(rb, id) {
		t.Errorf("rollbacks:\n%s", rb)
	}

	// specialists
	var sp, spWant struct {
		Specialists []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"specialists"`
	}
	must(t, json.Unmarshal([]byte(ok0("specialists", "-json")), &sp))
	server1("/specialists", &spWant)
	if len(sp.Specialists) != 20 || len(spWant.Specialists) != 20 || sp.Specialists[0].ID != spWant.Specialists[0].ID {
		t.Errorf("specialists: bumbactl %d, server %d", len(sp.Specialists), len(spWant.Specialists))
	}

	// SIGTERM: exit 0, state saved.
	must(t, srv.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("server exit: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the server did not exit after SIGTERM; stderr:\n%s", stderr.String())
	}
	if last := rest.String(); !strings.Contains(last, "closed, 0 resident") {
		t.Errorf("the server's last words: %q", last)
	}
	data, err := os.ReadFile(filepath.Join(state, "state.json"))
	must(t, err)
	if !strings.Contains(string(data), id) {
		t.Errorf("the state file does not hold rollback %s", id)
	}
	for _, f := range []string{"pool.snap", "monitor.snap"} {
		if fi, err := os.Stat(filepath.Join(state, f)); err != nil || fi.Size() == 0 {
			t.Errorf("snapshot %s: %v", f, err)
		}
	}

	// A restart restores it: the rollback is still there.
	again, url2, _, exited2 := start(t, server, env, stderr)
	url = url2
	var rec struct {
		ID string `json:"id"`
	}
	server1("/rollbacks/"+id, &rec)
	if rec.ID != id {
		t.Errorf("after a restart: rollback %q", rec.ID)
	}
	must(t, again.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited2:
		if err != nil {
			t.Fatalf("restarted server exit: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the restarted server did not exit after SIGTERM")
	}
}

// syncBuf collects a process's stderr, read while it runs.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
	// first, if not nil, gets the first line once it is complete.
	first chan string
	sent  bool
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	if s.first != nil && !s.sent {
		if line, _, ok := strings.Cut(s.b.String(), "\n"); ok {
			s.first <- line
			s.sent = true
		}
	}
	return n, err
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start starts the server and returns where it listens (its first line of
// output), its output and its exit. The process is killed at the end of the
// test if it still runs.
func start(t *testing.T, bin string, env []string, stderr *syncBuf) (*exec.Cmd, string, *syncBuf, chan error) {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = env
	out := &syncBuf{first: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = out, stderr
	must(t, cmd.Start())
	exited := make(chan error, 1)
	done := make(chan struct{})
	go func() { exited <- cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // harmless once it has exited
		<-done
	})
	var first string
	select {
	case first = <-out.first:
	case err := <-exited:
		exited <- err
		t.Fatalf("the server exited at start (%v); stderr:\n%s", err, stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("the server printed nothing; stderr:\n%s", stderr.String())
	}
	f := strings.Fields(first)
	if len(f) < 3 || !strings.HasPrefix(f[2], "http://127.0.0.1:") {
		t.Fatalf("first line %q does not say where it listens", first)
	}
	return cmd, f[2], out, exited
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
