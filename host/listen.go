package host

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/dfwire"
	"github.com/funchost/funchost/host/functions"
	"github.com/funchost/funchost/host/httpserver"
)

// listen returns Options.Listener, or listens on the port from the
// options or local.settings.json.
func listen(opts Options, cfg *config.Config) (net.Listener, error) {
	if opts.Listener != nil {
		return opts.Listener, nil
	}
	port := opts.Port
	if port == 0 {
		port = cfg.Local.LocalHTTPPort
	}
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return nil, fmt.Errorf("listening on port %d: %w", port, err)
	}
	return ln, nil
}

// newHTTPServer builds the main listener's handler: the enabled HTTP
// functions under the route prefix, the admin API at /admin behind the
// master key, and the management API at dfwire.WebhookPath behind the
// system key.
func newHTTPServer(cfg *config.Config, keys httpserver.Keys, fns []*functions.Function, d *durableSide, admin http.Handler, log *slog.Logger) (*httpserver.Server, error) {
	sopts := httpserver.Options{
		RoutePrefix:        cfg.Host.HTTP.RoutePrefix,
		Keys:               keys,
		MaxRequestBodySize: cfg.Host.HTTP.MaxRequestBodySize,
		FunctionTimeout:    cfg.Host.FunctionTimeout,
		CORS:               cfg.Local.CORS,
		CORSCredentials:    cfg.Local.CORSCredentials,
		Logger:             log,
		Client:             d.client,
		Trace:              d.httpTrace(),
	}
	for _, f := range fns {
		if f.Def.Kind != functions.KindHTTP {
			continue
		}
		var clients []string
		for _, b := range f.Def.Clients() {
			clients = append(clients, b.Name)
		}
		sopts.Functions = append(sopts.Functions, httpserver.Function{
			Name: f.Def.Name, Route: f.Def.Route(), Methods: f.Def.Methods(), AuthLevel: f.Def.AuthLevel(),
			Handler: f.HTTP, ClientBindings: clients, Disabled: f.Def.Disabled,
		})
	}
	// Without keys the admin and management APIs are open: refuse what a
	// page of another site would send them.
	guard := func(h http.Handler) http.Handler { return h }
	if keys.Open() {
		guard = httpserver.RefuseCrossSite
	}
	sopts.Mounts = append(sopts.Mounts, httpserver.Mount{Prefix: "/admin", Handler: guard(httpserver.RequireMasterKey(keys)(admin))})
	if d.rt != nil {
		sopts.Mounts = append(sopts.Mounts, httpserver.Mount{
			Prefix:  dfwire.WebhookPath,
			Handler: guard(httpserver.RequireSystemKey(keys, httpserver.DurableTaskSystemKeyName)(d.rt.API)),
		})
	}
	return httpserver.New(sopts)
}

// localEndpoint is the loopback listener that serves the management API
// without keys, for local tools, as the Durable extension's local RPC
// endpoint does.
type localEndpoint struct {
	ln  net.Listener
	srv *http.Server
}

// newLocalEndpoint listens on localRpcEndpointAddress (or the override;
// "off" disables it). It returns nil when the app is not durable, the
// endpoint is disabled, or the address is taken (with a warning).
func newLocalEndpoint(cfg *config.Config, override string, d *durableSide, log *slog.Logger) (*localEndpoint, error) {
	addr := cfg.Host.Durable.LocalRPCEndpointAddress
	if override != "" {
		addr = override
	}
	if d.rt == nil || !cfg.Host.Durable.LocalRPCEndpointEnabled || addr == "off" {
		return nil, nil
	}
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn("local management endpoint disabled: cannot listen", "address", addr, "err", err)
		return nil, nil
	}
	mux := http.NewServeMux()
	mux.Handle(dfwire.LocalRPCPath+"/", http.StripPrefix(dfwire.LocalRPCPath, d.rt.LocalAPI))
	// Keyless, so: only requests addressed to a loopback name (DNS
	// rebinding) and no cross-site changes from browsers.
	h := httpserver.LoopbackOnly(httpserver.RefuseCrossSite(mux))
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	return &localEndpoint{ln: ln, srv: httpserver.NewHTTPServer(h, httpserver.TimeoutsFor(cfg.Host.FunctionTimeout), errLog)}, nil
}

// checkLoopback refuses to serve the keyless management API on anything
// but a loopback address.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("localRpcEndpointAddress %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("localRpcEndpointAddress %q: must be a loopback address (it serves the management API without keys)", addr)
	}
	return nil
}
