package main

import (
	"context"
	"testing"
	"time"

	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

// TestRunLoadInProcessAzurite checks the Azure Storage wiring: instances
// complete and the provider's request counter is read per orchestration.
func TestRunLoadInProcessAzurite(t *testing.T) {
	conn := azuritetest.ConnectionString(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := newInproc(ctx, inprocConfig{provider: "azurite", connection: conn, hubName: "bench" + randomHex(8), worker: defaultWorker()})
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := scenarioFor("HelloCities5", 0)
	r := runLoad(ctx, p, sc, loadOptions{n: 5, concurrency: 5})
	if err := p.close(ctx); err != nil {
		t.Errorf("close (deleting the task hub): %v", err)
	}
	if r.Completed != 5 || r.Failed != 0 {
		t.Fatalf("completed %d failed %d: %s", r.Completed, r.Failed, r.Error)
	}
	if r.StorageRequestsPerOrchestration == nil || *r.StorageRequestsPerOrchestration <= 0 {
		t.Fatalf("no storage requests counted: %+v", r)
	}
	// Every orchestration commits its history and creates its status row.
	for _, op := range []string{"table.batch", "queue.enqueue"} {
		if r.StorageRequestsByOperation[op] < 1 {
			t.Errorf("%s per orchestration = %v, want ≥ 1 (all: %v)", op, r.StorageRequestsByOperation[op], r.StorageRequestsByOperation)
		}
	}
}
