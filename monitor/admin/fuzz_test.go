package admin_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bumba/pooling/monitor/admin"
)

// FuzzActionBodies sends arbitrary bodies to every mutating route: none may
// panic, every answer is JSON, and a refused request changes nothing.
func FuzzActionBodies(f *testing.F) {
	for _, seed := range []string{
		`{"mode":"full","reason":"x"}`, `{"percentage":50,"reason":"x"}`, `{"step":"shadow","reason":"x"}`,
		`{"reason":"x","confirm":true}`, `{"reason":"x"} {}`, `{"mode":"`, `[]`, `null`, `{"percentage":1e400}`,
		`{"reason":"\u0000"}`, `{"percentage":-0,"reason":"y"}`, ``, `{"reason":"x","reason":"y"}`,
	} {
		for i := 0; i < 8; i += 3 { // spread over the mutating routes
			f.Add(seed, uint8(len(seed)+i))
		}
	}
	f.Fuzz(func(t *testing.T, body string, which uint8) {
		s := newSystem(t, sysOpts{})
		var posts []admin.Route
		for _, r := range admin.Routes() {
			if r.Mutating {
				posts = append(posts, r)
			}
		}
		rt := posts[int(which)%len(posts)]
		before := s.world()
		rec := s.do("POST", rt.Path, token, body)
		m := rec.json(t)
		if rec.code != 200 {
			if _, ok := m["error"].(string); !ok {
				t.Fatalf("%s %q: %d without an error: %s", rt.Path, body, rec.code, rec.body)
			}
			after := s.world()
			if after.Actions > before.Actions {
				before.Actions = after.Actions // a refusal by the object is recorded
			}
			s.unchanged(before, rt.Path+" "+body)
		}
	})
}

// FuzzReadQueries sends arbitrary paths and query strings to the read
// routes: none may panic, and every answer is JSON or, where asked for, text.
func FuzzReadQueries(f *testing.F) {
	for _, seed := range []string{
		"/report?period=1h", "/report?period=7d&format=text", "/report?period=99999999999h", "/report?period=-1d",
		"/metrics/error_rate?period=1h", "/metrics/calls?from=2026-01-15T09:00:00Z&to=2026-01-15T11:00:00Z",
		"/metrics/%00?period=1h", "/rollbacks?limit=9999999999999999999", "/rollbacks/rb-x/analysis?format=text",
		"/alerts/history?limit=1", "/events?types=hello,nope", "/rollout/decisions?limit=0", "/../status",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, pathQuery string) {
		if strings.Contains(pathQuery, "/events") {
			return // the stream does not end by itself; its query is checked in TestEventStreamFilter
		}
		s := newSystem(t, sysOpts{})
		req, err := http.NewRequest("GET", "http://host"+admin.Base+pathQuery, nil)
		if err != nil {
			return // not a request a client could send
		}
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		ct := rec.Header().Get("Content-Type")
		switch {
		case rec.Code == http.StatusMovedPermanently || rec.Code == http.StatusTemporaryRedirect:
		case strings.HasPrefix(ct, "text/plain") && rec.Code == 200:
		case ct == "application/json":
			var v any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatalf("GET %s: %d, not JSON: %q", pathQuery, rec.Code, rec.Body.String())
			}
		default:
			t.Fatalf("GET %s: %d with Content-Type %q", pathQuery, rec.Code, ct)
		}
	})
}
