package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Invocations of timer and queue functions get a Server span each, as
// the Functions host gives every invocation one, named after the
// function. faas.trigger takes OpenTelemetry's values (timer, pubsub),
// as the HTTP span's http does. The span is the current span of the
// invocation's context, so the function's own spans and any orchestration
// it starts (create_orchestration) nest under it. An Azure Storage queue
// message has no standard place for a W3C trace context, so a queue
// invocation starts a new trace.

// TimerSpan starts a timer invocation's span; end (never nil) ends it
// with the invocation's outcome.
func (t *Telemetry) TimerSpan(ctx context.Context, function, schedule string, pastDue bool) (context.Context, func(error)) {
	return t.invocationSpan(ctx, function, "timer", attribute.String("faas.cron", schedule),
		attribute.String("faas.time", time.Now().UTC().Format(time.RFC3339Nano)), attribute.Bool("funchost.timer.past_due", pastDue))
}

// QueueSpan starts a queue invocation's span.
func (t *Telemetry) QueueSpan(ctx context.Context, function, queue, messageID string, dequeueCount int64) (context.Context, func(error)) {
	return t.invocationSpan(ctx, function, "pubsub", attribute.String("messaging.system", "azure_storage_queues"),
		attribute.String("messaging.destination.name", queue), attribute.String("messaging.operation.type", "process"),
		attribute.String("messaging.message.id", messageID), attribute.Int64("messaging.azure_storage_queues.dequeue_count", dequeueCount))
}

func (t *Telemetry) invocationSpan(ctx context.Context, function, trigger string, attrs ...attribute.KeyValue) (context.Context, func(error)) {
	if t == nil || t.tracing == nil {
		return ctx, func(error) {}
	}
	attrs = append([]attribute.KeyValue{attribute.String("faas.name", function), attribute.String("faas.trigger", trigger)}, attrs...)
	ctx, span := t.tracing.tr.Start(ctx, function, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	return ctx, func(err error) {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}
