package mgmtapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/funchost/funchost/storageprovider/azurestorage"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

// TestAzuriteEndToEnd runs the end-to-end suite against Azurite (or the
// account named by FUNCHOST_TEST_STORAGE_CONNECTION).
func TestAzuriteEndToEnd(t *testing.T) {
	cs := azuritetest.ConnectionString(t)
	conn, err := azurestorage.ResolveConnection("Storage", func(key string) (string, bool) {
		if key == "AzureWebJobsStorage" {
			return cs, true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hub, err := azurestorage.New(ctx, azurestorage.Options{
		TaskHubName: fmt.Sprintf("mgmtapi%d", time.Now().UnixNano()%1_000_000_000),
		Connection:  conn,
		// An idle queue is polled at least every 100 ms, so that no step of
		// the suite waits for the default 30 s back-off.
		MaxQueuePollingInterval: 100 * time.Millisecond,
		Logger:                  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := hub.DeleteTaskHub(context.Background()); err != nil {
			t.Errorf("deleting the task hub: %v", err)
		}
	})
	runHub(t, hub)
	endToEnd(t, newServer(t, hub, nil))
}
