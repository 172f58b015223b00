package telemetry

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/funchost/funchost/host/engine"
	sp "github.com/funchost/funchost/storageprovider"
)

// Entity spans, as DTFx's entity engine names them: entity:{name}:{op}.
// The sender's span — Client for a call, Producer for a signal — is
// reported when the request is sent (an orchestration's with the span id
// pre-allocated in the request, a client's around the send), and the
// entity's span — Server for a call, Consumer for a signal — around the
// operation, as the child of the request's trace context.

const (
	attrOperation    = "durabletask.task.operation"
	attrEntityError  = "durabletask.entity.error_message"
	attrScheduledFor = "durabletask.task.scheduled_time"
)

func entityOperation(signal bool) string {
	if signal {
		return "signal_entity"
	}
	return "call_entity"
}

// entityOperationSpan reports an operation the entity ran.
func (t *tracing) entityOperationSpan(ev engine.LifecycleEvent) {
	if ev.Trace == nil {
		return
	}
	parent, ok := remoteContext(ev.Trace.TraceParent, ev.Trace.TraceState)
	if !ok {
		return
	}
	kind := trace.SpanKindServer
	if ev.Signal {
		kind = trace.SpanKindConsumer
	}
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), parent)
	if ev.TaskTrace != nil {
		// The id pre-allocated before the operation ran: what the
		// operation sent names it as parent.
		if own, ok := remoteContext(ev.TaskTrace.TraceParent, ""); ok {
			ctx = withSpanID(ctx, own.SpanID().String())
		}
	}
	_, span := t.tr.Start(ctx, "entity:"+ev.Name+":"+ev.Operation,
		trace.WithSpanKind(kind), trace.WithTimestamp(ev.Time), trace.WithAttributes(attribute.String(attrType, "entity"),
			attribute.String(attrOperation, entityOperation(ev.Signal)), attribute.String(attrInstanceID, ev.InstanceID)))
	if ev.Kind == engine.Failed {
		msg := failureText(ev.Failure)
		span.SetAttributes(attribute.String(attrEntityError, msg))
		span.SetStatus(codes.Error, msg)
	} else {
		span.SetStatus(codes.Ok, "")
	}
	span.End(trace.WithTimestamp(ev.Time.Add(ev.Duration)))
}

// entityRequestSpan reports an orchestration's or an entity operation's
// request to an entity, with the span id the request carries, under the
// orchestration's or the operation's span. A request an entity sends also
// names the sending entity (durabletask.task.instance_id), as DTFx does.
func (t *tracing) entityRequestSpan(ev engine.LifecycleEvent) {
	if ev.TaskTrace == nil {
		return
	}
	parent, ok := remoteContext(ev.Trace.ID, ev.Trace.TraceState)
	own, ok2 := remoteContext(ev.TaskTrace.TraceParent, "")
	if !ok || !ok2 {
		return
	}
	kind := trace.SpanKindClient
	if ev.Signal {
		kind = trace.SpanKindProducer
	}
	attrs := []attribute.KeyValue{attribute.String(attrType, "entity"), attribute.String(attrOperation, entityOperation(ev.Signal)),
		attribute.String(attrTarget, ev.TargetInstanceID)}
	if isEntityID(ev.InstanceID) {
		attrs = append(attrs, attribute.String(attrInstanceID, ev.InstanceID))
	}
	if !ev.FireAt.IsZero() {
		attrs = append(attrs, attribute.String(attrScheduledFor, ev.FireAt.UTC().Format("2006-01-02T15:04:05.0000000Z")))
	}
	ctx := withSpanID(trace.ContextWithRemoteSpanContext(context.Background(), parent), own.SpanID().String())
	_, span := t.tr.Start(ctx, "entity:"+ev.Name+":"+ev.Operation, trace.WithSpanKind(kind), trace.WithTimestamp(ev.Time),
		trace.WithAttributes(attrs...))
	span.End(trace.WithTimestamp(ev.Time))
}

// startSignal starts a client's signal span (Producer) as a child of
// ctx's span and writes its context into the request's EventRaised.
func (t *tracing) startSignal(ctx context.Context, entity, instanceID, operation string, ev *sp.HistoryEvent) func(error) {
	if t == nil {
		return nil
	}
	_, span := t.tr.Start(ctx, "entity:"+entity+":"+operation, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String(attrType, "entity"), attribute.String(attrOperation, "signal_entity"),
			attribute.String(attrTarget, instanceID)))
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

// isEntityID reports an entity's instance ID ("@name@key"; orchestration
// instance IDs cannot start with '@').
func isEntityID(id string) bool { return strings.HasPrefix(id, "@") }

// entityStartsOrchestration reports whether ev is the Scheduled event of
// an orchestration an entity operation started.
func entityStartsOrchestration(ev engine.LifecycleEvent) bool {
	return ev.Kind == engine.Scheduled && ev.Type == engine.Orchestrator && isEntityID(ev.RequesterInstanceID) && ev.TaskTrace != nil
}

// entityCreateSpan reports the {entity}:create_orchestration Producer
// span of an orchestration an entity operation started (DTFx's name, in
// its order), with the span id the new ExecutionStarted carries, under the
// operation's span: the new orchestration's span is its child.
func (t *tracing) entityCreateSpan(ev engine.LifecycleEvent) {
	parent, ok := remoteContext(ev.Trace.ID, ev.Trace.TraceState)
	own, ok2 := remoteContext(ev.TaskTrace.TraceParent, "")
	if !ok || !ok2 {
		return
	}
	ctx := withSpanID(trace.ContextWithRemoteSpanContext(context.Background(), parent), own.SpanID().String())
	_, span := t.tr.Start(ctx, ev.Reason+":create_orchestration", trace.WithSpanKind(trace.SpanKindProducer), trace.WithTimestamp(ev.Time),
		trace.WithAttributes(attribute.String(attrType, "entity"), attribute.String(attrTarget, ev.TargetInstanceID),
			attribute.String(attrInstanceID, ev.RequesterInstanceID)))
	span.End(trace.WithTimestamp(ev.Time))
}
