package sampleapp_test

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/engine"
	"github.com/funchost/funchost/host/replaycheck"
	"github.com/funchost/funchost/samples/sampleapp"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

var updateHistories = flag.Bool("update-histories", false, "re-record testdata/histories from the current code")

// TestStoredHistoriesReplay replays the OrderWorkflow histories kept in
// testdata/histories (one instance started under 1.0, one under 2.0, both
// waiting for payment) against the current code: a change to OrderWorkflow
// that would break such instances fails here, before a deployment. Run
// with -update-histories to record them again.
func TestStoredHistoriesReplay(t *testing.T) {
	if *updateHistories {
		recordOrderHistories(t, "testdata/histories")
	}
	reports := replaycheck.AssertDir(t, sampleapp.Handlers(), "testdata/histories", replaycheck.Options{Strict: true})
	if len(reports) != 2 {
		t.Fatalf("%d histories in testdata/histories, want 2", len(reports))
	}
}

// recordOrderHistories runs OrderWorkflow under 1.0 and 2.0 on a memory
// task hub until both wait for payment and exports their histories.
func recordOrderHistories(t *testing.T, dir string) {
	ctx := context.Background()
	hub := memory.New(memory.Options{})
	if err := hub.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hub.Stop(ctx) }()
	w := engine.NewWorker(hub, engine.NewRegistry(sampleapp.Handlers()), engine.Options{})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Stop(ctx) }()
	c := durableclient.New(durableclient.Options{Hub: hub})
	for _, v := range []string{"1.0", "2.0"} {
		id := "order-v" + v
		if _, err := c.StartNew(ctx, "OrderWorkflow", "o-"+v, bindings.WithInstanceID(id), bindings.WithVersion(v)); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			st, err := hub.GetOrchestrationState(ctx, id, true)
			if err == nil && st.CustomStatus == `"awaiting payment"` {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never awaited payment: %+v %v", id, st, err)
			}
		}
	}
	hs, err := replaycheck.FromTaskHub(ctx, hub, replaycheck.Query{Statuses: []sp.OrchestrationStatus{sp.StatusRunning}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if _, err := replaycheck.WriteFile(dir, h, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}
