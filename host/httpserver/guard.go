package httpserver

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"time"
)

// Timeouts of the host's HTTP servers. Without them a client that opens
// connections and sends nothing (or keeps them idle) holds a file
// descriptor each for ever.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers.
	ReadHeader time.Duration
	// Idle bounds a keep-alive connection waiting for its next request.
	Idle time.Duration
	// Request bounds reading a whole request and writing its response
	// (http.Server's ReadTimeout and WriteTimeout); 0 = unbounded.
	Request time.Duration
}

// Defaults of Timeouts: 30 s for headers and about two minutes of idle
// keep-alive, as ASP.NET Core's Kestrel (the Functions host's server)
// has them.
const (
	DefaultReadHeaderTimeout = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	// requestTimeoutMargin is added to functionTimeout for Request: the
	// longest legitimate exchange is a function running to its timeout.
	requestTimeoutMargin = time.Minute
)

// TimeoutsFor returns the default timeouts for a host whose HTTP
// functions run up to functionTimeout (0 or negative = unbounded, and so
// is Request then).
func TimeoutsFor(functionTimeout time.Duration) Timeouts {
	t := Timeouts{ReadHeader: DefaultReadHeaderTimeout, Idle: DefaultIdleTimeout}
	if functionTimeout > 0 {
		t.Request = functionTimeout + requestTimeoutMargin
	}
	return t
}

// NewHTTPServer returns an http.Server for h with timeouts t; errorLog
// receives the server's own errors (nil = the log package's default).
// Serve it on GuardFraming(listener): the handler answers the requests
// that guard refuses.
func NewHTTPServer(h http.Handler, t Timeouts, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           refuseFraming(h),
		ReadHeaderTimeout: t.ReadHeader,
		IdleTimeout:       t.Idle,
		ReadTimeout:       t.Request,
		WriteTimeout:      t.Request,
		ErrorLog:          errorLog,
	}
}

// LoopbackOnly answers 403 to requests whose Host header is not a
// loopback name (localhost, 127.0.0.0/8, ::1, with any port). A keyless
// listener on 127.0.0.1 is still reachable from a web page through DNS
// rebinding: a name the attacker controls first resolves to their server,
// then to 127.0.0.1, and the browser sends the attacker's name as Host.
func LoopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isLoopbackHost(r.Host) {
			writeJSONError(w, http.StatusForbidden, fmt.Sprintf(
				"Host %q is not a loopback name: this endpoint serves the management API without keys and answers only requests addressed to localhost, 127.0.0.1 or [::1].", r.Host))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isLoopbackHost reports whether a Host header value names the loopback
// interface.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RefuseCrossSite answers 403 to state-changing requests (anything but
// GET, HEAD and OPTIONS) that a browser sent from another origin, told by
// Sec-Fetch-Site or, from older browsers, by an Origin that differs from
// Host. Keyless endpoints need it: a page on any site may POST a
// text/plain body to localhost without a CORS preflight, and so start or
// terminate instances. Requests from tools (no such headers) pass.
func RefuseCrossSite(next http.Handler) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusForbidden, fmt.Sprintf(
			"Cross-site request refused: %s %s came from a page of another origin (Origin %q, Sec-Fetch-Site %q); this endpoint takes no keys and accepts changes only from tools and its own pages.",
			r.Method, r.URL.Path, r.Header.Get("Origin"), r.Header.Get("Sec-Fetch-Site")))
	}))
	return p.Handler(next)
}
