// Package dashboard serves funchost's built-in web dashboard for one task
// hub: a paged, filterable list of orchestration instances with counts per
// status, an instance page with its status, payloads, failure details,
// parent and children, and its history drawn as a timeline, and the
// management actions (raise event, terminate, suspend, resume, rewind,
// restart, purge) behind confirmations.
//
// Pages are rendered on the server with html/template; a little embedded
// JavaScript (no build step, no external network access) refreshes parts
// of a page in place, sends the actions and draws the timeline, rendering
// only the rows in view so that histories of tens of thousands of events
// stay responsive. Everything the pages need is embedded in the binary.
//
// The handler serves paths relative to where it is mounted (the host uses
// http.StripPrefix): "/" the instance list, "/instances/{id}" an instance,
// "/instances/{id}/timeline" its timeline as JSON,
// "/instances/{id}/events/{n}" one history event as JSON, "/entities" the
// durable entities with their state, POST
// "/instances/{id}/{action}" an action, "/static/…" the assets.
//
// Access control is the mount's job: the host puts the dashboard behind the
// same key check as the management API. The dashboard carries the key it
// was opened with (the code query parameter) into every link and request
// it makes. State-changing requests must be JSON POSTs from the same
// origin, so that another web site cannot submit them from a user's
// browser on a host that runs without keys. See docs/dashboard.md.
package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"runtime/debug"
	"strings"
	"time"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
)

// Store is what the dashboard reads: status rows and histories, straight
// from the task hub (a storageprovider.TaskHub satisfies it). Listing
// reads status rows without their payloads, which keeps a scan of
// thousands of instances cheap.
type Store interface {
	QueryOrchestrationStates(ctx context.Context, q sp.InstanceQuery) (*sp.InstanceQueryResult, error)
	GetOrchestrationState(ctx context.Context, instanceID string, fetchInputsAndOutputs bool) (*sp.OrchestrationState, error)
	GetOrchestrationHistory(ctx context.Context, instanceID string) ([]*sp.HistoryEvent, error)
}

// Defaults of Options.
const (
	DefaultScanLimit    = 5000
	DefaultMaxBodyBytes = 1 << 20
	DefaultPageSize     = 50
)

// Options configure the dashboard.
type Options struct {
	// Client performs the actions, with the same checks as the management
	// API. Required.
	Client bindings.DurableClient
	// Store reads instances and histories. Required.
	Store Store
	// BasePath is the path the handler is mounted at, e.g.
	// "/runtime/webhooks/durabletask/dashboard"; links are built from it.
	// Empty: each request's own mount point, taken from the part of its
	// request URI that http.StripPrefix removed, so that one handler can
	// serve under several prefixes (the main and the loopback listener).
	BasePath string
	// ScanLimit bounds how many status rows one list request reads to
	// count, filter by name and sort (default DefaultScanLimit). Past it
	// the page says so and covers the rows read.
	ScanLimit int
	// MaxBodyBytes bounds action request bodies (default
	// DefaultMaxBodyBytes); larger bodies get 413.
	MaxBodyBytes int64
	// Logger receives unexpected errors (default slog.Default()).
	Logger *slog.Logger
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// Handler is the dashboard. Create it with New.
type Handler struct {
	client    bindings.DurableClient
	store     Store
	base      string
	scanLimit int
	maxBody   int64
	log       *slog.Logger
	now       func() time.Time
	mux       *http.ServeMux
}

// New returns the dashboard handler.
func New(opts Options) *Handler {
	h := &Handler{
		client: opts.Client, store: opts.Store, base: "/" + strings.Trim(opts.BasePath, "/"),
		scanLimit: opts.ScanLimit, maxBody: opts.MaxBodyBytes, log: opts.Logger, now: opts.Now,
	}
	if h.base == "/" {
		h.base = ""
	}
	if h.scanLimit <= 0 {
		h.scanLimit = DefaultScanLimit
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", h.serveList)
	m.HandleFunc("GET /entities", h.serveEntities)
	m.HandleFunc("GET /instances/{id}", h.serveInstance)
	m.HandleFunc("GET /instances/{id}/timeline", h.serveTimeline)
	m.HandleFunc("GET /instances/{id}/events/{n}", h.serveEvent)
	m.HandleFunc("POST /instances/{id}/{action}", h.serveAction)
	m.HandleFunc("GET /static/{file}", serveStatic)
	m.HandleFunc("/", h.serveNotFound)
	h.mux = m
	return h
}

// ServeHTTP serves the dashboard. A panic in a handler becomes a 500 page
// and a logged stack; the host keeps serving.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.Error("dashboard handler panicked", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			h.fail(w, r, http.StatusInternalServerError, "The dashboard failed to serve this request; the host log has the details.")
		}
	}()
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer") // links carry the key
	hdr.Set("X-Frame-Options", "DENY")
	if r.URL.Path == "" { // the mount point itself: the pages' links are relative to "…/dashboard/"
		u := *r.URL
		u.Path = h.basePath(r) + "/"
		http.Redirect(w, r, u.String(), http.StatusMovedPermanently)
		return
	}
	// ServeMux would redirect an unclean path (a//b, a/../b) to its clean
	// form without the mount's prefix; no dashboard link has one.
	if p := r.URL.Path; p != "/" && path.Clean(p) != strings.TrimSuffix(p, "/") {
		h.serveNotFound(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// basePath is the path the request's dashboard is mounted at.
func (h *Handler) basePath(r *http.Request) string {
	if h.base != "" {
		return h.base
	}
	full, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return ""
	}
	base, ok := strings.CutSuffix(full.EscapedPath(), r.URL.EscapedPath())
	if !ok {
		return ""
	}
	return strings.TrimSuffix(base, "/")
}

func (h *Handler) serveNotFound(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, http.StatusNotFound, fmt.Sprintf("There is no dashboard page at %q.", r.URL.Path))
}

// wantsJSON reports whether the request is one of the page's own
// JavaScript requests, which get JSON errors rather than an HTML page.
func wantsJSON(r *http.Request) bool {
	return r.Method != http.MethodGet || strings.Contains(r.Header.Get("Accept"), "application/json") || r.URL.Query().Get("fragment") != "" ||
		strings.HasSuffix(r.URL.Path, "/timeline") || strings.Contains(r.URL.Path, "/events/")
}

// fail answers an error: JSON {"error": msg} to scripts, an error page to
// browsers.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if wantsJSON(r) {
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	h.render(w, r, code, "error", &page{Title: http.StatusText(code), Error: msg})
}

// storeError answers a failed read: 404 for a missing instance, 504 for a
// cancelled or timed-out request, 502 otherwise (the task hub's storage
// did not answer), logged.
func (h *Handler) storeError(w http.ResponseWriter, r *http.Request, id string, err error) {
	switch {
	case errors.Is(err, sp.ErrInstanceNotFound):
		h.fail(w, r, http.StatusNotFound, fmt.Sprintf("No instance with ID %q exists in this task hub (it may have been purged).", id))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		h.fail(w, r, http.StatusGatewayTimeout, "Reading the task hub took too long or was cancelled.")
	default:
		h.log.Error("dashboard: reading the task hub failed", "path", r.URL.Path, "err", err)
		h.fail(w, r, http.StatusBadGateway, "Reading the task hub failed: "+err.Error())
	}
}
