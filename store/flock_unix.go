//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// fileLockSupported says whether SQLite's named locks also exclude other processes
// (through flock on a file beside the database).
const fileLockSupported = true

// fileLock takes an exclusive flock on path (created with mode if missing), waiting while
// another process holds it until ctx ends (wait false: only if free, ok reports it).
// The kernel drops the lock when the holder exits, however it ends, so a crashed
// process never leaves it held.
func fileLock(ctx context.Context, path string, mode os.FileMode, wait bool) (release func(), ok bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, mode)
	if err != nil {
		return nil, false, fmt.Errorf("lock file: %w", err)
	}
	delay := 2 * time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, true, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, false, fmt.Errorf("lock file %s: %w", path, err)
		}
		if !wait {
			f.Close()
			return nil, false, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, false, ctx.Err()
		case <-time.After(delay):
		}
		// Short polls: a clustering pass frees the lock only for a short gap between
		// its slices.
		delay = min(delay*2, 10*time.Millisecond)
	}
}
