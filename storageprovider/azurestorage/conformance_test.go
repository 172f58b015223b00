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
	conformance.RunWithOptions(t, conformance.Options{
		LockTimeout:     2 * time.Second,
		QuietPeriod:     1500 * time.Millisecond,
		PagingInstances: 120,
		PageSize:        50,
	}, func(t *testing.T) sp.TaskHub {
		h := newTestHub(t, conn, nil)
		// The suite starts the hub; partitions are acquired right away
		// (the lease manager's first round runs at start).
		return h
	})
}
