// Package hosttest holds small helpers shared by the host's tests: a log
// sink safe for concurrent writers, free ports, and app folders on disk.
package hosttest

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// SyncBuffer collects output written from several goroutines (a host's
// handlers and workers logging at once).
type SyncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// WriteFunctions writes functions/<name>/function.json under root for each
// entry of fns (name → file body).
func WriteFunctions(t testing.TB, root string, fns map[string]string) {
	t.Helper()
	for name, body := range fns {
		dir := filepath.Join(root, "functions", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "function.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
