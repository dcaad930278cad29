//go:build !unix

package state

import (
	"context"
	"os"
	"sync"
)

// openRead opens path for reading.
func openRead(path string) (*os.File, error) { return os.Open(path) }

// Without flock, writers in one process are serialised; writers in two
// processes are not (documented in the package comment as unix-only).
var processLock sync.Mutex

type fileLock struct{}

func lock(ctx context.Context, path string) (*fileLock, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	processLock.Lock()
	return &fileLock{}, nil
}

func (l *fileLock) unlock() { processLock.Unlock() }
