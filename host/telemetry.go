package host

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"github.com/funchost/funchost/host/durable"
	"github.com/funchost/funchost/host/telemetry"
)

// newTelemetry builds the durable side's telemetry: the lifecycle logs,
// and distributed tracing when host.json's
// extensions.durableTask.tracing.distributedTracingEnabled is true, with
// the exporter the OTEL_* settings ask for (docs/observability.md). With
// tracing on, its provider becomes the global OpenTelemetry provider and
// W3C trace context the global propagator, so that spans the app's code
// starts nest under the invocation's.
func newTelemetry(ctx context.Context, s durable.Settings) (*telemetry.Telemetry, error) {
	o := telemetry.Options{Logger: s.Logger, Logs: durable.LogOptions(s), Metrics: true}
	if s.Host.Durable.Tracing.DistributedTracingEnabled {
		exp, err := telemetry.ExporterFromEnv(ctx, s.Env.LookupEnv)
		if err != nil {
			return nil, fmt.Errorf("distributed tracing (host.json extensions.durableTask.tracing): %w", err)
		}
		if exp != nil {
			o.Tracing = &telemetry.TraceOptions{Exporter: exp, Resource: telemetry.Resource(s.Env.LookupEnv)}
		}
	}
	mexp, err := telemetry.MetricExporterFromEnv(ctx, s.Env.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("metrics export (OTEL_METRICS_EXPORTER): %w", err)
	}
	o.MetricExporter = mexp
	tel := telemetry.New(o)
	if o.Tracing != nil {
		otel.SetTracerProvider(tel.TracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
		s.Logger.Info("Distributed tracing is on (OpenTelemetry, Durable Functions tracing V2 span names)")
	}
	return tel, nil
}
