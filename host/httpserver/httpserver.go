// Package httpserver builds the host's HTTP handler: a chi router serving
// the HTTP-triggered functions under the route prefix, with function keys,
// Functions-style invocation logs, panic recovery, a request-body limit,
// CORS and JSON 404/405 answers. Other handlers (the Durable management API)
// are mounted beside the functions.
package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/invoke"
	"github.com/funchost/funchost/host/routetemplate"
	"github.com/funchost/funchost/internal/invocation"
)

// Function is one HTTP-triggered function to serve.
type Function struct {
	Name string
	// Route is the function.json route template ("" = the function name).
	Route string
	// Methods are upper-case HTTP methods; empty means all.
	Methods []string
	// AuthLevel is "anonymous", "function" (default) or "admin".
	AuthLevel string
	Handler   http.Handler
	// ClientBindings names the function's durable client bindings in
	// declaration order; Options.Client supplies the clients.
	ClientBindings []string
	// Disabled functions (AzureWebJobs.<Name>.Disabled) answer 404 except
	// to requests carrying the master key, as in Functions.
	Disabled bool
}

// Mount is a handler served under a path prefix outside the route prefix.
// The handler sees paths relative to the prefix (http.StripPrefix).
type Mount struct {
	// Prefix is a path such as "/runtime/webhooks/durabletask".
	Prefix  string
	Handler http.Handler
}

// Options configure New.
type Options struct {
	// RoutePrefix is host.json's extensions.http.routePrefix ("" = none).
	RoutePrefix string
	Functions   []Function
	Mounts      []Mount
	Keys        Keys
	// MaxRequestBodySize is the body limit in bytes (0 = unlimited); larger
	// bodies get 413.
	MaxRequestBodySize int64
	// FunctionTimeout bounds each invocation's context (0 or negative =
	// unbounded).
	FunctionTimeout time.Duration
	// CORS lists allowed origins ("*" = any); CORSCredentials allows
	// credentialed requests.
	CORS            []string
	CORSCredentials bool
	// Client returns the durable client of a function's binding; nil when
	// the app has none.
	Client func(functionName, bindingName string) bindings.DurableClient
	// Logger receives invocation logs (default slog.Default()).
	Logger *slog.Logger
	// Trace, when set, wraps each function's handler (given the function
	// name) for distributed tracing: telemetry.Telemetry.HTTPTrace.
	Trace func(function string, next http.Handler) http.Handler
}

// Route describes one registered route, for the startup listing.
type Route struct {
	Function string
	Methods  []string
	// Template is the full template, e.g. "/api/orchestrators/{functionName}".
	Template string
}

// Server is the host's HTTP handler.
type Server struct {
	handler  http.Handler
	routes   []Route
	timeouts Timeouts
}

// Timeouts are the server timeouts for this handler (TimeoutsFor its
// FunctionTimeout).
func (s *Server) Timeouts() Timeouts { return s.timeouts }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Routes lists the function routes in registration order.
func (s *Server) Routes() []Route { return s.routes }

// invocationReason is what the Functions host logs for HTTP invocations.
const invocationReason = "This function was programmatically called via the host APIs."

// New builds the handler. It fails on a route template funchost cannot
// serve or on a route chi rejects (for example an ambiguous duplicate).
func New(opts Options) (s *Server, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	notFound := func(w http.ResponseWriter, req *http.Request) {
		writeJSONError(w, http.StatusNotFound, fmt.Sprintf("No route matches %s %s.", req.Method, req.URL.Path))
	}
	// A 405 must say which methods the route takes (RFC 9110 §15.5.6);
	// chi drops its own Allow header when the handler is replaced, so the
	// methods are found again by matching the path against the router.
	methodNotAllowed := func(mx *chi.Mux) http.HandlerFunc {
		return func(w http.ResponseWriter, req *http.Request) {
			if allow := allowedMethods(mx, req); allow != "" {
				w.Header().Set("Allow", allow)
			}
			writeJSONError(w, http.StatusMethodNotAllowed, fmt.Sprintf("Method %s is not allowed for %s.", req.Method, req.URL.Path))
		}
	}
	// Two routers: r matches routes as written; folded holds the same
	// routes with lower-case literals and serves what r does not match,
	// against the lower-cased path, because ASP.NET (and so Azure
	// Functions) matches literal segments case-insensitively. Route values
	// are read from the original path by position, so their case survives.
	r := chi.NewRouter()
	folded := chi.NewRouter()
	folded.NotFound(notFound)
	folded.MethodNotAllowed(methodNotAllowed(folded))
	r.NotFound(func(w http.ResponseWriter, req *http.Request) {
		path := req.URL.RawPath
		if path == "" {
			path = req.URL.Path
		}
		rctx := chi.NewRouteContext()
		rctx.RoutePath = strings.ToLower(path)
		folded.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), chi.RouteCtxKey, rctx)))
	})
	r.MethodNotAllowed(methodNotAllowed(r))
	s = &Server{timeouts: TimeoutsFor(opts.FunctionTimeout)}
	// chi panics on patterns it cannot register; turn that into an error.
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("registering routes: %v", p)
		}
	}()
	for i := range opts.Functions {
		fn := &opts.Functions[i]
		route := fn.Route
		if strings.TrimSpace(route) == "" {
			route = fn.Name
		}
		tmpl, err := routetemplate.Parse(route)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", fn.Name, err)
		}
		level := strings.ToLower(fn.AuthLevel)
		var h http.Handler = &invoker{fn: fn, tmpl: tmpl, opts: &opts, level: level,
			public: level == "anonymous" || opts.Keys.Open()}
		if opts.Trace != nil {
			h = opts.Trace(fn.Name, h)
		}
		for _, set := range []struct {
			mux      *chi.Mux
			patterns []string
		}{{r, tmpl.ChiPatterns(opts.RoutePrefix)}, {folded, tmpl.FoldedChiPatterns(opts.RoutePrefix)}} {
			for _, pattern := range set.patterns {
				if len(fn.Methods) == 0 {
					set.mux.Handle(pattern, h)
				} else {
					for _, m := range fn.Methods {
						set.mux.Method(m, pattern, h)
					}
				}
			}
		}
		full := "/" + strings.Trim(opts.RoutePrefix, "/")
		if full != "/" {
			full += "/"
		}
		s.routes = append(s.routes, Route{Function: fn.Name, Methods: fn.Methods, Template: full + strings.Trim(route, "/")})
	}
	for _, m := range opts.Mounts {
		prefix := "/" + strings.Trim(m.Prefix, "/")
		r.Mount(prefix, recoverer(opts.Logger, http.StripPrefix(prefix, m.Handler)))
	}
	var h http.Handler = r
	h = limitBody(opts.MaxRequestBodySize, h)
	h = cors(opts.CORS, opts.CORSCredentials, h)
	s.handler = h
	return s, nil
}

// allowedMethods lists the methods mx routes for req's path, as an Allow
// header value.
func allowedMethods(mx *chi.Mux, req *http.Request) string {
	path := ""
	if rctx := chi.RouteContext(req.Context()); rctx != nil {
		path = rctx.RoutePath
	}
	if path == "" {
		if path = req.URL.RawPath; path == "" {
			path = req.URL.Path
		}
	}
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		if mx.Match(chi.NewRouteContext(), m, path) {
			allow = append(allow, m)
		}
	}
	return strings.Join(allow, ", ")
}

// invoker runs one function: auth, invocation context, logs, recovery.
type invoker struct {
	fn   *Function
	tmpl *routetemplate.Template
	opts *Options
	// level is fn.AuthLevel in lower case; public is set when no key is
	// needed (anonymous, or no key configured). Both are fixed at New so
	// requests don't recompute them.
	level  string
	public bool
}

func (iv *invoker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fn := iv.fn
	values := iv.tmpl.Values(iv.opts.RoutePrefix, r.URL.EscapedPath())
	if !iv.tmpl.Accepts(values) || fn.Disabled && !iv.opts.Keys.IsMaster(r) {
		// A value constraint (min, length, regex, …) failed: as in ASP.NET
		// the route does not match. A disabled function is not there for
		// callers without the master key.
		writeJSONError(w, http.StatusNotFound, fmt.Sprintf("No route matches %s %s.", r.Method, r.URL.Path))
		return
	}
	if !iv.public && !iv.opts.Keys.allowFunction(r, iv.level, fn.Name) {
		writeJSONError(w, http.StatusUnauthorized, "Unauthorized: a valid function key is required (x-functions-key header or code query parameter).")
		return
	}
	inv := &invocation.Invocation[bindings.DurableClient]{
		FunctionName: fn.Name,
		InvocationID: uuid.NewString(),
		RouteValues:  values,
	}
	if len(fn.ClientBindings) > 0 && iv.opts.Client != nil {
		inv.Clients = make([]invocation.Client[bindings.DurableClient], 0, len(fn.ClientBindings))
		for _, b := range fn.ClientBindings {
			if c := iv.opts.Client(fn.Name, b); c != nil {
				inv.Clients = append(inv.Clients, invocation.Client[bindings.DurableClient]{Name: b, Client: c})
			}
		}
	}
	ctx := invocation.With(r.Context(), inv)
	if t := iv.opts.FunctionTimeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	log := iv.opts.Logger
	name := "Functions." + fn.Name
	log.Info(fmt.Sprintf("Executing '%s' (Reason='%s', Id=%s)", name, invocationReason, inv.InvocationID),
		"function", fn.Name, "invocationId", inv.InvocationID)
	rec := &StatusRecorder{ResponseWriter: w}
	start := time.Now()
	panicked := run(log, fn.Name, inv.InvocationID, rec, r.WithContext(ctx), fn.Handler)
	if t := iv.opts.FunctionTimeout; t > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// The handler's context was cancelled at functionTimeout: say so
		// as the Functions host does.
		log.Error(fmt.Sprintf("Timeout value of %s exceeded by function 'Functions.%s' (Id: '%s'). Initiating cancellation.",
			invoke.FormatTimeout(t), fn.Name, inv.InvocationID), "function", fn.Name, "invocationId", inv.InvocationID)
	}
	ms := float64(time.Since(start).Microseconds()) / 1000
	outcome := "Succeeded"
	level := slog.LevelInfo
	if panicked || rec.status >= 500 {
		outcome, level = "Failed", slog.LevelError
	}
	log.Log(r.Context(), level, fmt.Sprintf("Executed '%s' (%s, Id=%s, Duration=%.0fms)", name, outcome, inv.InvocationID, ms),
		"function", fn.Name, "invocationId", inv.InvocationID, "status", rec.statusOr200(), "durationMs", ms)
}

// run calls h and turns a panic into a logged 500, reporting whether it
// panicked. http.ErrAbortHandler keeps its meaning (abort the response).
func run(log *slog.Logger, fn, id string, w *StatusRecorder, r *http.Request, h http.Handler) (panicked bool) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		panicked = true
		if p == http.ErrAbortHandler {
			panic(p)
		}
		log.Error(fmt.Sprintf("Function 'Functions.%s' panicked (Id=%s): %v", fn, id, p),
			"function", fn, "invocationId", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		if !w.wrote {
			writeJSONError(w, http.StatusInternalServerError, fmt.Sprintf("Exception while executing function: Functions.%s (Id=%s)", fn, id))
		}
	}()
	h.ServeHTTP(w, r)
	return false
}

// recoverer keeps a mounted handler's panic from killing the connection
// silently: it logs the stack and answers 500.
func recoverer(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &StatusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error(fmt.Sprintf("panic serving %s %s: %v", r.Method, r.URL.Path, p), "stack", string(debug.Stack()))
				if !rec.wrote {
					writeJSONError(rec, http.StatusInternalServerError, "Internal server error.")
				}
			}
		}()
		h.ServeHTTP(rec, r)
	})
}

// StatusRecorder remembers the status written through it: the one
// WriteHeader set first, or 200 once a body is written or flushed
// without it (what net/http sends). The invocation logs and the HTTP
// trace span (host/telemetry) both read it, so they always agree.
type StatusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *StatusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *StatusRecorder) Write(b []byte) (int, error) {
	if !s.wrote {
		s.status, s.wrote = http.StatusOK, true
	}
	return s.ResponseWriter.Write(b)
}

// WriteString is Write for a string: it passes s to the wrapped writer's
// WriteString, so a large body written as a string (a status payload)
// reaches net/http without a []byte copy or a detour through a buffer.
func (s *StatusRecorder) WriteString(str string) (int, error) {
	if !s.wrote {
		s.status, s.wrote = http.StatusOK, true
	}
	return writeString(s.ResponseWriter, str)
}

// Flush supports streaming handlers.
func (s *StatusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		if !s.wrote {
			s.status, s.wrote = http.StatusOK, true
		}
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *StatusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *StatusRecorder) statusOr200() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// NewStatusRecorder wraps w.
func NewStatusRecorder(w http.ResponseWriter) *StatusRecorder {
	return &StatusRecorder{ResponseWriter: w}
}

// Status is the status sent, 200 when the handler has written nothing
// (net/http then answers 200 too).
func (s *StatusRecorder) Status() int { return s.statusOr200() }

// Wrote reports whether the status line has been sent.
func (s *StatusRecorder) Wrote() bool { return s.wrote }

// writeJSONError writes {"error": msg} with the given status.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": msg, "status": status})
}
