package host

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/functions"
	"github.com/funchost/funchost/host/httpserver"
)

// Options configure Run.
type Options struct {
	// ScriptRoot is the app folder (default: the working directory).
	ScriptRoot string
	// Port is the HTTP port; 0 takes local.settings.json's
	// Host.LocalHttpPort (default 7071).
	Port int
	// Listener, when set, is served instead of listening on Port (tests pass
	// one on 127.0.0.1:0).
	Listener net.Listener
	// LogFormat is "text" (default) or "json"; FUNCHOST_LOG_FORMAT sets it
	// when empty. Ignored when Logger is set.
	LogFormat string
	// LogOutput receives the logs (default os.Stderr). Ignored when Logger
	// is set.
	LogOutput io.Writer
	// Logger, when set, receives all logs.
	Logger *slog.Logger
	// Env is the environment configuration reads and local.settings.json's
	// Values are exported into (default: the process environment).
	Env config.Env
	// LocalRPCAddr overrides host.json's localRpcEndpointAddress for the
	// loopback management listener; "off" disables the listener.
	LocalRPCAddr string
	// ShutdownTimeout bounds graceful shutdown (default 30 s): in-flight
	// requests and work items get this long to finish.
	ShutdownTimeout time.Duration
	// Ready, when set, is called once the host serves, with its HTTP
	// address.
	Ready func(addr string)
}

// SettingLogFormat selects the log format when no flag does ("text" or
// "json").
const SettingLogFormat = "FUNCHOST_LOG_FORMAT"

// Main runs app as a command: it parses --script-root, --port and
// --log-format, serves until SIGINT or SIGTERM, shuts down gracefully and
// exits 0. A startup error is printed as one message and exits 1.
func Main(app *App) {
	fs := flag.NewFlagSet(filepath.Base(os.Args[0]), flag.ContinueOnError)
	root := fs.String("script-root", "", "the function app folder (default: the working directory)")
	port := fs.Int("port", 0, "HTTP port (default: local.settings.json Host.LocalHttpPort, else 7071)")
	logFormat := fs.String("log-format", "", "log format: text or json (default text, or $"+SettingLogFormat+")")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := Run(ctx, app, Options{ScriptRoot: *root, Port: *port, LogFormat: *logFormat})
	if err != nil {
		fmt.Fprintf(os.Stderr, "funchost: %v\n", err)
		os.Exit(1)
	}
}

// Run serves app until ctx is cancelled, then shuts down gracefully: it
// stops accepting connections, lets in-flight requests and work items
// finish (up to Options.ShutdownTimeout), stops the task hub and returns
// nil. Startup problems are returned as one error.
func Run(ctx context.Context, app *App, opts Options) error {
	if opts.Env == nil {
		opts.Env = config.OSEnv{}
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	log, err := newLogger(opts)
	if err != nil {
		return err
	}
	root := opts.ScriptRoot
	if root == "" {
		if root, err = os.Getwd(); err != nil {
			return err
		}
	}
	if root, err = filepath.Abs(root); err != nil {
		return err
	}

	cfg, err := config.Load(root, opts.Env, log)
	if err != nil {
		return err
	}
	handlers, err := app.snapshot()
	if err != nil {
		return err
	}
	defs, err := functions.Discover(root)
	if err != nil {
		return err
	}
	fns, err := functions.Bind(defs, handlers)
	if err != nil {
		return err
	}
	var names []string
	for _, f := range fns {
		names = append(names, f.Def.Name)
		// AzureWebJobs.<Name>.Disabled=true disables a function, as in
		// Functions.
		if v, _ := opts.Env.LookupEnv("AzureWebJobs." + f.Def.Name + ".Disabled"); strings.EqualFold(v, "true") || v == "1" {
			f.Def.Disabled = true
		}
		if f.Def.Disabled {
			log.Info("Function is disabled", "function", f.Def.Name)
		}
	}
	keys := httpserver.KeysFromSettings(opts.Env.LookupEnv, names)

	ln := opts.Listener
	if ln == nil {
		port := opts.Port
		if port == 0 {
			port = cfg.Local.LocalHTTPPort
		}
		if ln, err = net.Listen("tcp", ":"+strconv.Itoa(port)); err != nil {
			return fmt.Errorf("listening on port %d: %w", port, err)
		}
	}
	defer ln.Close()
	addr := ln.Addr().String()
	port := ln.Addr().(*net.TCPAddr).Port
	// Management URLs are built from WEBSITE_HOSTNAME, as in Functions; Core
	// Tools sets it to localhost:<port>.
	if v, ok := opts.Env.LookupEnv("WEBSITE_HOSTNAME"); !ok || v == "" {
		_ = opts.Env.Setenv("WEBSITE_HOSTNAME", "localhost:"+strconv.Itoa(port))
	}

	startCtx, cancelStart := context.WithCancel(ctx)
	defer cancelStart()
	d, err := startDurable(startCtx, durableParams{cfg: cfg, env: opts.Env, log: log, fns: fns, keys: keys})
	if err != nil {
		return err
	}
	// From here on every exit path stops the durable side.
	stopped := false
	stopDurable := func() error {
		if stopped {
			return nil
		}
		stopped = true
		sctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
		defer cancel()
		return d.stop(sctx)
	}
	defer stopDurable()

	sopts := httpserver.Options{
		RoutePrefix:        cfg.Host.HTTP.RoutePrefix,
		Keys:               keys,
		MaxRequestBodySize: cfg.Host.HTTP.MaxRequestBodySize,
		FunctionTimeout:    cfg.Host.FunctionTimeout,
		CORS:               cfg.Local.CORS,
		CORSCredentials:    cfg.Local.CORSCredentials,
		Logger:             log,
		Client:             d.client,
	}
	for _, f := range fns {
		if f.Def.Kind != functions.KindHTTP || f.Def.Disabled {
			continue
		}
		var clients []string
		for _, b := range f.Def.Clients() {
			clients = append(clients, b.Name)
		}
		sopts.Functions = append(sopts.Functions, httpserver.Function{
			Name: f.Def.Name, Route: f.Def.Route(), Methods: f.Def.Methods(), AuthLevel: f.Def.AuthLevel(),
			Handler: f.HTTP, ClientBindings: clients,
		})
	}
	if d.mgmt != nil {
		sopts.Mounts = append(sopts.Mounts, httpserver.Mount{
			Prefix:  webhookPath,
			Handler: httpserver.RequireSystemKey(keys, httpserver.DurableTaskSystemKeyName)(d.mgmt),
		})
	}
	srv, err := httpserver.New(sopts)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}

	// The loopback listener serves the management API without keys, for
	// local tools, as the Durable extension's local RPC endpoint does.
	var rpc *http.Server
	var rpcLn net.Listener
	if d.rpc != nil {
		rpcAddr := cfg.Host.Durable.LocalRPCEndpointAddress
		if opts.LocalRPCAddr != "" {
			rpcAddr = opts.LocalRPCAddr
		}
		if cfg.Host.Durable.LocalRPCEndpointEnabled && rpcAddr != "off" {
			if err := checkLoopback(rpcAddr); err != nil {
				return err
			}
			rpcLn, err = net.Listen("tcp", rpcAddr)
			if err != nil {
				log.Warn("local management endpoint disabled: cannot listen", "address", rpcAddr, "err", err)
			} else {
				mux := http.NewServeMux()
				mux.Handle(rpcPath+"/", http.StripPrefix(rpcPath, d.rpc))
				rpc = &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
			}
		}
	}

	logStartup(log, cfg, srv, keys, port, d, rpcLn)
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	if rpc != nil {
		go func() { errc <- rpc.Serve(rpcLn) }()
	}
	if opts.Ready != nil {
		opts.Ready(addr)
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	log.Info("Stopping the host: draining in-flight requests and work items", "timeout", opts.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := hs.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("draining HTTP requests: %w", err))
	}
	if rpc != nil {
		if err := rpc.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("draining the local management endpoint: %w", err))
		}
	}
	if err := stopDurable(); err != nil {
		errs = append(errs, fmt.Errorf("stopping the durable engine: %w", err))
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("serving HTTP: %w", serveErr))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	log.Info("Host stopped")
	return nil
}

// Paths of the management API on the main listener and on the loopback
// listener.
const (
	webhookPath = "/runtime/webhooks/durabletask"
	rpcPath     = "/durabletask"
)

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

func newLogger(opts Options) (*slog.Logger, error) {
	if opts.Logger != nil {
		return opts.Logger, nil
	}
	out := opts.LogOutput
	if out == nil {
		out = os.Stderr
	}
	format := opts.LogFormat
	if format == "" {
		format, _ = opts.Env.LookupEnv(SettingLogFormat)
	}
	switch strings.ToLower(format) {
	case "", "text":
		return slog.New(slog.NewTextHandler(out, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(out, nil)), nil
	}
	return nil, fmt.Errorf("unknown log format %q (want text or json)", format)
}

// logStartup prints what Core Tools prints: the function list with URLs,
// plus the facts an operator needs (task hub, provider, auth mode).
func logStartup(log *slog.Logger, cfg *config.Config, srv *httpserver.Server, keys httpserver.Keys, port int, d *durable, rpcLn net.Listener) {
	log.Info("Host started", "scriptRoot", cfg.ScriptRoot, "port", port, "routePrefix", cfg.Host.HTTP.RoutePrefix)
	if d.hubName != "" {
		log.Info("Durable task hub", "hub", d.hubName, "storageProvider", cfg.Host.Durable.StorageProvider.Type,
			"orchestrators", d.orchestrators, "activities", d.activities)
	}
	if keys.Open() {
		log.Warn("No function keys are configured (" + httpserver.SettingMasterKey + ", " + httpserver.SettingHostKey + ", " +
			httpserver.SettingFunctionKeyPrefix + "<Function>, " + httpserver.SettingDurableTaskSystemKey +
			"): authLevel is not enforced and every HTTP function and the management API are open, as with Core Tools locally")
	}
	if !keys.Open() && d.mgmt != nil && keys.Master == "" && keys.System[httpserver.DurableTaskSystemKeyName] == "" {
		log.Warn("Function keys are configured but neither " + httpserver.SettingMasterKey + " nor " + httpserver.SettingDurableTaskSystemKey +
			": the Durable management API " + webhookPath + " is open")
	}
	for _, r := range srv.Routes() {
		methods := "ALL"
		if len(r.Methods) > 0 {
			methods = strings.Join(r.Methods, ",")
		}
		log.Info(fmt.Sprintf("%s: [%s] http://localhost:%d%s", r.Function, methods, port, r.Template))
	}
	if d.mgmt != nil {
		log.Info(fmt.Sprintf("Durable management API: http://localhost:%d%s", port, webhookPath))
	}
	if rpcLn != nil {
		log.Info(fmt.Sprintf("Local management endpoint (loopback, no keys): http://%s%s/", rpcLn.Addr(), rpcPath))
	}
}
