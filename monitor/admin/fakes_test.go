package admin_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/pool"
)

type nopBridge struct{}

func (nopBridge) Mode() bridge.Mode           { return bridge.ModeFull }
func (nopBridge) Percentage() float64         { return 100 }
func (nopBridge) SetMode(bridge.Mode) error   { return nil }
func (nopBridge) SetPercentage(float64) error { return nil }
func (nopBridge) Stats() bridge.Stats         { return bridge.Stats{} }

type panicPool struct{}

func (panicPool) Stats() pool.Stats                  { panic("boom") }
func (panicPool) Specialists() []pool.SpecialistInfo { panic("boom") }

type fakeFleet struct{ partitioned bool }

func (fakeFleet) Replica() string     { return "replica-a" }
func (f fakeFleet) Partitioned() bool { return f.partitioned }
func (fakeFleet) Leader() string      { return "replica-b" }

func decode(t *testing.T, r resp, v any) {
	t.Helper()
	if r.code != 200 {
		t.Fatalf("answer %d: %s", r.code, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

func (s *system) doCT(method, path, ct, body string) resp {
	s.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return resp{code: rec.Code, hdr: rec.Header(), body: rec.Body.Bytes()}
}
