package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/bumba/pooling/internal/state"
)

// Store keeps durable state as named sections of JSON: the controller
// keeps the rollout in SectionRollout and the rollback manager its records
// in "rollbacks". Hand the same Store to both. Each Save must be atomic:
// after a crash Load returns either the old or the new bytes of a section.
//
// Implementations must be safe for concurrent use. OpenFileStore is the
// durable default; NewMemoryStore keeps state in memory (tests, or a host
// that accepts losing the rollout's progress on restart).
type Store interface {
	// Load returns a section's bytes, or (nil, nil) if it was never saved.
	Load(ctx context.Context, section string) ([]byte, error)
	// Save replaces a section's bytes.
	Save(ctx context.Context, section string, data []byte) error
}

// SectionRollout is the section the controller keeps its state in.
const SectionRollout = "rollout"

// FileStore keeps every section in one file, written atomically (temporary
// file, fsync, rename, directory fsync) with a schema version and a SHA-256
// checksum, under an advisory lock (flock) so that two FileStores on one
// file — in one process or two — never lose each other's sections. The
// file is bounded (state.MaxFileSize, 16 MiB) and must be a regular file.
type FileStore struct {
	path string
	mem  MemoryStore // the sections as last written
}

// OpenFileStore opens the state file at path and reads it. A missing file
// starts empty (it is created by the first Save). A file that is corrupt,
// truncated, fails its checksum or has a newer schema is refused with an
// error wrapping ErrCorruptState or ErrNewerState; it is never reset, so
// that an operator can look at it.
func OpenFileStore(path string) (*FileStore, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: OpenFileStore(%q): want a file path", ErrInvalidConfig, path)
	}
	sections, err := state.ReadSections(path)
	if err != nil {
		return nil, err
	}
	s := &FileStore{path: path, mem: MemoryStore{sections: map[string][]byte{}}}
	for k, v := range sections {
		s.mem.sections[k] = v
	}
	return s, nil
}

// Path returns the file's path.
func (s *FileStore) Path() string { return s.path }

// Load implements Store.
func (s *FileStore) Load(ctx context.Context, section string) ([]byte, error) {
	return s.mem.Load(ctx, section)
}

// Save implements Store: it replaces the section in the file, holding the
// file's lock (internal/state) across reading the file and writing it, so
// that sections another FileStore or process saved in the meantime are
// kept; the store then holds the file's sections as written. If another
// writer holds the lock until ctx ends (or for state.LockWait) it returns
// an error wrapping ErrStateLocked. If the write fails the file and the
// store are unchanged.
func (s *FileStore) Save(ctx context.Context, section string, data []byte) error {
	if err := checkSave(ctx, section, data); err != nil {
		return err
	}
	s.mem.mu.Lock()
	defer s.mem.mu.Unlock()
	written, err := state.SaveSection(ctx, s.path, section, data)
	if err != nil {
		return err
	}
	s.mem.sections = make(map[string][]byte, len(written))
	for k, v := range written {
		s.mem.sections[k] = v
	}
	return nil
}

// ErrStateLocked is returned by FileStore.Save when another writer holds
// the state file's lock for longer than the save can wait.
var ErrStateLocked = state.ErrLocked

// MemoryStore is a Store in memory.
type MemoryStore struct {
	mu       sync.Mutex
	sections map[string][]byte
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{sections: map[string][]byte{}} }

// Load implements Store.
func (s *MemoryStore) Load(ctx context.Context, section string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.sections[section]
	if !ok {
		return nil, nil
	}
	return bytes.Clone(v), nil
}

// Save implements Store.
func (s *MemoryStore) Save(ctx context.Context, section string, data []byte) error {
	if err := checkSave(ctx, section, data); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sections[section] = bytes.Clone(data)
	return nil
}

// checkSave refuses a save whose context has ended or whose data is not
// JSON (sections are JSON so that one file can hold them all).
func checkSave(ctx context.Context, section string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !json.Valid(data) {
		return fmt.Errorf("migrate: save section %q: not valid JSON", section)
	}
	return nil
}

// versioned is the header every section starts with.
type versioned struct {
	Version int `json:"version"`
}

// CheckSectionVersion reads the "version" field of a section's bytes and
// refuses a version newer than newest (ErrNewerState) or a section that is
// not a JSON object with a positive version (ErrCorruptState). The
// rollback package uses it for its own section.
func CheckSectionVersion(section string, data []byte, newest int) error {
	var v versioned
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("migrate: section %q: %w: %v", section, ErrCorruptState, err)
	}
	if v.Version > newest {
		return fmt.Errorf("migrate: section %q: %w: version %d, this version reads up to %d", section, ErrNewerState, v.Version, newest)
	}
	if v.Version < 1 {
		return fmt.Errorf("migrate: section %q: %w: version %d", section, ErrCorruptState, v.Version)
	}
	return nil
}
