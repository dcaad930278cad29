package migrate

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Two FileStores on one file (two processes, or two in one) keep each
// other's sections: each save re-reads the file under its lock.
func TestTwoFileStoresOnOneFileKeepEachOthersSections(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	a, err := OpenFileStore(path)
	require.NoError(t, err)
	b, err := OpenFileStore(path)
	require.NoError(t, err)
	require.NoError(t, a.Save(ctx, SectionRollout, []byte(`{"version":1,"from":"a"}`)))
	require.NoError(t, b.Save(ctx, "rollbacks", []byte(`{"version":1,"from":"b"}`)))
	require.NoError(t, a.Save(ctx, SectionRollout, []byte(`{"version":1,"from":"a2"}`)))

	c, err := OpenFileStore(path)
	require.NoError(t, err)
	got, err := c.Load(ctx, SectionRollout)
	require.NoError(t, err)
	require.JSONEq(t, `{"version":1,"from":"a2"}`, string(got))
	got, err = c.Load(ctx, "rollbacks")
	require.NoError(t, err)
	require.JSONEq(t, `{"version":1,"from":"b"}`, string(got), "b's section survived a's later save")
	got, err = a.Load(ctx, "rollbacks")
	require.NoError(t, err)
	require.JSONEq(t, `{"version":1,"from":"b"}`, string(got), "a sees b's section after its own save")
}

// A save while another writer holds the file's lock fails with
// ErrStateLocked once its context ends, and changes nothing.
func TestFileStoreSaveWhileLocked(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	s, err := OpenFileStore(path)
	require.NoError(t, err)
	require.NoError(t, s.Save(ctx, SectionRollout, []byte(`{"version":1}`)))

	lock, err := openLockForTest(path + ".lock")
	require.NoError(t, err)
	defer lock()

	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	err = s.Save(short, SectionRollout, []byte(`{"version":1,"changed":true}`))
	require.ErrorIs(t, err, ErrStateLocked)
	got, err := s.Load(ctx, SectionRollout)
	require.NoError(t, err)
	require.JSONEq(t, `{"version":1}`, string(got))
}

// openLockForTest takes the state file's lock as another writer would.
func openLockForTest(name string) (release func(), err error) {
	fd, err := syscall.Open(name, syscall.O_RDWR|syscall.O_CREAT, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(fd, syscall.LOCK_EX); err != nil {
		_ = syscall.Close(fd)
		return nil, err
	}
	return func() { _ = syscall.Close(fd) }, nil
}
