// Package host runs a function app: it reads the app folder's host.json,
// local.settings.json and functions/*/function.json, binds the definitions
// to the Go handlers registered on an App, and serves them — HTTP functions
// through the HTTP server, orchestrators and activities through the durable
// engine on the configured task hub, and the Durable management API. The
// durable side is composed by package host/durable; Run only sequences the
// steps (see docs/architecture.md).
//
// An app's main is three lines:
//
//	app := host.NewApp()
//	app.Register("HelloSequence", bindings.Orchestrator(HelloSequence))
//	host.Main(app)
package host

import (
	"fmt"
	"sort"
	"sync"
)

// App is the set of Go handlers of a function app, by function name.
type App struct {
	mu       sync.Mutex
	handlers map[string]any
	dups     []string
}

// NewApp returns an empty App.
func NewApp() *App { return &App{handlers: map[string]any{}} }

// Register adds the handler of the function called name (the folder name
// under functions/). The handler's type must fit the function's trigger:
// an http.Handler or func(http.ResponseWriter, *http.Request) for
// httpTrigger, a bindings.Orchestrator for orchestrationTrigger, a
// bindings.Activity for activityTrigger, a bindings.Entity for
// entityTrigger. Mismatches and duplicate names are
// reported, all together, when the host starts.
func (a *App) Register(name string, handler any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.handlers[name]; dup {
		a.dups = append(a.dups, name)
	}
	a.handlers[name] = handler
}

// snapshot returns a copy of the handlers, or an error for duplicate
// registrations.
func (a *App) snapshot() (map[string]any, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.dups) > 0 {
		d := append([]string(nil), a.dups...)
		sort.Strings(d)
		return nil, fmt.Errorf("handlers registered more than once: %v", d)
	}
	out := make(map[string]any, len(a.handlers))
	for k, v := range a.handlers {
		out[k] = v
	}
	return out, nil
}
