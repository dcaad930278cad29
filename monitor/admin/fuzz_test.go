package admin_test

import (
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
