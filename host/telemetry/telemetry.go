// Package telemetry composes funchost's observability: the lifecycle and
// invocation logs of durable functions in Durable Functions' words, log
// levels per category from host.json, and (in later files) OpenTelemetry
// traces and metrics. The engine reports what happens through its small
// engine.Observer interface; Telemetry is the Observer the host gives it,
// fanning each event out to the logs, traces and metrics that are on.
// docs/observability.md is the user's guide.
package telemetry

import (
	"log/slog"
	"runtime/debug"

	"github.com/funchost/funchost/host/engine"
)

// Version is what the logs report as ExtensionVersion: the funchost
// module's version when the binary was built from a tagged module, else
// "funchost (devel)".
var Version = moduleVersion()

func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
			if m.Path == "github.com/funchost/funchost" && m.Version != "" && m.Version != "(devel)" {
				return m.Version
			}
		}
	}
	return "funchost (devel)"
}

// Options configure New.
type Options struct {
	// Logger receives the lifecycle and invocation logs (nil: none).
	Logger *slog.Logger
	// Logs configures the lifecycle logs.
	Logs LogOptions
}

// Telemetry is the engine.Observer of a durable runtime: it turns
// lifecycle events into logs (and spans and metrics when configured).
type Telemetry struct {
	observers []engine.Observer
}

var _ engine.Observer = (*Telemetry)(nil)

// New builds the telemetry o asks for.
func New(o Options) *Telemetry {
	t := &Telemetry{}
	if o.Logger != nil {
		t.observers = append(t.observers, newLifecycleLogs(o.Logger, o.Logs))
	}
	return t
}

// Lifecycle hands ev to every part that is on.
func (t *Telemetry) Lifecycle(ev engine.LifecycleEvent) {
	for _, o := range t.observers {
		o.Lifecycle(ev)
	}
}
