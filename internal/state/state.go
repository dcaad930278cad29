// Package state reads and writes the durable state file shared by the
// migrate and rollback packages: a JSON envelope with a format name, a
// schema version and a SHA-256 checksum of its payload.
//
// Writing: every write holds an advisory lock (flock on path+LockSuffix)
// for as long as it reads, changes and replaces the file, so that two
// writers — two processes, or two stores in one process — never lose each
// other's sections. The new envelope goes to a temporary file of its own
// (os.CreateTemp in the same directory: O_EXCL, so never through a link),
// is flushed to disk and renamed over the file, and the directory is
// flushed: a crash at any point leaves either the old state or the new
// one, never a mix. A writer that cannot get the lock within LockWait (or
// before its context ends) gets an error wrapping ErrLocked naming the
// process that holds it. The lock is flock(2), on unix systems; elsewhere
// writers in one process are serialised and writers in two are not.
//
// Reading never blocks and never repairs or resets: a file that is not a
// regular file (a FIFO, a device), is larger than MaxFileSize, is not a
// state file, whose checksum does not match (corrupt, truncated, edited)
// or whose schema is newer than this code is refused with an error
// wrapping ErrNotRegular, ErrTooLarge, ErrCorrupt or ErrNewerVersion. A
// missing file is not an error: the caller starts fresh. Readers take no
// lock: the rename makes each write visible at once and whole.
package state

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Format is the value of the envelope's "format" field.
const Format = "bumba-pooling-state"

// Schema is the envelope schema this code writes and the newest it reads.
const Schema = 1

// TempSuffix starts the name of the temporary files a write goes through:
// path + TempSuffix + a random part. A crash may leave one behind; it is
// never read, and the next write (holding the lock, so no other write is
// using it) removes it.
const TempSuffix = ".tmp"

// LockSuffix is appended to the state file's path to name the lock file.
// The lock file holds the process id of the last writer and is never
// removed (removing it would let two writers lock different files).
const LockSuffix = ".lock"

// MaxFileSize bounds the state file: Read refuses a larger file
// (ErrTooLarge) without reading it, and a write refuses to produce one.
const MaxFileSize = 16 << 20

// LockWait is how long a write waits for another writer's lock before it
// fails with ErrLocked (less if its context ends first).
const LockWait = 10 * time.Second

// Errors; compare with errors.Is.
var (
	// ErrCorrupt is returned for a file that is not a state file, cannot
	// be parsed (truncated, garbled) or whose checksum does not match.
	ErrCorrupt = errors.New("state file is corrupt")
	// ErrNewerVersion is returned for a file written with a newer schema
	// than this code knows.
	ErrNewerVersion = errors.New("state file has a newer schema version")
	// ErrTooLarge is returned for a file, or a write, larger than
	// MaxFileSize.
	ErrTooLarge = errors.New("state file is too large")
	// ErrNotRegular is returned for a path that is not a regular file (a
	// FIFO, a socket, a device, a directory).
	ErrNotRegular = errors.New("state file is not a regular file")
	// ErrLocked is returned by a write when another writer holds the
	// file's lock for longer than the write can wait.
	ErrLocked = errors.New("state file is locked for writing by another writer")
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
// ErrNotRegular, ErrTooLarge, ErrCorrupt, ErrNewerVersion, or the I/O
// error. It never blocks on a FIFO and never reads more than MaxFileSize+1
// bytes.
func Read(path string) ([]byte, error) {
	data, err := readFile(path)
	if err != nil || data == nil {
		return nil, err
	}
	return Decode(path, data)
}

// readFile reads a regular file of at most MaxFileSize bytes; a missing
// file returns (nil, nil).
func readFile(path string) ([]byte, error) {
	f, err := openRead(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: read %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("state: read %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("state: read %s: %w (mode %s); point the state path at a file", path, ErrNotRegular, fi.Mode().Type())
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("state: read %s: %w: %d bytes, the limit is %d; the file was not read", path, ErrTooLarge, fi.Size(), MaxFileSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("state: read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("state: read %s: %w: more than %d bytes", path, ErrTooLarge, MaxFileSize)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// Decode checks and unwraps the envelope in data (read from name, used in
// errors).
func Decode(name string, data []byte) ([]byte, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("state: %s: %w: %d bytes, the limit is %d", name, ErrTooLarge, len(data), MaxFileSize)
	}
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
	if buf.Len() > MaxFileSize {
		return nil, fmt.Errorf("state: %w: the new state is %d bytes, the limit is %d; nothing was written", ErrTooLarge, buf.Len(), MaxFileSize)
	}
	return buf.Bytes(), nil
}

// Write replaces the state file at path with payload, atomically and
// holding the lock (waiting at most LockWait), whatever the old file holds
// (it is not read). On error the old file is unchanged.
func Write(path string, payload []byte) error {
	l, err := lock(context.Background(), path)
	if err != nil {
		return err
	}
	defer l.unlock()
	removeStaleTemps(path)
	return replace(path, payload)
}

// Update replaces the state file's payload with fn(old) while holding the
// lock, so that no other writer changes the file between the read and the
// write. old is nil when the file does not exist; a file that cannot be
// read (corrupt, newer, too large) is an error and fn is not called. The
// lock wait ends at LockWait or when ctx ends (ErrLocked). On any error —
// from fn or from the write — the file is unchanged.
func Update(ctx context.Context, path string, fn func(old []byte) ([]byte, error)) error {
	l, err := lock(ctx, path)
	if err != nil {
		return err
	}
	defer l.unlock()
	removeStaleTemps(path)
	old, err := Read(path)
	if err != nil {
		return err
	}
	payload, err := fn(old)
	if err != nil {
		return err
	}
	return replace(path, payload)
}

// replace writes payload to a fresh temporary file, flushes it and renames
// it over path; the caller holds the lock.
func replace(path string, payload []byte) error {
	data, err := Encode(payload)
	if err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, base+TempSuffix+"*")
	if err != nil {
		return fmt.Errorf("state: write %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(op string, err error) error {
		_ = f.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("state: %s %s: %w", op, tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail("write", err)
	}
	if err := f.Sync(); err != nil {
		return fail("sync", err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("state: close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("state: rename %s: %w", tmp, err)
	}
	return syncDir(dir)
}

// removeStaleTemps removes temporary files a crashed write left behind.
// The caller holds the lock, so no live write is using any of them.
func removeStaleTemps(path string) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := base + TempSuffix
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && !e.IsDir() {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
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
