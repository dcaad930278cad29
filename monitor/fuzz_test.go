package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzLogLevelFromEnv: any BUMBA_LOG_LEVEL value gives one of the four
// levels or an error wrapping ErrInvalidConfig that quotes it.
func FuzzLogLevelFromEnv(f *testing.F) {
	for _, s := range []string{"", "debug", " WARN ", "warning", "error", "info", "verbose", "\x00"} {
		f.Add(s, true)
	}
	f.Add("", false)
	f.Fuzz(func(t *testing.T, v string, set bool) {
		level, err := LogLevelFromEnv(func(k string) (string, bool) {
			if k != EnvLogLevel {
				t.Fatalf("looked up %q", k)
			}
			return v, set
		})
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), EnvLogLevel) {
				t.Fatalf("error %v", err)
			}
			return
		}
		switch level.String() {
		case "DEBUG", "INFO", "WARN", "ERROR":
		default:
			t.Fatalf("level %v", level)
		}
	})
}

// FuzzHealthHandler: any method, path and query gets 200 or 503 with the
// Health JSON (GET), an empty body (HEAD), or 405 with an Allow header.
func FuzzHealthHandler(f *testing.F) {
	for _, m := range []string{"GET", "HEAD", "POST", "DELETE", "get", "PATCH"} {
		f.Add(m, "/health", "")
	}
	f.Add("GET", "/health", "verbose=1&window=%zz")
	f.Add("OPTIONS", "/", strings.Repeat("a=b&", 100))
	e := newEnv(f)
	simulate(e, 20, DefaultInterval)
	h := e.m.Handler()
	f.Fuzz(func(t *testing.T, method, path, query string) {
		if method == "" || strings.ContainsAny(method, " \t\r\n()<>@,;:\\\"/[]?={}") {
			return // not an HTTP token: no request carries it
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Method, req.URL.Path, req.URL.RawQuery = method, path, query
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch {
		case method == http.MethodGet || method == http.MethodHead:
			if w.Code != http.StatusOK && w.Code != http.StatusServiceUnavailable {
				t.Fatalf("%s: status %d", method, w.Code)
			}
			if method == http.MethodGet {
				var got Health
				if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
					t.Fatalf("body is not the Health JSON: %v", err)
				}
			} else if w.Body.Len() != 0 {
				t.Fatal("HEAD with a body")
			}
		default:
			if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
				t.Fatalf("%s: status %d, Allow %q", method, w.Code, w.Header().Get("Allow"))
			}
		}
	})
}

// FuzzQuery: any metric name and period is answered or refused with
// ErrUnknownMetric / ErrInvalidConfig; an answer is inside the period and
// consistent (count 0, or min ≤ avg ≤ max for gauges).
func FuzzQuery(f *testing.F) {
	f.Add(string(MetricQueueDepth), int64(-3600), int64(0))
	f.Add(string(MetricErrorRate), int64(-86400*40), int64(10))
	f.Add("no_such_metric", int64(0), int64(0))
	f.Add(string(MetricTasks), int64(10), int64(-10))
	e := newEnv(f)
	simulate(e, 200, DefaultInterval)
	now := e.clk.Now()
	f.Fuzz(func(t *testing.T, metric string, fromS, toS int64) {
		const lim = 1 << 40 // seconds: far outside any retention, inside time.Time
		if fromS > lim || fromS < -lim || toS > lim || toS < -lim {
			return
		}
		from, to := now.Add(time.Duration(fromS)*time.Second), now.Add(time.Duration(toS)*time.Second)
		s, err := e.m.Query(Metric(metric), from, to)
		if err != nil {
			if !errors.Is(err, ErrUnknownMetric) && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if s.Count > 0 && (s.Min > s.Max || s.P95 < s.Min || s.P95 > s.Max) {
			t.Fatalf("inconsistent summary %+v", s)
		}
		if s.From.Before(from) && !s.From.Equal(from) && s.From.After(to) {
			t.Fatalf("period %v–%v outside %v–%v", s.From, s.To, from, to)
		}
	})
}

// FuzzRestore: any bytes are restored or refused with ErrSnapshot; a
// restored monitor answers queries and snapshots again.
func FuzzRestore(f *testing.F) {
	e := newEnv(f)
	simulate(e, 10, DefaultInterval)
	var buf bytes.Buffer
	if err := e.m.Snapshot(&buf); err != nil {
		f.Fatal(err)
	}
	snap := buf.Bytes()
	f.Add(snap)
	f.Add(snap[:len(snap)-1])
	f.Add(envelope(1, []byte(`{"version":1,"takenUnixNs":0,"sinceUnixNs":0,"interval":"30s","retention":"720h0m0s","metrics":[],"raw":{"wrapped":false,"samples":[]},"tiers":[],"alerts":[]}`)))
	f.Add(envelope(1, []byte(`{"version":1,"metrics":["queue_depth"],"raw":{"samples":[{"tUnixNs":1,"interval":"1s","has":1,"v":[3]}]},"tiers":[{"width":"5m0s","buckets":[{"startUnixNs":0,"tUnixNs":1,"span":"1s","n":1,"cnt":[1],"sum":[3],"min":[3],"max":[3]}]}]}`)))
	f.Add([]byte("BUMBAMON"))
	now := e.clk.Now()
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := New(WithClock(newClockAt(now)), WithPool(newFakePool()), WithRestore(bytes.NewReader(data)))
		if err != nil {
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if _, err := m.Query(MetricQueueDepth, now.Add(-time.Hour), now); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := m.Snapshot(&out); err != nil {
			t.Fatal(err)
		}
	})
}
