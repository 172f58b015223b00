package telemetry

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestHTTPTraceStatus: the HTTP span records the status the client got,
// however the handler produced it, and a flushing handler can still
// flush through the span's wrapper.
func TestHTTPTraceStatus(t *testing.T) {
	cases := []struct {
		name    string
		handler http.HandlerFunc
		status  string
		code    codes.Code
		panics  bool
		flushed bool
	}{
		{"body without WriteHeader", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hi")) }, "200", codes.Unset, false, false},
		{"nothing written", func(http.ResponseWriter, *http.Request) {}, "200", codes.Unset, false, false},
		{"explicit 202", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }, "202", codes.Unset, false, false},
		{"503", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }, "503", codes.Error, false, false},
		{"flush without WriteHeader", func(w http.ResponseWriter, _ *http.Request) {
			f, ok := w.(http.Flusher)
			if !ok {
				w.WriteHeader(http.StatusTeapot)
				return
			}
			f.Flush()
		}, "200", codes.Unset, false, true},
		{"panic", func(http.ResponseWriter, *http.Request) { panic("bad handler") }, "500", codes.Error, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tel := New(Options{Tracing: &TraceOptions{Exporter: exp, Sync: true}})
			h := tel.HTTPTrace("Fn", c.handler)
			rec := httptest.NewRecorder()
			panicked := func() (p bool) {
				defer func() { p = recover() != nil }()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/fn", nil))
				return false
			}()
			if panicked != c.panics {
				t.Errorf("panicked %v, want %v (the server's recovery must see the panic)", panicked, c.panics)
			}
			if rec.Flushed != c.flushed {
				t.Errorf("flushed %v, want %v", rec.Flushed, c.flushed)
			}
			span := spanTree{exp.GetSpans()}.one(t, "Fn", trace.SpanKindServer)
			if got := attr(span, "http.response.status_code"); got != c.status {
				t.Errorf("http.response.status_code %q, want %q", got, c.status)
			}
			if span.Status.Code != c.code {
				t.Errorf("span status %v, want %v", span.Status.Code, c.code)
			}
		})
	}
}
