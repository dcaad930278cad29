//go:build unix

package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// openRead opens path for reading without blocking (a FIFO with no writer
// would otherwise block the open).
func openRead(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// fileLock is a held flock on the lock file.
type fileLock struct{ f *os.File }

// lock takes the exclusive lock on path+LockSuffix, polling until it is
// free, LockWait has passed or ctx ends.
func lock(ctx context.Context, path string) (*fileLock, error) {
	name := path + LockSuffix
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: lock %s: %w", name, err)
	}
	start := time.Now()
	deadline := start.Add(LockWait)
	wait := 200 * time.Microsecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("state: lock %s: %w", name, err)
		}
		if cerr := ctx.Err(); cerr != nil {
			_ = f.Close()
			return nil, fmt.Errorf("state: %s: %w (%s); waited %v: %w", path, ErrLocked, holder(name), time.Since(start).Round(time.Millisecond), cerr)
		}
		if !time.Now().Before(deadline) {
			_ = f.Close()
			return nil, fmt.Errorf("state: %s: %w (%s); waited %v", path, ErrLocked, holder(name), LockWait)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		wait = min(2*wait, 20*time.Millisecond)
	}
	// Record who holds it, for the error another writer gets.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &fileLock{f: f}, nil
}

// holder describes who holds the lock, from the pid in the lock file.
func holder(name string) string {
	b := make([]byte, 32)
	f, err := os.Open(name)
	if err != nil {
		return "holder unknown"
	}
	defer f.Close()
	n, _ := f.Read(b)
	pid := strings.TrimSpace(string(b[:n]))
	if _, err := strconv.Atoi(pid); err != nil {
		return "holder unknown"
	}
	if pid == strconv.Itoa(os.Getpid()) {
		return "held by another writer in this process, pid " + pid
	}
	return "held by process " + pid
}

func (l *fileLock) unlock() {
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
}
