package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bumba/pooling/monitor/admin"
)

type sse struct {
	typ  string
	data map[string]any
}

// openStream connects to the event stream and returns its events as they
// come; the channel closes when the stream ends.
func openStream(t *testing.T, srv *httptest.Server, query string) (<-chan sse, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+admin.Base+"/events"+query, nil)
	must(t, err)
	res, err := srv.Client().Do(req)
	must(t, err)
	out := make(chan sse, 64)
	if res.StatusCode != 200 {
		res.Body.Close()
		close(out)
		return out, res
	}
	go func() {
		defer close(out)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev = sse{typ: strings.TrimPrefix(line, "event: ")}
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data)
			case line == "" && ev.typ != "":
				out <- ev
				ev = sse{}
			}
		}
	}()
	return out, res
}

// next returns the next event of type typ, skipping others.
func next(t *testing.T, evs <-chan sse, typ string) sse {
	t.Helper()
	deadline := time.After(10 * time.Second) // a failsafe: events come at once
	for {
		select {
		case e, ok := <-evs:
			if !ok {
				t.Fatalf("stream ended waiting for %q", typ)
			}
			if e.typ == typ {
				return e
			}
		case <-deadline:
			t.Fatalf("no %q event", typ)
		}
	}
}

func TestEventStream(t *testing.T) {
	s := newSystem(t, sysOpts{admin: []admin.Option{admin.WithMaxStreams(1)}})
	srv := httptest.NewServer(s.h)
	defer func() { _ = s.h.Close(); srv.Close() }() // streams end before the server closes
	evs, res := openStream(t, srv, "")
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	hello := next(t, evs, "hello")
	if hello.data["mode"] != "hybrid" || hello.data["replica"] != "replica-a" {
		t.Errorf("hello %v", hello.data)
	}
	// One stream at most: a second is refused.
	if _, res2 := openStream(t, srv, ""); res2.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second stream: %d", res2.StatusCode)
	}

	if r := s.do("POST", admin.Base+"/percentage", token, map[string]any{"percentage": 60, "reason": "more"}); r.code != 200 {
		t.Fatal(r.code)
	}
	tr := next(t, evs, "transition")
	if tr.data["fromPercentage"] != 50.0 || tr.data["toPercentage"] != 60.0 || tr.data["reason"] != "manual" {
		t.Errorf("transition %v", tr.data)
	}
	act := next(t, evs, "action")
	if act.data["action"] != "set_percentage" || act.data["who"] != "token" || act.data["reason"] != "more" {
		t.Errorf("action %v", act.data)
	}

	s.traffic(10)
	s.clk.Add(time.Second) // the stream's poll after the sample
	smp := next(t, evs, "sample")
	if _, ok := smp.data["values"].(map[string]any); !ok {
		t.Errorf("sample %v", smp.data)
	}

	if r := s.do("POST", admin.Base+"/rollbacks/emergency", token, map[string]any{"reason": "drill"}); r.code != 200 {
		t.Fatal(r.code)
	}
	s.clk.Add(time.Second)
	rb := next(t, evs, "rollback")
	if rb.data["reason"] != "drill" || rb.data["kind"] != "emergency" {
		t.Errorf("rollback %v", rb.data)
	}
	// The controller sees the rollback at its next step.
	if _, err := s.ctrl.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.clk.Add(time.Second)
	if dec := next(t, evs, "decision"); dec.data["action"] != "rollback" {
		t.Errorf("decision %v", dec.data)
	}

	// Close ends the stream.
	must(t, s.h.Close())
	for range evs {
	}
	if _, res3 := openStream(t, srv, ""); res3.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("stream after Close: %d", res3.StatusCode)
	}
}

func TestEventStreamFilter(t *testing.T) {
	s := newSystem(t, sysOpts{})
	srv := httptest.NewServer(s.h)
	defer func() { _ = s.h.Close(); srv.Close() }() // streams end before the server closes
	if _, res := openStream(t, srv, "?types=bogus"); res.StatusCode != 400 {
		t.Errorf("unknown type: %d", res.StatusCode)
	}
	evs, _ := openStream(t, srv, "?types=action")
	next(t, evs, "hello")
	if r := s.do("POST", admin.Base+"/mode", token, map[string]any{"mode": "full", "reason": "x"}); r.code != 200 {
		t.Fatal(r.code)
	}
	if e := <-evs; e.typ != "action" {
		t.Errorf("filtered stream sent %q before the action", e.typ)
	}
	must(t, s.h.Close())
	for range evs {
	}
}

func TestEventStreamHead(t *testing.T) {
	s := newSystem(t, sysOpts{})
	rec := s.do("HEAD", admin.Base+"/events", "", nil)
	if rec.code != 200 || rec.hdr.Get("Content-Type") != "text/event-stream" || len(rec.body) != 0 {
		t.Errorf("HEAD: %d %q %q", rec.code, rec.hdr.Get("Content-Type"), rec.body)
	}
}
