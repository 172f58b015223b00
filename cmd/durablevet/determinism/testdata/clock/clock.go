// Package clock exercises the clock and Go-timer rules in each kind of
// orchestrator: a function, a method, a typed orchestrator, a conversion to
// bindings.Orchestrator and a literal registered with the host.
package clock

import (
	"context"
	"time"

	"github.com/funchost/funchost/bindings"
)

func Clock(ctx bindings.OrchestrationContext) (any, error) {
	now := time.Now()                                                   // want `^Clock → time\.Now: orchestrator code must not read the clock; use ctx\.CurrentUTCDateTime\(\)$`
	_ = time.Since(now)                                                 // want `^Clock → time\.Since: .*ctx\.CurrentUTCDateTime\(\)$`
	_ = time.Until(now)                                                 // want `^Clock → time\.Until: `
	time.Sleep(time.Second)                                             // want `^Clock → time\.Sleep: orchestrator code must not sleep or use Go timers; use a durable timer: ctx\.CreateTimer\(fireAt\)\.Await\(nil\)$`
	_ = time.After(time.Second)                                         // want `^Clock → time\.After: .*CreateTimer`
	_ = time.AfterFunc(time.Second, func() {})                          // want `^Clock → time\.AfterFunc: `
	_ = time.Tick(time.Second)                                          // want `^Clock → time\.Tick: `
	_ = time.NewTimer(time.Second)                                      // want `^Clock → time\.NewTimer: `
	_ = time.NewTicker(time.Second)                                     // want `^Clock → time\.NewTicker: `
	_, cancel := context.WithTimeout(context.Background(), time.Second) // want `^Clock → context\.WithTimeout: `
	cancel()
	clock := time.Now // want `^Clock → time\.Now: `
	return clock(), nil
}

type Service struct{}

func (s *Service) Run(ctx bindings.OrchestrationContext) (any, error) {
	return time.Now(), nil // want `^Service\.Run → time\.Now: `
}

var Typed = bindings.TypedOrchestrator(func(ctx bindings.OrchestrationContext, in string) (string, error) {
	return in + time.Now().String(), nil // want `^Typed → time\.Now: `
})

var Converted = bindings.Orchestrator(func(ctx bindings.OrchestrationContext) (any, error) {
	return time.Now(), nil // want `^Converted → time\.Now: `
})

// App mimics the host's registration API.
type App struct{}

func (a *App) Register(name string, handler any) {}

func Setup(app *App) {
	_ = time.Now() // ordinary code: not checked
	app.Register("Registered", func(ctx bindings.OrchestrationContext) (any, error) {
		time.Sleep(time.Millisecond) // want `^Registered → time\.Sleep: `
		return nil, nil
	})
	app.Register("Wrapped", bindings.TypedOrchestrator(func(ctx bindings.OrchestrationContext, n int) (int, error) {
		return time.Now().Second(), nil // want `^Wrapped → time\.Now: `
	}))
}
