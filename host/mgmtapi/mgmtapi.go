// Package mgmtapi serves Durable Functions' HTTP management API (the routes
// under /runtime/webhooks/durabletask) over durable clients, with the
// paths, query parameters, status codes, headers and JSON of the Durable
// Functions extension, so that tools written for Durable Functions work
// unchanged. The JSON itself is package dfwire's; docs/http-api.md walks
// through every route.
//
// The routes are a table (routes.go) served by chi, one line per route.
// The handler serves the route tree relative to where it is mounted: the
// host mounts it (with http.StripPrefix) at /runtime/webhooks/durabletask
// behind its system-key check, and at /durabletask/ on the loopback
// listener. Options.Mounts adds other handlers under the same tree (a
// dashboard), behind the same checks. Where the two generations of the
// extension differ, the newer one is followed: 409 for starting a running
// ID, 412 for purging a non-terminal instance or rewinding a non-failed
// one.
//
// Route literals match case-insensitively and path parameters are
// percent-decoded after routing, so an instance ID containing an encoded
// '/' cannot change the route. Wrong methods: a method the host's webhook
// route accepts (GET, PUT, POST, DELETE, OPTIONS) that a route does not
// handle gets 404 with an empty body as from the extension; any other
// method gets 405.
package mgmtapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/funchost/funchost/host/dfwire"
	"github.com/funchost/funchost/host/durableclient"
)

// DefaultBasePath is where the host mounts the management API.
const DefaultBasePath = dfwire.WebhookPath

// DefaultMaxBodyBytes bounds request bodies (the Functions host's default
// request size limit).
const DefaultMaxBodyBytes = 100 << 20

// ErrUnknownTaskHub is returned by a ClientFunc for a task hub or
// connection this host does not serve; the API answers 404 with a message
// naming the hub.
var ErrUnknownTaskHub = errors.New("task hub not served by this host")

// ClientFunc returns the durable client for the task hub and connection
// named by a request's taskHub and connection query parameters ("" when
// absent: the host's defaults). It returns an error wrapping
// ErrUnknownTaskHub for hubs the host does not serve.
type ClientFunc func(taskHub, connection string) (*durableclient.Client, error)

// Mount is a handler served under Prefix of the management API (e.g.
// "/dashboard" serves /runtime/webhooks/durabletask/dashboard/...). The
// handler sees the path below Prefix.
type Mount struct {
	Prefix  string
	Handler http.Handler
}

// Options configure the handler.
type Options struct {
	// Client resolves the client of a request. Required; Hubs builds one.
	Client ClientFunc
	// BasePath is the path the handler is mounted at, used for the URLs in
	// check-status responses (default DefaultBasePath; the loopback
	// listener uses dfwire.LocalRPCPath).
	BasePath string
	// MaxBodyBytes bounds request bodies (default DefaultMaxBodyBytes);
	// larger bodies get 413.
	MaxBodyBytes int64
	// Logger receives unexpected errors (default slog.Default()).
	Logger *slog.Logger
	// Mounts are extra handlers served under the API's path.
	Mounts []Mount
}

// Hubs returns a ClientFunc serving the given clients: the first is the
// default (no taskHub parameter); a taskHub parameter selects the client
// whose hub has that name, compared case-insensitively as Azure Storage
// does. A connection parameter must match the client's connection name
// (case-insensitively) when given.
func Hubs(defaultClient *durableclient.Client, others ...*durableclient.Client) ClientFunc {
	all := append([]*durableclient.Client{defaultClient}, others...)
	return func(taskHub, connection string) (*durableclient.Client, error) {
		for _, c := range all {
			if taskHub != "" && !strings.EqualFold(taskHub, c.TaskHubName()) {
				continue
			}
			if connection != "" && !strings.EqualFold(connection, c.ConnectionName()) {
				continue
			}
			return c, nil
		}
		return nil, fmt.Errorf("%w: task hub %q with connection %q", ErrUnknownTaskHub, taskHub, connection)
	}
}

type handler struct {
	clients  ClientFunc
	basePath string
	maxBody  int64
	log      *slog.Logger
	mux      *chi.Mux
	literals literalFolder
}

// New returns the management API handler.
func New(opts Options) http.Handler {
	h := &handler{clients: opts.Client, basePath: opts.BasePath, maxBody: opts.MaxBodyBytes, log: opts.Logger}
	if h.basePath == "" {
		h.basePath = DefaultBasePath
	}
	h.basePath = "/" + strings.Trim(h.basePath, "/")
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.mux = chi.NewMux()
	h.mux.NotFound(notFound)
	h.mux.MethodNotAllowed(notFound)
	for _, rt := range routes {
		h.mux.Method(rt.method, rt.pattern, h.serve(rt.serve))
	}
	for _, m := range opts.Mounts {
		prefix := "/" + strings.Trim(m.Prefix, "/")
		h.mux.Mount(prefix, http.StripPrefix(prefix, m.Handler))
	}
	h.literals = newLiteralFolder(routes)
	return h
}

// webhookMethod reports the methods the Functions host's webhook route
// accepts; the extension answers 404 to the ones a route does not handle.
func webhookMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// ServeHTTP routes on the escaped path (so that %2F stays inside its
// segment), with route literals folded to the table's spelling, in a
// routing context of its own (the host's router has one of its own).
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !webhookMethod(r.Method) {
		w.Header().Set("Allow", "GET, PUT, POST, DELETE, OPTIONS")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	rctx := chi.NewRouteContext()
	rctx.RoutePath = h.literals.fold(r.URL.EscapedPath())
	h.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rctx)))
}

func notFound(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) }
