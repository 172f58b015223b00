// Package mgmtapi serves Durable Functions' HTTP management API (the routes
// under /runtime/webhooks/durabletask) over durable clients, with the
// paths, query parameters, status codes, headers and JSON of the Durable
// Functions extension, so that tools written for Durable Functions work
// unchanged.
//
// The handler serves the route tree relative to where it is mounted: the
// host mounts it (with http.StripPrefix) at /runtime/webhooks/durabletask
// behind its system-key check, and at /durabletask/ on the loopback
// listener. Where the two generations of the extension differ, the newer
// one is followed: 409 for starting a running ID, 412 for purging a
// non-terminal instance or rewinding a non-failed one.
//
// Wrong methods: a method the host's webhook route accepts (GET, PUT, POST,
// DELETE, OPTIONS) that a route does not handle gets 404 with an empty body
// as from the extension; any other method gets 405.
package mgmtapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/funchost/funchost/host/durableclient"
)

// DefaultBasePath is where the host mounts the management API.
const DefaultBasePath = "/runtime/webhooks/durabletask"

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

// Options configure the handler.
type Options struct {
	// Client resolves the client of a request. Required; Hubs builds one.
	Client ClientFunc
	// BasePath is the path the handler is mounted at, used for the URLs in
	// check-status responses (default DefaultBasePath; the loopback
	// listener uses "/durabletask").
	BasePath string
	// MaxBodyBytes bounds request bodies (default DefaultMaxBodyBytes);
	// larger bodies get 413.
	MaxBodyBytes int64
	// Logger receives unexpected errors (default slog.Default()).
	Logger *slog.Logger
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
	return h
}

// webhookMethods are the methods the Functions host's webhook route
// accepts; the extension answers 404 to the ones a route does not handle.
func webhookMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// segments splits the escaped path into unescaped segments, so that an
// instance ID containing an encoded '/' can't change the route.
func segments(r *http.Request) ([]string, bool) {
	p := strings.Trim(r.URL.EscapedPath(), "/")
	if p == "" {
		return nil, true
	}
	parts := strings.Split(p, "/")
	for i, s := range parts {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !webhookMethod(r.Method) {
		w.Header().Set("Allow", "GET, PUT, POST, DELETE, OPTIONS")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	seg, ok := segments(r)
	if !ok || len(seg) == 0 {
		notFound(w)
		return
	}
	q := newQuery(r.URL.RawQuery)
	rq := &request{h: h, w: w, r: r, q: q}
	switch {
	case strings.EqualFold(seg[0], "orchestrators") && (len(seg) == 2 || len(seg) == 3):
		if r.Method != http.MethodPost {
			notFound(w)
			return
		}
		id := ""
		if len(seg) == 3 {
			id = seg[2]
		}
		rq.start(seg[1], id)
	case strings.EqualFold(seg[0], "instances") && len(seg) == 1:
		switch r.Method {
		case http.MethodGet:
			rq.list()
		case http.MethodDelete:
			rq.purgeByFilter()
		default:
			notFound(w)
		}
	case strings.EqualFold(seg[0], "instances") && len(seg) == 2:
		switch r.Method {
		case http.MethodGet:
			rq.status(seg[1])
		case http.MethodDelete:
			rq.purge(seg[1])
		default:
			notFound(w)
		}
	case strings.EqualFold(seg[0], "instances") && len(seg) == 4 && strings.EqualFold(seg[2], "raiseEvent"):
		if r.Method != http.MethodPost {
			notFound(w)
			return
		}
		rq.raiseEvent(seg[1], seg[3])
	case strings.EqualFold(seg[0], "instances") && len(seg) == 3:
		if r.Method != http.MethodPost {
			notFound(w)
			return
		}
		rq.operation(seg[1], strings.ToLower(seg[2]))
	default:
		notFound(w)
	}
}
