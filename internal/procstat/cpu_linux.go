package procstat

import "golang.org/x/sys/unix"

// ThreadCPU is the calling OS thread's CPU time in ns, or -1 if unavailable. Lock
// the goroutine to its thread (runtime.LockOSThread) around what is measured.
func ThreadCPU() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return -1
	}
	return ts.Nano()
}
