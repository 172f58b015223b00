package host

import (
	"runtime/metrics"
	"testing"
)

func TestRelieveMemory(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		held uint64
		want bool
	}{{0, false}, {64 << 20, false}, {64<<20 + 1, true}, {1 << 30, true}} {
		freed := false
		got := relieveMemory(func() uint64 { return tc.held }, 64<<20, func() { freed = true })
		if got != tc.want || freed != tc.want {
			t.Errorf("held %d: relieved %v (free called %v), want %v", tc.held, got, freed, tc.want)
		}
	}
}

// TestHeldFreeHeapMetric: the runtime has the metric the relief reads
// (a misspelt name would read as 0 and the relief would never run).
func TestHeldFreeHeapMetric(t *testing.T) {
	t.Parallel()
	for _, d := range metrics.All() {
		if d.Name == heapFreeMetric && d.Kind == metrics.KindUint64 {
			return
		}
	}
	t.Fatalf("runtime/metrics has no uint64 %s", heapFreeMetric)
}
