package store

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLockHelperProcess is not a test: TestSQLiteLocksExcludeOtherProcesses runs the
// test binary with it as a second process that opens the same SQLite database.
// "hold" takes the lock, says "locked" and keeps it until killed or its stdin
// closes; "try" reports whether TryLock got it.
func TestLockHelperProcess(t *testing.T) {
	path, mode := os.Getenv("FH_LOCK_HELPER_DB"), os.Getenv("FH_LOCK_HELPER_MODE")
	if path == "" {
		t.Skip("helper process only")
	}
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+path, "")
	if err != nil {
		os.Exit(3)
	}
	switch mode {
	case "hold":
		release, err := s.Lock(ctx, "clustering")
		if err != nil {
			os.Exit(4)
		}
		os.Stdout.WriteString("locked\n")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		release()
	case "try":
		release, ok, err := s.TryLock(ctx, "clustering")
		if err != nil {
			os.Exit(4)
		}
		if ok {
			os.Stdout.WriteString("got it\n")
			release()
		} else {
			os.Stdout.WriteString("busy\n")
		}
	}
	os.Exit(0)
}

func helper(t *testing.T, path, mode string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), "FH_LOCK_HELPER_DB="+path, "FH_LOCK_HELPER_MODE="+mode)
	if _, err := cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, bufio.NewReader(out)
}

// TestSQLiteLocksExcludeOtherProcesses: on SQLite the named locks hold across
// processes (a CLI merge beside serve's clustering pass): while another process holds
// the clustering lock, Lock waits and gives up with its context, and a holder that
// dies, even killed, frees it. While this process holds it, another's TryLock fails.
func TestSQLiteLocksExcludeOtherProcesses(t *testing.T) {
	if !fileLockSupported {
		t.Skip("no flock on this platform: SQLite locks are per process")
	}
	path := filepath.Join(t.TempDir(), "fh.db")
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+path, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	cmd, out := helper(t, path, "hold")
	if line, err := out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if release, err := s.Lock(short, "clustering"); err == nil {
		release()
		t.Fatal("took the clustering lock while another process holds it")
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lock while held elsewhere = %v, want the context's deadline", err)
	}
	if _, ok, err := s.TryLock(ctx, "clustering"); err != nil || ok {
		t.Fatalf("try lock while held elsewhere = %v, %v", ok, err)
	}
	// The holder dies without releasing.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	wait, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	release, err := s.Lock(wait, "clustering")
	if err != nil {
		t.Fatalf("lock after the holder died = %v", err)
	}

	// Now this process holds it: the other process cannot take it.
	_, out = helper(t, path, "try")
	if line, err := out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "busy" {
		t.Fatalf("the other process's TryLock while held here said %q, %v", line, err)
	}
	release()
	_, out = helper(t, path, "try")
	if line, err := out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "got it" {
		t.Fatalf("the other process's TryLock after release said %q, %v", line, err)
	}
}
