package durableclient_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funchost/funchost/host/durableclient"
	sp "github.com/funchost/funchost/storageprovider"
)

// countingHub counts status-row reads.
type countingHub struct {
	sp.TaskHub
	reads atomic.Int64
}

func (h *countingHub) GetOrchestrationState(ctx context.Context, id string, fetch bool) (*sp.OrchestrationState, error) {
	h.reads.Add(1)
	return h.TaskHub.GetOrchestrationState(ctx, id, fetch)
}

// TestPollingIntervalFloor: however short the polling interval asked for,
// waiting reads the status row at most every MinPollingInterval (plus
// the first and the final read).
func TestPollingIntervalFloor(t *testing.T) {
	t.Parallel()
	for _, interval := range []time.Duration{time.Nanosecond, time.Millisecond, 50 * time.Millisecond} {
		var hub *countingHub
		c, _ := newClient(t, func(o *durableclient.Options) { hub = &countingHub{TaskHub: o.Hub}; o.Hub = hub })
		id, err := c.StartNew(t.Context(), "Hello", nil)
		if err != nil {
			t.Fatal(err)
		}
		const wait = 300 * time.Millisecond
		if _, err := c.WaitForCompletion(t.Context(), id, wait, interval); err != nil {
			t.Fatal(err)
		}
		if max := int64(wait/durableclient.MinPollingInterval) + 3; hub.reads.Load() > max {
			t.Errorf("pollingInterval %v: %d status reads in %v, want at most %d", interval, hub.reads.Load(), wait, max)
		}
	}
}
