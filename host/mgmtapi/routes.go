package mgmtapi

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/funchost/funchost/host/dfwire"
)

// route is one line of the management API: method, chi pattern (relative
// to the API's base path) and handler. Path parameters reach the handler
// percent-decoded through r.PathValue.
type route struct {
	method, pattern string
	serve           func(*request)
}

// routes is the management API. Adding a route is one line here plus its
// handler; docs/http-api.md lists what each one answers.
var routes = []route{
	{http.MethodPost, "/orchestrators/{functionName}", (*request).start},
	{http.MethodPost, "/orchestrators/{functionName}/{instanceId}", (*request).start},
	{http.MethodGet, "/instances", (*request).list},
	{http.MethodDelete, "/instances", (*request).purgeByFilter},
	{http.MethodGet, "/instances/{instanceId}", (*request).status},
	{http.MethodDelete, "/instances/{instanceId}", (*request).purge},
	{http.MethodPost, "/instances/{instanceId}/raiseEvent/{eventName}", (*request).raiseEvent},
	{http.MethodPost, "/instances/{instanceId}/terminate", (*request).terminate},
	{http.MethodPost, "/instances/{instanceId}/suspend", (*request).suspend},
	{http.MethodPost, "/instances/{instanceId}/resume", (*request).resume},
	{http.MethodPost, "/instances/{instanceId}/rewind", (*request).rewind},
	{http.MethodPost, "/instances/{instanceId}/restart", (*request).restart},
	{http.MethodGet, "/entities", (*request).listEntities},
	{http.MethodGet, "/entities/{entityName}", (*request).listEntities},
	{http.MethodGet, "/entities/{entityName}/{entityKey}", (*request).readEntity},
	{http.MethodPost, "/entities/{entityName}/{entityKey}", (*request).signalEntity},
	{http.MethodDelete, "/entities/{entityName}/{entityKey}", (*request).signalEntity},
}

// serve adapts a table handler: it decodes the path parameters (404 for
// a malformed or empty one) and starts the request.
func (h *handler) serve(f func(*request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		params := chi.RouteContext(r.Context()).URLParams
		for i, k := range params.Keys {
			v, err := url.PathUnescape(params.Values[i])
			if err != nil || v == "" {
				notFound(w, r)
				return
			}
			if !utf8.ValidString(v) {
				// Storage keys cannot hold it: it would be read under
				// another name.
				_ = dfwire.WriteError(w, http.StatusBadRequest, fmt.Sprintf("Invalid %s: the path segment %q is not valid UTF-8.", k, v))
				return
			}
			r.SetPathValue(k, v)
		}
		f(&request{h: h, w: w, r: r, q: newQuery(r.URL.RawQuery)})
	}
}

// literalFolder rewrites the literal segments of a request path to their
// spelling in the route table when the path matches a route with literals
// compared case-insensitively: Durable Functions matches them so
// (/instances/x/Terminate works), chi exactly. Parameter segments are
// never touched.
type literalFolder [][]string

func newLiteralFolder(rs []route) literalFolder {
	var f literalFolder
	for _, rt := range rs {
		f = append(f, strings.Split(strings.Trim(rt.pattern, "/"), "/"))
	}
	// Routes with more literals first, as chi prefers literals.
	sort.SliceStable(f, func(i, j int) bool { return literals(f[i]) > literals(f[j]) })
	return f
}

func literals(pattern []string) int {
	n := 0
	for _, s := range pattern {
		if !isParam(s) {
			n++
		}
	}
	return n
}

func isParam(segment string) bool { return strings.HasPrefix(segment, "{") }

// fold returns the escaped path to route on: without surrounding slashes'
// repetition, literals in the table's spelling.
func (f literalFolder) fold(escapedPath string) string {
	segs := strings.Split(strings.Trim(escapedPath, "/"), "/")
	for _, p := range f {
		if len(p) != len(segs) || !matchFold(p, segs) {
			continue
		}
		for i, s := range p {
			if !isParam(s) {
				segs[i] = s
			}
		}
		break
	}
	return "/" + strings.Join(segs, "/")
}

func matchFold(pattern, segs []string) bool {
	for i, s := range pattern {
		if !isParam(s) && !strings.EqualFold(s, segs[i]) {
			return false
		}
	}
	return true
}
