package host

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/dfwire"
	"github.com/funchost/funchost/host/httpserver"
	"github.com/funchost/funchost/host/telemetry"
)

// newLogger builds the host's logger: opts.Logger, or a text or JSON
// handler on opts.LogOutput. Either way it goes through a level filter
// that applyLevels later sets from host.json's logging.logLevel.
func newLogger(opts Options) (*slog.Logger, *logLevels, error) {
	if opts.Logger != nil {
		f := telemetry.NewLevelFilter(opts.Logger.Handler(), nil)
		return slog.New(f), &logLevels{f: f, own: false}, nil
	}
	out := opts.LogOutput
	if out == nil {
		out = os.Stderr
	}
	format := opts.LogFormat
	if format == "" {
		format, _ = opts.Env.LookupEnv(SettingLogFormat)
	}
	// The handler lets everything through; the filter decides.
	ho := &slog.HandlerOptions{Level: config.LevelTrace}
	var h slog.Handler
	switch strings.ToLower(format) {
	case "", "text":
		h = slog.NewTextHandler(out, ho)
	case "json":
		h = slog.NewJSONHandler(out, ho)
	default:
		return nil, nil, fmt.Errorf("unknown log format %q (want text or json)", format)
	}
	f := telemetry.NewLevelFilter(h, telemetry.NewLevels(nil, slog.LevelInfo))
	return slog.New(f), &logLevels{f: f, own: true}, nil
}

// logLevels is the host logger's level filter.
type logLevels struct {
	f   *telemetry.LevelFilter
	own bool // the host made the handler (else Options.Logger's)
}

// apply sets the levels of host.json's logging.logLevel; categories it
// does not name log from Information up, as in Functions. A logger passed
// in Options.Logger is not filtered unless host.json sets levels.
func (l *logLevels) apply(lg config.Logging) {
	if len(lg.LogLevel) == 0 && !l.own {
		return
	}
	l.f.SetLevels(telemetry.NewLevels(lg.LogLevel, slog.LevelInfo))
}

// logStartup prints what Core Tools prints: the function list with URLs,
// plus the facts an operator needs (task hub, provider, auth mode).
func logStartup(log *slog.Logger, cfg *config.Config, srv *httpserver.Server, keys httpserver.Keys, port int, d *durableSide, local *localEndpoint) {
	log.Info("Host started", "scriptRoot", cfg.ScriptRoot, "port", port, "routePrefix", cfg.Host.HTTP.RoutePrefix)
	if d.rt != nil {
		log.Info("Durable task hub", "hub", d.rt.Hub.Name(), "storageProvider", cfg.Host.Durable.StorageProvider.Type,
			"orchestrators", len(d.reg.Orchestrators), "activities", len(d.reg.Activities))
	}
	if keys.Open() {
		log.Warn("No keys are configured (" + httpserver.SettingMasterKey + ", " + httpserver.SettingHostKey + ", " +
			httpserver.SettingFunctionKeyPrefix + "<Function>, " + httpserver.SettingDurableTaskSystemKey +
			"): the host is open for local development — authLevel is not enforced and every HTTP function, the admin API, the management API and the dashboard answer anyone who can reach the port")
	}
	for _, r := range srv.Routes() {
		methods := "ALL"
		if len(r.Methods) > 0 {
			methods = strings.Join(r.Methods, ",")
		}
		log.Info(fmt.Sprintf("%s: [%s] http://localhost:%d%s", r.Function, methods, port, r.Template))
	}
	if d.rt != nil {
		log.Info(fmt.Sprintf("Durable management API: http://localhost:%d%s", port, dfwire.WebhookPath))
		keyNote := ""
		if !keys.Open() {
			keyNote = "?code=<system or master key>"
		}
		log.Info(fmt.Sprintf("Durable dashboard: http://localhost:%d%s%s/%s", port, dfwire.WebhookPath, dashboardPath, keyNote))
	}
	if local != nil {
		log.Info(fmt.Sprintf("Local management endpoint (loopback, no keys): http://%s%s/", local.ln.Addr(), dfwire.LocalRPCPath))
		log.Info(fmt.Sprintf("Local dashboard (loopback, no keys): http://%s%s%s/", local.ln.Addr(), dfwire.LocalRPCPath, dashboardPath))
	}
}
