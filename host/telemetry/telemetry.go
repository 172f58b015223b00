// Package telemetry composes funchost's observability: the lifecycle and
// invocation logs of durable functions in Durable Functions' words, log
// levels per category from host.json, and (in later files) OpenTelemetry
// traces and metrics. The engine reports what happens through its small
// engine.Observer interface; Telemetry is the Observer the host gives it,
// fanning each event out to the logs, traces and metrics that are on.
// docs/observability.md is the user's guide.
package telemetry

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/engine"
	sp "github.com/funchost/funchost/storageprovider"
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
	// Tracing, when set, turns on distributed tracing.
	Tracing *TraceOptions
	// Metrics turns on the OpenTelemetry metrics, served in the
	// Prometheus format by MetricsHandler.
	Metrics bool
	// MetricExporter, with Metrics, also pushes the metrics periodically
	// (MetricExporterFromEnv builds the one OTEL_* settings ask for).
	MetricExporter sdkmetric.Exporter
}

// TraceOptions configure distributed tracing.
type TraceOptions struct {
	// Exporter receives the finished spans (ExporterFromEnv builds the one
	// OTEL_* settings ask for). Required.
	Exporter sdktrace.SpanExporter
	// Sync exports each span when it ends (tests); by default spans are
	// batched.
	Sync bool
	// Resource describes the process (nil: Resource(nil)).
	Resource *resource.Resource
}

// Telemetry is the engine.Observer of a durable runtime: it turns
// lifecycle events into logs, and into spans when tracing is on.
type Telemetry struct {
	observers []engine.Observer
	logs      *lifecycleLogs
	tracing   *tracing
	metrics   *metrics
	reader    *sdkmetric.ManualReader
	mp        *sdkmetric.MeterProvider
}

var _ engine.ActivityObserver = (*Telemetry)(nil)

// New builds the telemetry o asks for.
func New(o Options) *Telemetry {
	t := &Telemetry{}
	if o.Logger != nil {
		t.logs = newLifecycleLogs(o.Logger, o.Logs)
		t.observers = append(t.observers, t.logs)
	}
	if to := o.Tracing; to != nil && to.Exporter != nil {
		res := to.Resource
		if res == nil {
			res = Resource(nil)
		}
		opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithIDGenerator(idGenerator{})}
		if to.Sync {
			opts = append(opts, sdktrace.WithSyncer(to.Exporter))
		} else {
			opts = append(opts, sdktrace.WithBatcher(to.Exporter))
		}
		t.tracing = newTracing(sdktrace.NewTracerProvider(opts...))
		t.observers = append(t.observers, t.tracing)
	}
	if o.Metrics {
		t.reader = sdkmetric.NewManualReader()
		opts := []sdkmetric.Option{sdkmetric.WithReader(t.reader), sdkmetric.WithResource(Resource(nil))}
		if o.MetricExporter != nil {
			opts = append(opts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(o.MetricExporter)))
		}
		t.mp = sdkmetric.NewMeterProvider(opts...)
		if m, err := newMetrics(t.mp.Meter(ScopeName)); err == nil {
			t.metrics = m
			t.observers = append(t.observers, m)
		}
	}
	return t
}

// MetricsHandler serves the metrics in the Prometheus text format (404
// when metrics are off). The host mounts it at /admin/metrics.
func (t *Telemetry) MetricsHandler() http.Handler {
	if t == nil || t.metrics == nil {
		return http.NotFoundHandler()
	}
	return promHandler(t.reader)
}

// ObserveStorage adds the gauges of a task hub's queues (queues samples
// them at each scrape) and the storage request counter (requests returns
// counts by "service.operation"); either may be nil.
func (t *Telemetry) ObserveStorage(queues func(context.Context) (*sp.QueueStats, error), requests func() map[string]int64) error {
	if t == nil || t.metrics == nil {
		return nil
	}
	return t.metrics.observeStorage(queues, requests)
}

// Lifecycle hands ev to every part that is on.
func (t *Telemetry) Lifecycle(ev engine.LifecycleEvent) {
	for _, o := range t.observers {
		o.Lifecycle(ev)
	}
}

// StartActivity gives an activity run its span when tracing is on.
func (t *Telemetry) StartActivity(ctx context.Context, ev engine.LifecycleEvent) context.Context {
	if t.tracing == nil {
		return ctx
	}
	return t.tracing.StartActivity(ctx, ev)
}

// CreateHook is what a durable client calls around writing a new
// instance's ExecutionStarted (durableclient.Options.OnCreate): it starts
// the create_orchestration span and puts its context into the event, and
// once the write succeeded logs the client's "scheduled" line (Reason
// NewInstance), as Durable Functions' client does. Nil when neither logs
// nor tracing are on, so that such starts cost nothing.
func (t *Telemetry) CreateHook() func(ctx context.Context, ev *sp.HistoryEvent) func(error) {
	if t == nil || t.tracing == nil && t.logs == nil {
		return nil
	}
	return func(ctx context.Context, ev *sp.HistoryEvent) func(error) {
		done := t.tracing.startCreate(ctx, ev)
		return func(err error) {
			if done != nil {
				done(err)
			}
			if err == nil && t.logs != nil && ev.OrchestrationInstance != nil {
				t.logs.clientScheduled(engine.Orchestrator, ev.OrchestrationInstance.InstanceID, ev.OrchestrationInstance.ExecutionID, ev.Name, ev.Version, "NewInstance")
			}
		}
	}
}

// RaiseHook is what a durable client calls around sending an external
// event (durableclient.Options.OnRaise): it starts the
// orchestration_event span and puts its context into the event, and once
// sent logs the client's "scheduled" line on the target orchestration
// (Reason RaiseEvent:<name>), as Durable Functions' client does. The
// engine logs the event's delivery ("received"/"saved") separately, as
// Durable Functions does. Nil when neither logs nor tracing are on.
func (t *Telemetry) RaiseHook() func(ctx context.Context, target *sp.OrchestrationState, ev *sp.HistoryEvent) func(error) {
	if t == nil || t.tracing == nil && t.logs == nil {
		return nil
	}
	return func(ctx context.Context, target *sp.OrchestrationState, ev *sp.HistoryEvent) func(error) {
		done := t.tracing.startRaise(ctx, target.InstanceID, ev)
		return func(err error) {
			if done != nil {
				done(err)
			}
			if err == nil && t.logs != nil {
				t.logs.clientScheduled(engine.Orchestrator, target.InstanceID, target.ExecutionID, target.Name, target.Version, "RaiseEvent:"+ev.Name)
			}
		}
	}
}

// SignalHook is what a durable client calls around sending an entity
// signal (durableclient.Options.OnSignal): it starts the signal's
// Producer span, puts its context into the message, and once sent logs
// the entity's "scheduled" line (Reason EntitySignal:<operation>). Nil
// when neither logs nor tracing are on.
func (t *Telemetry) SignalHook() func(ctx context.Context, entity bindings.EntityID, operation string, ev *sp.HistoryEvent) func(error) {
	if t == nil || t.tracing == nil && t.logs == nil {
		return nil
	}
	return func(ctx context.Context, entity bindings.EntityID, operation string, ev *sp.HistoryEvent) func(error) {
		done := t.tracing.startSignal(ctx, entity.Name, entity.String(), operation, ev)
		return func(err error) {
			if done != nil {
				done(err)
			}
			if err == nil && t.logs != nil {
				t.logs.clientScheduled(engine.Entity, entity.String(), "", entity.Name, "", "EntitySignal:"+operation)
			}
		}
	}
}

// Tracing reports whether distributed tracing is on.
func (t *Telemetry) Tracing() bool { return t != nil && t.tracing != nil }

// TracerProvider is the provider funchost's spans come from (a no-op one
// when tracing is off). The host makes it the global provider, so that
// spans an activity starts with otel.Tracer nest under the activity's.
func (t *Telemetry) TracerProvider() trace.TracerProvider {
	if t == nil || t.tracing == nil {
		return noop.NewTracerProvider()
	}
	return t.tracing.tp
}

// Shutdown exports the spans still buffered and stops tracing.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	var err error
	if t.tracing != nil {
		err = t.tracing.shutdown(ctx)
	}
	if t.mp != nil {
		err = errors.Join(err, t.mp.Shutdown(ctx))
	}
	return err
}
