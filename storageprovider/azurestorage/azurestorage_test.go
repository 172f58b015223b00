package azurestorage

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

var hubCounter atomic.Int64

// uniqueHubName returns a fresh task hub name for a test.
func uniqueHubName(prefix string) string {
	return fmt.Sprintf("%s%d%d", prefix, time.Now().UnixNano()%1e9, hubCounter.Add(1))
}

// testLogger logs warnings and errors to the test output when verbose.
func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelError
	if testing.Verbose() {
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("test", t.Name())
}

// newTestHub returns a hub on the package's Azurite with short locks and
// polling, deleted when the test ends.
func newTestHub(t testing.TB, conn string, mod func(*Options)) *TaskHub {
	t.Helper()
	c, err := ParseConnectionString(conn)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		TaskHubName:                    uniqueHubName("t"),
		Connection:                     c,
		PartitionCount:                 2,
		MaxQueuePollingInterval:        200 * time.Millisecond,
		ControlQueueVisibilityTimeout:  2 * time.Second,
		WorkItemQueueVisibilityTimeout: 2 * time.Second,
		LeaseInterval:                  15 * time.Second,
		LeaseRenewInterval:             time.Second,
		Logger:                         testLogger(t),
	}
	if mod != nil {
		mod(&opts)
	}
	h, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = h.Stop(ctx)
		if err := h.DeleteTaskHub(ctx); err != nil {
			t.Errorf("DeleteTaskHub: %v", err)
		}
	})
	return h
}

// startHub creates and starts h and waits until it owns all partitions.
func startHub(t testing.TB, h *TaskHub) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.CreateIfNotExists(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "all partitions owned", func() bool { return len(h.OwnedPartitions()) == h.opts.PartitionCount })
}

// createAndLock creates an instance from start and locks its first work
// item.
func createAndLock(ctx context.Context, t testing.TB, h *TaskHub, start *sp.TaskMessage) *sp.OrchestrationWorkItem {
	t.Helper()
	if err := h.CreateInstance(ctx, start); err != nil {
		t.Fatal(err)
	}
	wi, err := h.LockNextOrchestrationWorkItem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return wi
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
