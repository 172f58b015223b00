package host

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/adminapi"
	"github.com/funchost/funchost/host/cli"
	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/durable"
	"github.com/funchost/funchost/host/functions"
	"github.com/funchost/funchost/host/httpserver"
	"github.com/funchost/funchost/host/storagebindings"
	"github.com/funchost/funchost/host/telemetry"
	"github.com/funchost/funchost/storageprovider/azurestorage"
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
	// StorageWaitTimeout bounds how long start-up waits for unreachable
	// storage, retrying with backoff and serving /admin/host/status
	// meanwhile (0: the FUNCHOST_STORAGE_WAIT_TIMEOUT setting, else
	// DefaultStorageWaitTimeout; negative waits for ever).
	StorageWaitTimeout time.Duration
	// StrictFunctions makes a function in error (invalid function.json,
	// unknown binding, missing or mis-shaped handler) stop the host instead
	// of being reported and skipped; FUNCHOST_STRICT_FUNCTIONS=true sets it
	// too. Tests and CI use it so that mistakes fail the build.
	StrictFunctions bool
}

// SettingLogFormat selects the log format when no flag does ("text" or
// "json").
const SettingLogFormat = "FUNCHOST_LOG_FORMAT"

// Main runs app as a command line (package host/cli, docs/cli.md): with
// no command, or "start", it serves the app with --script-root, --port,
// --log-format and --strict-functions until SIGINT or SIGTERM, shuts down
// gracefully and exits 0 (a startup error is printed as one message and
// exits 1); "functions list" lists the app's functions and "durable …"
// operates its task hub. Exit codes: 0 ok, 1 error, 2 usage, 3 not found.
func Main(app *App) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, cli.Config{
		Start: func(ctx context.Context, o cli.StartOptions) error {
			return Run(ctx, app, Options{ScriptRoot: o.ScriptRoot, Port: o.Port, LogFormat: o.LogFormat, StrictFunctions: o.StrictFunctions})
		},
		Functions: func(root string) ([]cli.Function, error) { return listFunctions(app, root) },
		Handlers:  app.snapshot,
	}, os.Args[1:])
	stop()
	os.Exit(code)
}

// Run serves app until ctx is cancelled, then shuts down gracefully: it
// stops accepting connections, lets in-flight requests and work items
// finish (up to Options.ShutdownTimeout), stops the task hub and returns
// nil. Startup problems are returned as one error.
//
// The steps: load the configuration, bind the functions to their
// handlers, read the keys, listen, start the durable side, build the HTTP
// server and the loopback listener, serve, drain.
func Run(ctx context.Context, app *App, opts Options) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	log, levels, err := newLogger(opts)
	if err != nil {
		return err
	}
	cfg, err := config.Load(opts.ScriptRoot, opts.Env, log)
	if err != nil {
		return err
	}
	levels.apply(cfg.Host.Logging)
	fns, broken, err := bindFunctions(app, cfg.ScriptRoot, opts.Env, strictFunctions(opts), log)
	if err != nil {
		return err
	}
	var d *durableSide
	var tel *telemetry.Telemetry
	r := &runner{cfg: cfg, env: opts.Env, log: log, accounts: storagebindings.NewAccounts(opts.Env.LookupEnv), drain: opts.ShutdownTimeout,
		client: func(fn, b string) bindings.DurableClient {
			if d == nil {
				return nil
			}
			return d.client(fn, b)
		},
		tel: func() *telemetry.Telemetry { return tel }}
	hostID := hostID(opts.Env, cfg.ScriptRoot, log)
	trig, unloaded := newTriggerSide(r, fns, hostID)
	if err := reportUnloaded(unloaded, strictFunctions(opts), log); err != nil {
		return err
	}
	fns, broken = withoutUnloaded(fns, unloaded), append(broken, unloaded...)
	wrapActivities(r, fns)
	wrapEntities(r, fns)
	wrapHTTPOutputs(r, fns)
	keys := httpserver.KeysFromSettings(opts.Env.LookupEnv, functionNames(fns))
	wait, err := storageWait(opts)
	if err != nil {
		return err
	}
	ln, err := listen(opts, cfg)
	if err != nil {
		return err
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	// Serve the host status (and 503 to the rest) while storage may still
	// be coming up.
	instanceID, starting := hostInstanceID(), &startupState{}
	boot := startBootServer(ln, httpserver.TimeoutsFor(cfg.Host.FunctionTimeout), keys, hostID, instanceID, starting, log)
	defer boot.hs.Close()

	settings := durable.Settings{Host: cfg.Host, Env: opts.Env, Logger: log, RequestCounter: &azurestorage.RequestCounter{}}
	d, tel, err = startDurableWaiting(ctx, settings, wait, starting, fns, &keys, hostID, websiteHostname(opts.Env, port))
	if err != nil {
		if ctx.Err() != nil {
			log.Info("Host stopped while waiting for storage")
			return nil
		}
		return err
	}
	// From here on every exit path stops the listeners and the durable side
	// (the drain stops them first; stopping again does nothing).
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
		defer cancel()
		_ = trig.stop(sctx)
		_ = d.stop(sctx)
		_ = tel.Shutdown(sctx)
	}()

	base := "http://" + websiteHostname(opts.Env, port)
	admin := adminapi.New(adminapi.Options{
		Functions: func() []adminapi.Function { return adminFunctions(r, fns, broken, base, cfg.Host.HTTP.RoutePrefix) },
		HostID:    hostID, InstanceID: instanceID, Version: "funchost", Background: context.WithoutCancel(ctx), Logger: log,
		Metrics: tel.MetricsHandler(),
	})
	srv, err := newHTTPServer(cfg, keys, fns, d, admin, log)
	if err != nil {
		return err
	}
	local, err := newLocalEndpoint(cfg, opts.LocalRPCAddr, d, log)
	if err != nil {
		return err
	}
	// The real handler serves from here on: "Host started" means requests
	// reach the functions.
	boot.use(srv)
	logStartup(log, cfg, srv, keys, port, d, local)
	logFunctions(log, fns, broken)
	trig.start(ctx)
	startMemoryRelief(ctx, log)
	return serve(ctx, opts, log, ln, boot, local, trig, d)
}

// startDurableWaiting starts telemetry and the durable side, retrying
// while storage is unavailable for up to wait (start-up reports its state
// through starting meanwhile). On error nothing is left running.
func startDurableWaiting(ctx context.Context, settings durable.Settings, wait time.Duration, starting *startupState,
	fns []*functions.Function, keys *httpserver.Keys, hostID, hostname string) (*durableSide, *telemetry.Telemetry, error) {
	tel, err := newTelemetry(ctx, settings)
	if err != nil {
		return nil, nil, err
	}
	var d *durableSide
	err = retryUnavailable(ctx, settings.Logger, wait, starting, func(ctx context.Context) (err error) {
		d, err = startDurable(ctx, settings, fns, keys, hostID, hostname, tel)
		return err
	})
	if err != nil {
		_ = tel.Shutdown(context.Background())
		return nil, nil, err
	}
	return d, tel, nil
}

// withDefaults fills in the environment, the shutdown timeout and an
// absolute script root.
func (opts Options) withDefaults() (Options, error) {
	if opts.Env == nil {
		opts.Env = config.OSEnv{}
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	root := opts.ScriptRoot
	var err error
	if root == "" {
		if root, err = os.Getwd(); err != nil {
			return opts, err
		}
	}
	if opts.ScriptRoot, err = filepath.Abs(root); err != nil {
		return opts, err
	}
	return opts, nil
}

// websiteHostname is the host[:port] management URLs are built from:
// WEBSITE_HOSTNAME as in Functions, else localhost:<port> as Core Tools
// sets it.
func websiteHostname(env config.Env, port int) string {
	if v, ok := env.LookupEnv("WEBSITE_HOSTNAME"); ok && v != "" {
		return v
	}
	return "localhost:" + strconv.Itoa(port)
}
