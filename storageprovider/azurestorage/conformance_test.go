package azurestorage

import (
	"testing"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
	"github.com/funchost/funchost/storageprovider/conformance"
)

func TestConformance(t *testing.T) {
	conn := azuritetest.ConnectionString(t)
	// Locks are queue visibility timeouts. They are kept short so that the
	// expiry tests run quickly, but long enough for LargePayloads to move
	// its 1 MiB payloads through Azurite on a loaded machine within one
	// lock: at 2 s and 5 s the start message's lock ran out before the
	// commit deleted it (measured: 4 s from receive to lock, 5 s commit).
	const lock = 10 * time.Second
	conformance.RunWithOptions(t, conformance.Options{
		LockTimeout:     lock,
		QuietPeriod:     1500 * time.Millisecond,
		PagingInstances: 120,
		PageSize:        50,
	}, func(t *testing.T) sp.TaskHub {
		h := newTestHub(t, conn, func(o *Options) {
			o.ControlQueueVisibilityTimeout, o.WorkItemQueueVisibilityTimeout = lock, lock
		})
		// The suite starts the hub; partitions are acquired right away
		// (the lease manager's first round runs at start).
		return h
	})
}
