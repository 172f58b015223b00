package azurestorage

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/engine"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// TestEngineGuards runs the engine's runtime guards (docs/guards.md) on
// this provider: each misbehaving orchestrator fails its own instance with
// the guard's message while a well-behaved orchestration beside them
// completes. The engine's own tests cover each guard in depth on the
// memory provider.
func TestEngineGuards(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), func(o *Options) { o.PartitionCount = 1 })
	startHub(t, h)
	release := make(chan struct{})
	defer close(release)
	reg := engine.Registry{
		Orchestrators: map[string]bindings.Orchestrator{
			"Good": func(ctx bindings.OrchestrationContext) (any, error) {
				return bindings.CallActivity[string](ctx, "Echo", "fine")
			},
			"Goroutine": func(ctx bindings.OrchestrationContext) (any, error) {
				var wg sync.WaitGroup
				errs := make([]error, 4)
				for i := range errs {
					wg.Add(1)
					go func() { defer wg.Done(); errs[i] = ctx.CallActivity("Echo", i).Await(nil) }()
				}
				wg.Wait()
				return "joined", nil
			},
			"Stuck": func(bindings.OrchestrationContext) (any, error) { <-release; return nil, nil },
			"Loop": func(ctx bindings.OrchestrationContext) (any, error) {
				for i := 0; ; i++ {
					if _, err := bindings.CallActivity[int](ctx, "Echo", i); err != nil {
						return nil, err
					}
				}
			},
			"Panic": func(bindings.OrchestrationContext) (any, error) { panic("kaboom") },
		},
		Activities: map[string]bindings.Activity{"Echo": func(ctx bindings.ActivityContext) (any, error) {
			var v any
			err := ctx.Input(&v)
			return v, err
		}},
	}
	w := engine.NewWorker(h, reg, engine.Options{MaxConcurrentOrchestrations: 4, MaxConcurrentActivities: 4, SessionCacheSize: 8,
		LocalActivities: true, MaxOrchestrationActions: 3, OrchestratorYieldTimeout: 500 * time.Millisecond})
	if err := w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = w.Stop(ctx)
	}()
	tests := []struct{ name, errorType, message string }{
		{"Goroutine", "*bindings.NonDeterministicOrchestrationError", "CallActivity was called from a goroutine other than the orchestrator's own"},
		{"Stuck", "OrchestratorStuck", "did not yield within 500ms"},
		{"Loop", "InvalidOperationException", "Maximum amount of orchestration actions (3) has been reached"},
		{"Panic", "panic", "panic: kaboom"},
	}
	for _, tt := range tests {
		createNamed(t, h, "guard-"+tt.name, tt.name)
	}
	createNamed(t, h, "guard-good", "Good")
	if st := waitState(t, h, "guard-good", "Completed", hasStatus(sp.StatusCompleted)); st.Output != `"fine"` {
		t.Errorf("the well-behaved orchestration: %+v", st)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := waitState(t, h, "guard-"+tt.name, "Failed", hasStatus(sp.StatusFailed))
			fd := st.FailureDetails
			if fd == nil || fd.ErrorType != tt.errorType || !strings.Contains(fd.ErrorMessage, tt.message) {
				t.Errorf("failure %s", fmt.Sprintf("%+v", fd))
			}
		})
	}
}
