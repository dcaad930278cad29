package state

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// temps lists the temporary files next to path.
func temps(t *testing.T, path string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), filepath.Base(path)+TempSuffix) {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestReadRefusesAFIFOWithoutBlocking(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	done := make(chan error, 1)
	go func() { _, err := Read(path); done <- err }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, ErrNotRegular)
		require.Contains(t, err.Error(), path)
	case <-time.After(10 * time.Second): // a guard against a hang, not a timing assertion
		t.Fatal("Read blocked on a FIFO")
	}
}

func TestReadRefusesADirectoryAndADevice(t *testing.T) {
	_, err := Read(t.TempDir())
	require.ErrorIs(t, err, ErrNotRegular)
	_, err = Read("/dev/zero")
	require.ErrorIs(t, err, ErrNotRegular)
}

func TestReadRefusesAFileOverTheBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(MaxFileSize+1)) // sparse: no disk used
	require.NoError(t, f.Close())
	_, err = Read(path)
	require.ErrorIs(t, err, ErrTooLarge)
	require.Contains(t, err.Error(), "16777217 bytes")
	_, err = ReadSections(path)
	require.ErrorIs(t, err, ErrTooLarge)

	// At the bound it is read (and refused as not a state file).
	require.NoError(t, os.Truncate(path, MaxFileSize))
	_, err = Read(path)
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestWriteRefusesAStateOverTheBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	require.NoError(t, Write(path, []byte(`{"a":1}`)))
	big := `"` + strings.Repeat("x", MaxFileSize) + `"`
	err := Write(path, []byte(big))
	require.ErrorIs(t, err, ErrTooLarge)
	got, err := Read(path)
	require.NoError(t, err)
	require.JSONEq(t, `{"a":1}`, string(got), "unchanged")
	require.Empty(t, temps(t, path))
}

// A link planted where the temporary file or the lock would go is never
// followed: the write goes to a fresh file of its own.
func TestWriteNeverFollowsALink(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.json")
	victim := filepath.Join(dir, "victim")
	require.NoError(t, os.WriteFile(victim, []byte("keep"), 0o600))
	require.NoError(t, os.Symlink(victim, path+TempSuffix))
	require.NoError(t, Write(path, []byte(`{"a":1}`)))
	b, err := os.ReadFile(victim)
	require.NoError(t, err)
	require.Equal(t, "keep", string(b))

	lockPath := filepath.Join(dir, "l.json")
	require.NoError(t, os.Symlink(victim, lockPath+LockSuffix))
	require.Error(t, Write(lockPath, []byte(`{}`)), "a lock file that is a link is refused")
	b, err = os.ReadFile(victim)
	require.NoError(t, err)
	require.Equal(t, "keep", string(b))
}

func TestSaveSectionKeepsTheOthers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.json")
	got, err := ReadSections(path)
	require.NoError(t, err)
	require.Empty(t, got)
	_, err = SaveSection(ctx, path, "a", []byte(`{"n":1}`))
	require.NoError(t, err)
	all, err := SaveSection(ctx, path, "b", []byte(`{"n":2}`))
	require.NoError(t, err)
	require.Len(t, all, 2)
	got, err = ReadSections(path)
	require.NoError(t, err)
	require.JSONEq(t, `{"n":1}`, string(got["a"]))
	require.JSONEq(t, `{"n":2}`, string(got["b"]))

	_, err = SaveSection(ctx, path, "c", []byte(`{`))
	require.Error(t, err)
	got, err = ReadSections(path)
	require.NoError(t, err)
	require.Len(t, got, 2, "a bad section changes nothing")
}

func TestUpdateRefusesACorruptFileAndLeavesIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	require.NoError(t, os.WriteFile(path, []byte("garbage"), 0o600))
	called := false
	_, err := UpdateSections(context.Background(), path, func(Sections) error { called = true; return nil })
	require.ErrorIs(t, err, ErrCorrupt)
	require.False(t, called)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "garbage", string(b))
}

func TestSectionsPayloadMustBeAnObject(t *testing.T) {
	for _, p := range []string{`[1]`, `{"sections": 3}`, `{"sections": [1]}`, `"x"`} {
		_, err := DecodeSections("f", []byte(p))
		require.ErrorIs(t, err, ErrCorrupt, p)
	}
	s, err := DecodeSections("f", []byte(`{"sections": {"a": {"x": 1}, "n": null}}`))
	require.NoError(t, err)
	require.Equal(t, Sections{"a": json.RawMessage(`{"x": 1}`)}, s)
}

// Another writer holding the lock: the write waits, then fails with
// ErrLocked naming the holder, and changes nothing.
func TestWriteWhileAnotherWriterHoldsTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	require.NoError(t, Write(path, []byte(`{"a":1}`)))
	held, err := lock(context.Background(), path)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = SaveSection(ctx, path, "b", []byte(`{}`))
	require.ErrorIs(t, err, ErrLocked)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, err.Error(), path)
	require.Contains(t, err.Error(), "pid")
	got, err := Read(path)
	require.NoError(t, err)
	require.JSONEq(t, `{"a":1}`, string(got))

	held.unlock()
	_, err = SaveSection(context.Background(), path, "b", []byte(`{}`))
	require.NoError(t, err, "free again once the holder lets go")
}

// Write replaces whatever the file holds, a corrupt file included; Update
// refuses to build on one.
func TestWriteReplacesACorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	require.NoError(t, os.WriteFile(path, []byte("garbage"), 0o600))
	require.ErrorIs(t, Update(context.Background(), path, func(old []byte) ([]byte, error) { return old, nil }), ErrCorrupt)
	require.NoError(t, Write(path, []byte(`{"a":1}`)))
	got, err := Read(path)
	require.NoError(t, err)
	require.JSONEq(t, `{"a":1}`, string(got))
}
