package engine_test

import (
	"context"
	"fmt"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/engine"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// A worker runs the registered functions from a task hub; the hub is
// started before the worker and stopped after it.
func ExampleNewWorker() {
	ctx := context.Background()
	hub := memory.New(memory.Options{})
	_ = hub.Start(ctx)
	defer hub.Stop(ctx)

	w := engine.NewWorker(hub, engine.Registry{
		Orchestrators: map[string]bindings.Orchestrator{
			"Greet": func(ctx bindings.OrchestrationContext) (any, error) {
				return bindings.CallActivity[string](ctx, "SayHello", "Tokyo")
			},
		},
		Activities: map[string]bindings.Activity{
			"SayHello": bindings.TypedActivity(func(_ context.Context, city string) (string, error) {
				return "Hello " + city + "!", nil
			}),
		},
	}, engine.Options{SessionCacheSize: 64})
	_ = w.Start(ctx)
	defer w.Stop(ctx)

	start := &sp.TaskMessage{
		Event: &sp.HistoryEvent{EventType: sp.EventExecutionStarted, EventID: -1, Name: "Greet",
			OrchestrationInstance: &sp.OrchestrationInstance{InstanceID: "greet-1", ExecutionID: "0123456789abcdef0123456789abcdef"}},
		Target: sp.OrchestrationInstance{InstanceID: "greet-1", ExecutionID: "0123456789abcdef0123456789abcdef"},
	}
	_ = hub.CreateInstance(ctx, start)
	for {
		st, err := hub.GetOrchestrationState(ctx, "greet-1", true)
		if err == nil && st.RuntimeStatus.IsTerminal() {
			fmt.Println(st.RuntimeStatus, st.Output)
			return
		}
		time.Sleep(time.Millisecond)
	}
	// Output: Completed "Hello Tokyo!"
}
