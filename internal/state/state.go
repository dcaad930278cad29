// Package state reads and writes the durable state file shared by the
// migrate and rollback packages: a JSON envelope with a format name, a
// schema version and a SHA-256 checksum of its payload, written to a
// temporary file, flushed to disk and renamed over the old file so that a
// crash leaves either the old state or the new one, never a mix.
//
// Reading never repairs or resets: a file that is not a state file, whose
// checksum does not match (corrupt, truncated, edited) or whose schema is
// newer than this code is refused with an error wrapping ErrCorrupt or
// ErrNewerVersion. A missing file is not an error: the caller starts fresh.
package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// Format is the value of the envelope's "format" field.
const Format = "bumba-pooling-state"

// Schema is the envelope schema this code writes and the newest it reads.
const Schema = 1

// TempSuffix is appended to the state file's path to name the temporary
// file a write goes through. A crash may leave it behind; it is never read
// and the next write replaces it.
const TempSuffix = ".tmp"

// Errors; compare with errors.Is.
var (
	// ErrCorrupt is returned for a file that is not a state file, cannot
	// be parsed (truncated, garbled) or whose checksum does not match.
	ErrCorrupt = errors.New("state file is corrupt")
	// ErrNewerVersion is returned for a file written with a newer schema
	// than this code knows.
	ErrNewerVersion = errors.New("state file has a newer schema version")
)

// envelope is the file's outer shape. Payload is kept as the exact bytes
// found in the file so that the checksum covers precisely them.
type envelope struct {
	Format   string          `json:"format"`
	Schema   int             `json:"schema"`
	Checksum string          `json:"checksum"`
	Payload  json.RawMessage `json:"payload"`
}

// Checksum returns "sha256:<hex>" of payload.
func Checksum(payload []byte) string {
	sum := sha256.Sum256(payload)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Read returns the payload of the state file at path. A missing file
// returns (nil, nil). Any other problem returns an error naming the path:
// ErrCorrupt, ErrNewerVersion, or the I/O error.
func Read(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: read %s: %w", path, err)
	}
	return Decode(path, data)
}

// Decode checks and unwraps the envelope in data (read from name, used in
// errors).
func Decode(name string, data []byte) ([]byte, error) {
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("state: %s: %w: cannot parse (%v); the file was not reset, fix or move it", name, ErrCorrupt, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("state: %s: %w: trailing data after the envelope; the file was not reset, fix or move it", name, ErrCorrupt)
	}
	if env.Format != Format {
		return nil, fmt.Errorf("state: %s: %w: format %q, want %q; the file was not reset", name, ErrCorrupt, env.Format, Format)
	}
	if env.Schema > Schema {
		return nil, fmt.Errorf("state: %s: %w: schema %d, this version reads up to %d; upgrade before using this file", name, ErrNewerVersion, env.Schema, Schema)
	}
	if env.Schema < 1 {
		return nil, fmt.Errorf("state: %s: %w: schema %d", name, ErrCorrupt, env.Schema)
	}
	if len(env.Payload) == 0 {
		return nil, fmt.Errorf("state: %s: %w: no payload", name, ErrCorrupt)
	}
	if got := Checksum(env.Payload); got != env.Checksum {
		return nil, fmt.Errorf("state: %s: %w: checksum %s, payload hashes to %s; the file was not reset, fix or move it", name, ErrCorrupt, env.Checksum, got)
	}
	return env.Payload, nil
}

// Encode wraps payload, which must be valid JSON, in an envelope.
func Encode(payload []byte) ([]byte, error) {
	if !json.Valid(payload) {
		return nil, fmt.Errorf("state: payload is not valid JSON")
	}
	var buf bytes.Buffer
	buf.WriteString("{\n  \"format\": ")
	buf.WriteString(strconv.Quote(Format))
	buf.WriteString(",\n  \"schema\": ")
	buf.WriteString(strconv.Itoa(Schema))
	buf.WriteString(",\n  \"checksum\": ")
	buf.WriteString(strconv.Quote(Checksum(payload)))
	buf.WriteString(",\n  \"payload\": ")
	buf.Write(payload)
	buf.WriteString("\n}\n")
	return buf.Bytes(), nil
}

// Write replaces the state file at path with payload, atomically: the
// envelope goes to path+TempSuffix, is flushed to disk, renamed over path,
// and the directory is flushed. On error the old file is unchanged.
func Write(path string, payload []byte) error {
	data, err := Encode(payload)
	if err != nil {
		return err
	}
	tmp := path + TempSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("state: write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("state: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("state: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("state: close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("state: rename %s: %w", tmp, err)
	}
	return syncDir(filepath.Dir(path))
}

// syncDir flushes a directory so that a rename in it is durable. It is
// best effort: some platforms and filesystems cannot sync a directory, and
// the rename has happened either way.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	_ = d.Sync()
	_ = d.Close()
	return nil
}
