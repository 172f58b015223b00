// Package goroutines exercises goroutines started through libraries:
// errgroup and sync.WaitGroup.Go.
package goroutines

import (
	"context"
	"sync"

	"github.com/funchost/funchost/bindings"
	"golang.org/x/sync/errgroup"
)

func Group(ctx bindings.OrchestrationContext) (any, error) {
	var g errgroup.Group
	g.SetLimit(2) // want `^Group → errgroup\.Group\.SetLimit: orchestrator code must not use sync or sync/atomic primitives \(it runs on one goroutine\); combine tasks with ctx\.WhenAll / ctx\.WhenAny$`
	for _, city := range []string{"Tokyo", "Seattle"} {
		g.Go(func() error { // want `^Group → errgroup\.Group\.Go: orchestrator code must not start goroutines; schedule tasks and wait for them with ctx\.WhenAll / ctx\.WhenAny$`
			return ctx.CallActivity("SayHello", city).Await(nil)
		})
	}
	_ = g.TryGo(func() error { return nil }) // want `^Group → errgroup\.Group\.TryGo: orchestrator code must not start goroutines`
	return nil, g.Wait()                     // want `^Group → errgroup\.Group\.Wait: `
}

func WithContext(ctx bindings.OrchestrationContext) (any, error) {
	g, gctx := errgroup.WithContext(context.Background()) // want `^WithContext → errgroup\.WithContext: `
	_ = gctx
	g.Go(func() error { return nil }) // want `^WithContext → errgroup\.Group\.Go: orchestrator code must not start goroutines`
	return nil, nil
}

func WaitGroupGo(ctx bindings.OrchestrationContext) (any, error) {
	var wg sync.WaitGroup
	wg.Go(func() {}) // want `^WaitGroupGo → sync\.WaitGroup\.Go: orchestrator code must not start goroutines`
	wg.Wait()        // want `^WaitGroupGo → sync\.WaitGroup\.Wait: orchestrator code must not use sync`
	return nil, nil
}

// ThroughHelper starts goroutines in a helper.
func ThroughHelper(ctx bindings.OrchestrationContext) (any, error) {
	return nil, fanOut([]func() error{}) // want `^ThroughHelper → fanOut → errgroup\.Group\.Go: ` `^ThroughHelper → fanOut → errgroup\.Group\.Wait: `
}

func fanOut(fs []func() error) error {
	var g errgroup.Group
	for _, f := range fs {
		g.Go(f)
	}
	return g.Wait()
}

// Parallel is an activity: it may use errgroup.
func Parallel(ctx context.Context, urls []string) (int, error) {
	return len(urls), fanOut(nil)
}
