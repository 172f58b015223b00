package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procUsage samples a process's CPU time and memory. pid 0 means this
// process (getrusage); otherwise /proc/<pid> is read, which is how the
// HTTP mode measures a host running as another process. A negative pid
// measures nothing (a remote host whose pid is unknown).
type procUsage struct{ pid int }

// cpu returns the user+system CPU time consumed so far.
func (p procUsage) cpu() (time.Duration, error) {
	if p.pid < 0 {
		return 0, nil
	}
	if p.pid == 0 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return 0, fmt.Errorf("getrusage: %w", err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// clockTicks is USER_HZ, 100 on every Linux platform Go supports for
// /proc accounting.
const clockTicks = 100

// parseStatCPU extracts utime+stime (fields 14 and 15) from /proc/pid/stat.
// The command name (field 2) may contain spaces, so fields are counted
// after its closing parenthesis.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc stat line")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime is field 14 → f[11], stime f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat line")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed utime/stime in /proc stat line")
	}
	return time.Duration(u+s) * time.Second / clockTicks, nil
}

// memory returns the current (VmRSS) and peak (VmHWM) resident set size in
// bytes.
func (p procUsage) memory() (rss, peak int64, err error) {
	if p.pid < 0 {
		return 0, 0, nil
	}
	path := "/proc/self/status"
	if p.pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", p.pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if p.pid == 0 {
			// No procfs: fall back to getrusage's lifetime peak.
			var ru syscall.Rusage
			if e := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); e == nil {
				return 0, ru.Maxrss * 1024, nil
			}
		}
		return 0, 0, err
	}
	rss, peak = parseStatusKB(string(b), "VmRSS:")*1024, parseStatusKB(string(b), "VmHWM:")*1024
	return rss, peak, nil
}

// parseStatusKB returns the kB value of a /proc/pid/status line, 0 if absent.
func parseStatusKB(status, key string) int64 {
	for _, line := range strings.Split(status, "\n") {
		if !strings.HasPrefix(line, key) {
			continue
		}
		f := strings.Fields(line[len(key):])
		if len(f) == 0 {
			return 0
		}
		v, _ := strconv.ParseInt(f[0], 10, 64)
		return v
	}
	return 0
}

// resetPeak resets the kernel's peak RSS mark (VmHWM) so that each
// scenario's peak is its own. Best effort: it needs Linux ≥ 4.0 and write
// access to clear_refs.
func (p procUsage) resetPeak() {
	if p.pid < 0 {
		return
	}
	path := "/proc/self/clear_refs"
	if p.pid != 0 {
		path = fmt.Sprintf("/proc/%d/clear_refs", p.pid)
	}
	_ = os.WriteFile(path, []byte("5"), 0)
}

// findChildAzurite returns the pid of the Azurite (node) process this
// process started, or 0. Azurite's CPU time per storage request shows how
// far a run is from the emulator's ceiling.
func findChildAzurite() int {
	self := os.Getpid()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || parseStatPPID(string(stat)) != self {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.Contains(string(cmd), "azurite") {
			return pid
		}
	}
	return 0
}

// parseStatPPID extracts the parent pid (field 4) from /proc/pid/stat.
func parseStatPPID(stat string) int {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// loadAverage returns the 1-minute load average, or 0 when unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
