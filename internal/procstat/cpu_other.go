//go:build !linux

package procstat

// ThreadCPU is unavailable here: -1 (callers leave CPU time out).
func ThreadCPU() int64 { return -1 }
