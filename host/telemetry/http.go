package telemetry

import (
	"fmt"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/funchost/funchost/host/httpserver"
)

// HTTPTrace wraps an HTTP function's handler with the invocation's Server
// span, a child of the W3C trace context of the request (traceparent,
// tracestate headers) when it has one. A durable client called by the
// handler parents its create_orchestration span on it, so one trace
// follows a request into the orchestration. The response status comes
// from httpserver's StatusRecorder, the one the invocation log reads, so
// span and log agree (200 for a body written without WriteHeader; 500
// with an error status for a panicking handler, whose panic goes on to
// the server's recovery). Without tracing, next is returned as it is.
func (t *Telemetry) HTTPTrace(function string, next http.Handler) http.Handler {
	if t == nil || t.tracing == nil {
		return next
	}
	tr := t.tracing.tr
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tr.Start(ctx, function, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			attribute.String("faas.name", function), attribute.String("faas.trigger", "http"),
			attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
		rec := httpserver.NewStatusRecorder(w)
		defer func() {
			p := recover()
			status := rec.Status()
			if p != nil && !rec.Wrote() {
				status = http.StatusInternalServerError
			}
			span.SetAttributes(attribute.Int("http.response.status_code", status))
			switch {
			case p != nil:
				span.SetStatus(codes.Error, fmt.Sprint("panic: ", p))
			case status >= 500:
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			span.End()
			if p != nil {
				panic(p)
			}
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
	})
}
