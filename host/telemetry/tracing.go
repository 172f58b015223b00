package telemetry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/funchost/funchost/host/engine"
	sp "github.com/funchost/funchost/storageprovider"
)

// ScopeName is the instrumentation scope of funchost's spans (DTFx's
// ActivitySource name; backends key on span names and attributes).
const ScopeName = "DurableTask.Core"

// The durabletask.* span attributes (DTFx's names, kept verbatim).
const (
	attrType        = "durabletask.type"
	attrName        = "durabletask.task.name"
	attrVersion     = "durabletask.task.version"
	attrInstanceID  = "durabletask.task.instance_id"
	attrExecutionID = "durabletask.task.execution_id"
	attrStatus      = "durabletask.task.status"
	attrTaskID      = "durabletask.task.task_id"
	attrFireAt      = "durabletask.fire_at"
	attrTarget      = "durabletask.event.target_instance_id"
)

// tracing makes Durable Functions' tracing V2 spans from the engine's
// events. The orchestration span is reported once, when the instance
// finishes, with the identity and start time persisted in its
// ExecutionStarted; an activity call is a Client span (reported when the
// result arrives, with the span id pre-allocated in TaskScheduled) whose
// child is the Server span around the activity's run.
type tracing struct {
	tp *sdktrace.TracerProvider
	tr trace.Tracer
}

func newTracing(tp *sdktrace.TracerProvider) *tracing {
	return &tracing{tp: tp, tr: tp.Tracer(ScopeName)}
}

// spanName is DTFx's "{kind}:{name}" or "{kind}:{name}@({version})".
func spanName(kind, name, version string) string {
	if version != "" {
		return kind + ":" + name + "@(" + version + ")"
	}
	return kind + ":" + name
}

// taskAttrs are the attributes every durable span has.
func taskAttrs(typ, name, version, instanceID string) []attribute.KeyValue {
	as := []attribute.KeyValue{attribute.String(attrType, typ), attribute.String(attrName, name), attribute.String(attrInstanceID, instanceID)}
	if version != "" {
		as = append(as, attribute.String(attrVersion, version))
	}
	return as
}

// Lifecycle reports the spans an event completes.
func (t *tracing) Lifecycle(ev engine.LifecycleEvent) {
	switch {
	case ev.Type == engine.Activity && ev.Context != nil && (ev.Kind == engine.Completed || ev.Kind == engine.Failed):
		span := trace.SpanFromContext(ev.Context)
		if ev.Kind == engine.Failed {
			span.SetStatus(codes.Error, failureText(ev.Failure))
		} else {
			span.SetStatus(codes.Ok, "")
		}
		span.End()
	case ev.Type == engine.Entity && (ev.Kind == engine.Completed || ev.Kind == engine.Failed):
		t.entityOperationSpan(ev)
	case ev.IsReplay || ev.Trace == nil || ev.Trace.ID == "":
		// Not traced, or reported when it happened.
	case ev.Kind == engine.ResultReceived && (ev.Type == engine.Activity || ev.Type == engine.Orchestrator) && ev.TaskTrace != nil:
		t.clientSpan(ev)
	case ev.Kind == engine.EventSent && ev.Type == engine.Entity:
		t.entityRequestSpan(ev)
	case entityStartsOrchestration(ev):
		t.entityCreateSpan(ev)
	case ev.Kind == engine.EventSent:
		t.sentEventSpan(ev)
	case ev.Kind == engine.TimerExpired:
		t.timerSpan(ev)
	case ev.Type == engine.Orchestrator && (ev.Kind == engine.Completed && !ev.ContinuedAsNew || ev.Kind == engine.Failed || ev.Kind == engine.Terminated):
		t.orchestrationSpan(ev)
	}
}

// orchestrationSpan reports the orchestration's Server span: the
// persisted identity, from its first episode's start to now.
func (t *tracing) orchestrationSpan(ev engine.LifecycleEvent) {
	tc := ev.Trace
	parent, ok := remoteContext(tc.TraceParent, tc.TraceState)
	if !ok || tc.SpanID == "" {
		return
	}
	start := ev.Time
	if tc.ActivityStartTime != nil {
		start = *tc.ActivityStartTime
	}
	ctx := withSpanID(trace.ContextWithRemoteSpanContext(context.Background(), parent), tc.SpanID)
	attrs := append(taskAttrs("orchestration", ev.Name, ev.Version, ev.InstanceID), attribute.String(attrStatus, ev.RuntimeStatus.String()))
	_, span := t.tr.Start(ctx, spanName("orchestration", ev.Name, ev.Version), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	switch ev.Kind {
	case engine.Completed:
		span.SetStatus(codes.Ok, "")
	case engine.Failed:
		span.SetStatus(codes.Error, failureText(ev.Failure))
	case engine.Terminated:
		span.SetStatus(codes.Error, "Terminated")
	}
	span.End()
}

// clientSpan reports the Client span of an activity or sub-orchestration
// call, with the span id its TaskScheduled or SubOrchestrationInstanceCreated
// carries (a sub-orchestration's own orchestration span is its child), from
// the call to the result.
func (t *tracing) clientSpan(ev engine.LifecycleEvent) {
	parent, ok := remoteContext(ev.Trace.ID, ev.Trace.TraceState)
	own, ok2 := remoteContext(ev.TaskTrace.TraceParent, "")
	if !ok || !ok2 {
		return
	}
	kind, attrs := "activity", taskAttrs("activity", ev.Name, ev.Version, ev.InstanceID)
	if ev.Type == engine.Orchestrator {
		kind, attrs = "orchestration", taskAttrs("orchestration", ev.Name, ev.Version, ev.TargetInstanceID)
	} else {
		attrs = append(attrs, attribute.Int64(attrTaskID, int64(ev.TaskEventID)))
	}
	ctx := withSpanID(trace.ContextWithRemoteSpanContext(context.Background(), parent), own.SpanID().String())
	_, span := t.tr.Start(ctx, spanName(kind, ev.Name, ev.Version), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(ev.ScheduledTime), trace.WithAttributes(attrs...))
	if ev.RuntimeStatus == sp.StatusFailed {
		span.SetStatus(codes.Error, failureText(ev.Failure))
	}
	span.End()
}

// sentEventSpan reports the orchestration_event Producer span of an event
// an orchestration sent, a child of the orchestration span.
func (t *tracing) sentEventSpan(ev engine.LifecycleEvent) {
	parent, ok := remoteContext(ev.Trace.ID, ev.Trace.TraceState)
	if !ok {
		return
	}
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), parent)
	_, span := t.tr.Start(ctx, "orchestration_event:"+ev.EventName, trace.WithSpanKind(trace.SpanKindProducer), trace.WithTimestamp(ev.Time),
		trace.WithAttributes(attribute.String(attrType, "event"), attribute.String(attrName, ev.EventName),
			attribute.String(attrTarget, ev.TargetInstanceID), attribute.String(attrInstanceID, ev.InstanceID),
			attribute.String(attrExecutionID, ev.ExecutionID)))
	span.End()
}

// startRaise starts the orchestration_event Producer span of a client's
// raise-event request as a child of ctx's span and writes its context
// into the EventRaised event.
func (t *tracing) startRaise(ctx context.Context, instanceID string, ev *sp.HistoryEvent) func(error) {
	if t == nil {
		return nil
	}
	_, span := t.tr.Start(ctx, "orchestration_event:"+ev.Name, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String(attrType, "event"), attribute.String(attrName, ev.Name), attribute.String(attrTarget, instanceID)))
	if sc := span.SpanContext(); sc.IsValid() {
		ev.ParentTraceContext = &sp.TraceContext{TraceParent: traceParent(sc), TraceState: sc.TraceState().String()}
	}
	return func(err error) {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

// timerSpan reports a fired timer, from its creation to now.
func (t *tracing) timerSpan(ev engine.LifecycleEvent) {
	parent, ok := remoteContext(ev.Trace.ID, ev.Trace.TraceState)
	if !ok {
		return
	}
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), parent)
	attrs := append(taskAttrs("timer", ev.Name, ev.Version, ev.InstanceID),
		attribute.String(attrFireAt, ev.FireAt.UTC().Format("2006-01-02T15:04:05.0000000Z")), attribute.Int64(attrTaskID, int64(ev.TaskEventID)))
	_, span := t.tr.Start(ctx, "orchestration:"+ev.Name+":timer", trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithTimestamp(ev.ScheduledTime), trace.WithAttributes(attrs...))
	span.End()
}

// StartActivity starts an activity run's Server span as the child of its
// call's Client span; the activity runs with it as the current span.
func (t *tracing) StartActivity(ctx context.Context, ev engine.LifecycleEvent) context.Context {
	if ev.Trace == nil {
		return ctx
	}
	parent, ok := remoteContext(ev.Trace.TraceParent, ev.Trace.TraceState)
	if !ok {
		return ctx
	}
	attrs := append(taskAttrs("activity", ev.Name, ev.Version, ev.InstanceID), attribute.Int64(attrTaskID, int64(ev.TaskEventID)))
	ctx, _ = t.tr.Start(trace.ContextWithRemoteSpanContext(ctx, parent), spanName("activity", ev.Name, ev.Version),
		trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	return ctx
}

// startCreate starts the create_orchestration Producer span of a start
// request as a child of ctx's span and writes its context into the
// ExecutionStarted event, which makes the instance traced.
func (t *tracing) startCreate(ctx context.Context, ev *sp.HistoryEvent) func(error) {
	if t == nil {
		return nil
	}
	id := ""
	if ev.OrchestrationInstance != nil {
		id = ev.OrchestrationInstance.InstanceID
	}
	attrs := taskAttrs("orchestration", ev.Name, ev.Version, id)
	if ev.OrchestrationInstance != nil {
		attrs = append(attrs, attribute.String(attrExecutionID, ev.OrchestrationInstance.ExecutionID))
	}
	_, span := t.tr.Start(ctx, spanName("create_orchestration", ev.Name, ev.Version), trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attrs...))
	if sc := span.SpanContext(); sc.IsValid() {
		ev.ParentTraceContext = &sp.TraceContext{TraceParent: traceParent(sc), TraceState: sc.TraceState().String()}
	}
	return func(err error) {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

// traceParent formats a span context as a W3C traceparent.
func traceParent(sc trace.SpanContext) string {
	return fmt.Sprintf("00-%s-%s-%02x", sc.TraceID(), sc.SpanID(), byte(sc.TraceFlags()))
}

// remoteContext parses a traceparent (and tracestate) into a remote span
// context.
func remoteContext(traceparent, tracestate string) (trace.SpanContext, bool) {
	carrier := propagation.MapCarrier{"traceparent": traceparent}
	if tracestate != "" {
		carrier["tracestate"] = tracestate
	}
	sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), carrier))
	return sc, sc.IsValid()
}

// failureText is the status description of a failure.
func failureText(fd *sp.FailureDetails) string {
	if fd == nil {
		return "Failed"
	}
	return fd.ErrorMessage
}

// shutdown flushes and stops the provider.
func (t *tracing) shutdown(ctx context.Context) error { return t.tp.Shutdown(ctx) }
