//go:build !linux

package dedupeval

// threadCPU is unavailable here: -1 leaves CPU time out of the report.
func threadCPU() int64 { return -1 }
