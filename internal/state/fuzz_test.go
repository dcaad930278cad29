package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func seedEnvelopes(f *testing.F) {
	for _, p := range []string{`{}`, `{"sections":{"rollout":{"version":1,"step":"shadow"}}}`, `[1,2]`, `"x"`} {
		env, err := Encode([]byte(p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(env)
		f.Add(env[:len(env)/2])
	}
	f.Add([]byte(`{"format":"bumba-pooling-state","schema":2,"checksum":"","payload":{}}`))
	f.Add([]byte(`{"format":"bumba-pooling-state","schema":1,"checksum":"sha256:00","payload":1,"x":2}`))
	f.Add([]byte{})
}

// FuzzDecode: an envelope is refused with ErrCorrupt, ErrNewerVersion or
// ErrTooLarge, or accepted with a payload whose checksum it carries; an
// accepted payload encodes to an envelope that decodes to it again.
func FuzzDecode(f *testing.F) {
	seedEnvelopes(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		payload, err := Decode("fuzz", data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNewerVersion) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			if payload != nil {
				t.Fatal("payload with an error")
			}
			return
		}
		if !json.Valid(payload) {
			t.Fatalf("accepted an invalid payload %q", payload)
		}
		env, err := Encode(payload)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Decode("again", env)
		if err != nil || !bytes.Equal(again, payload) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzDecodeSections: a payload is refused with ErrCorrupt or decodes to
// sections that encode and decode to the same sections.
func FuzzDecodeSections(f *testing.F) {
	f.Add([]byte(`{"sections":{"rollout":{"version":1},"rollbacks":{"version":1,"records":[]}}}`))
	f.Add([]byte(`{"sections":null}`))
	f.Add([]byte(`{"sections":{"a":null}}`))
	f.Add([]byte(`{"sections":[]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		if !json.Valid(payload) {
			return // Decode hands DecodeSections only valid JSON
		}
		s, err := DecodeSections("fuzz", payload)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		p, err := EncodeSections(s)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := DecodeSections("again", p)
		if err != nil || len(s2) != len(s) {
			t.Fatalf("round trip: %v (%d vs %d sections)", err, len(s2), len(s))
		}
		for k, v := range s {
			var a, b any
			if json.Unmarshal(v, &a) != nil || json.Unmarshal(s2[k], &b) != nil {
				t.Fatalf("section %q not JSON after the round trip", k)
			}
		}
	})
}

// FuzzStateFile: whatever a state file holds, reading it and saving a
// section over it never panics; a file that reads is kept whole by the
// save (every other section survives), one that does not is left as it
// was.
func FuzzStateFile(f *testing.F) {
	seedEnvelopes(f)
	// Every exec writes and flushes a file: on a RAM disk where there is
	// one, so that fsync does not starve the fuzzer.
	base := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir, err := os.MkdirTemp(base, "state-fuzz-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "s.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		before, rerr := ReadSections(path)
		after, err := SaveSection(context.Background(), path, "fuzz", []byte(`{"n":1}`))
		if rerr != nil {
			if err == nil {
				t.Fatalf("saved over a file that does not read (%v)", rerr)
			}
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, data) {
				t.Fatal("a file that does not read was changed")
			}
			return
		}
		if err != nil {
			t.Fatalf("save over a readable file: %v", err)
		}
		for k := range before {
			if _, ok := after[k]; !ok {
				t.Fatalf("section %q lost", k)
			}
		}
		if _, err := ReadSections(path); err != nil {
			t.Fatalf("the saved file does not read: %v", err)
		}
	})
}
