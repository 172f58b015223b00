package failover

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// Entities in the fail-over run: counterCount Counter entities get
// counterAdds signals each, through both hosts, before B is killed; after
// the recovery every counter must hold exactly counterAdds (an operation
// lost or applied twice shows).
const (
	counterCount = 8
	counterAdds  = 25
)

func counterKey(i int) string { return fmt.Sprintf("fo-counter-%d", i) }

// signalCounters sends every counter its signals, alternating hosts.
func signalCounters(t *testing.T, ctx context.Context, hosts []*hostProc) {
	t.Helper()
	parallel(t, 16, counterCount*counterAdds, func(i int) error {
		base := hosts[i%len(hosts)].base
		code, b, _, err := call(ctx, "POST", base+"/api/counters/"+counterKey(i%counterCount)+"/add", []byte("1"))
		if err == nil && code != http.StatusAccepted {
			err = fmt.Errorf("signal: %d %s", code, b)
		}
		return err
	})
}

// verifyCounters waits until every counter has applied its signals and
// checks that each applied every signal once.
func verifyCounters(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	values := map[string]int{}
	waitFor(t, time.Minute, "every counter applied its signals", func() error {
		for i := 0; i < counterCount; i++ {
			code, b, _, err := call(ctx, "GET", base+"/api/counters/"+counterKey(i), nil)
			var c struct{ Value int }
			if err == nil && code == http.StatusOK {
				err = json.Unmarshal(b, &c)
			}
			if err != nil {
				return err
			}
			values[counterKey(i)] = c.Value
		}
		for k, v := range values {
			if v < counterAdds {
				return fmt.Errorf("%w: counter %s = %d", errNotYet, k, v)
			}
		}
		return nil
	}, nil)
	for k, v := range values {
		if v != counterAdds {
			t.Errorf("counter %s = %d, want %d: a signal was applied twice", k, v, counterAdds)
		}
	}
	t.Logf("entities: %d counters (partitions %v), each applied its %d signals exactly once", counterCount, counterPartitions(), counterAdds)
}

// counterPartitions lists the control-queue partition of each counter.
func counterPartitions() []int {
	out := make([]int, counterCount)
	for i := range out {
		out[i] = sp.PartitionIndex("@counter@"+counterKey(i), partitionCount)
	}
	return out
}
