// Package concurrency exercises the goroutine, channel and sync rules.
package concurrency

import (
	"sync"
	"sync/atomic"

	"github.com/funchost/funchost/bindings"
)

func Concurrency(ctx bindings.OrchestrationContext) (any, error) {
	ch := make(chan int, 1)
	go func() {}() // want `^Concurrency → go statement: orchestrator code must not start goroutines; schedule tasks and wait for them with ctx\.WhenAll / ctx\.WhenAny$`
	ch <- 1        // want `^Concurrency → channel send: orchestrator code must not use channels or select; wait for tasks with ctx\.WhenAll / ctx\.WhenAny$`
	<-ch           // want `^Concurrency → channel receive: `
	select {       // want `^Concurrency → select statement: `
	case v := <-ch:
		_ = v
	case ch <- 2:
	default:
	}
	close(ch)      // want `^Concurrency → close\(channel\): `
	for range ch { // want `^Concurrency → range over channel: `
	}
	var mu sync.Mutex
	mu.Lock()   // want `^Concurrency → sync\.Mutex\.Lock: orchestrator code must not use sync or sync/atomic primitives \(it runs on one goroutine\); combine tasks with ctx\.WhenAll / ctx\.WhenAny$`
	mu.Unlock() // want `^Concurrency → sync\.Mutex\.Unlock: `
	var wg sync.WaitGroup
	wg.Add(1) // want `^Concurrency → sync\.WaitGroup\.Add: `
	wg.Wait() // want `^Concurrency → sync\.WaitGroup\.Wait: `
	var n int64
	atomic.AddInt64(&n, 1) // want `^Concurrency → atomic\.AddInt64: `
	var c atomic.Int64
	c.Add(1)                                       // want `^Concurrency → atomic\.Int64\.Add: `
	get := sync.OnceValue(func() int { return 1 }) // want `^Concurrency → sync\.OnceValue: `
	return get(), nil
}

// FanOut is the replay-safe way to run work in parallel.
func FanOut(ctx bindings.OrchestrationContext) (any, error) {
	var tasks []bindings.Task
	for _, city := range []string{"Tokyo", "Seattle"} {
		tasks = append(tasks, ctx.CallActivity("SayHello", city))
	}
	if err := ctx.WhenAll(tasks...).Await(nil); err != nil {
		return nil, err
	}
	var first int
	if err := ctx.WhenAny(tasks...).Await(&first); err != nil {
		return nil, err
	}
	return bindings.Await[string](tasks[first])
}
