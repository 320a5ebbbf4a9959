// Package procstat reads process statistics for measurements (benchmarks and the
// dedup evaluation): peak resident memory and the calling thread's CPU time.
package procstat

import (
	"os"
	"runtime"
	"strconv"
	"strings"
)

// PeakRSSMB returns the process's peak resident set size in MiB from
// /proc/self/status (VmHWM), or the Go runtime's obtained memory where that file is
// not available.
func PeakRSSMB() float64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, ln := range strings.Split(string(b), "\n") {
			if f := strings.Fields(ln); len(f) >= 2 && f[0] == "VmHWM:" {
				if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
					return kb / 1024
				}
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.Sys) / (1 << 20)
}
