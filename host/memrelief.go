package host

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Go's runtime gives freed heap memory back to the operating system slowly
// (a background scavenger paced at about 1 % of one CPU): after one large
// payload — a 30 MB orchestration output took the host to 340 MB — the
// process keeps that RSS for many minutes although the heap is small
// again. The host checks twice a minute and, when more than
// memoryReliefThreshold of heap is free but still held, returns it at once.
const (
	memoryReliefInterval  = 30 * time.Second
	memoryReliefThreshold = 64 << 20
)

const heapFreeMetric = "/memory/classes/heap/free:bytes"

// heldFreeHeap is the heap memory that is free but not yet returned to
// the operating system.
func heldFreeHeap() uint64 {
	s := []metrics.Sample{{Name: heapFreeMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// relieveMemory returns held free heap to the operating system when there
// is more than threshold of it, and reports whether it did.
func relieveMemory(held func() uint64, threshold uint64, free func()) bool {
	if held() <= threshold {
		return false
	}
	free()
	return true
}

// startMemoryRelief runs relieveMemory every memoryReliefInterval until
// ctx ends.
func startMemoryRelief(ctx context.Context, log *slog.Logger) {
	go func() {
		t := time.NewTicker(memoryReliefInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				before := heldFreeHeap()
				if relieveMemory(heldFreeHeap, memoryReliefThreshold, debug.FreeOSMemory) {
					log.Debug("returned free heap memory to the operating system", "bytes", before)
				}
			}
		}
	}()
}
