package host

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/dfwire"
	"github.com/funchost/funchost/host/httpserver"
)

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
func logStartup(log *slog.Logger, cfg *config.Config, srv *httpserver.Server, keys httpserver.Keys, port int, d *durableSide, local *localEndpoint) {
	log.Info("Host started", "scriptRoot", cfg.ScriptRoot, "port", port, "routePrefix", cfg.Host.HTTP.RoutePrefix)
	if d.rt != nil {
		log.Info("Durable task hub", "hub", d.rt.Hub.Name(), "storageProvider", cfg.Host.Durable.StorageProvider.Type,
			"orchestrators", len(d.reg.Orchestrators), "activities", len(d.reg.Activities))
	}
	if keys.Open() {
		log.Warn("No function keys are configured (" + httpserver.SettingMasterKey + ", " + httpserver.SettingHostKey + ", " +
			httpserver.SettingFunctionKeyPrefix + "<Function>, " + httpserver.SettingDurableTaskSystemKey +
			"): authLevel is not enforced and every HTTP function and the management API are open, as with Core Tools locally")
	}
	if !keys.Open() && d.rt != nil && keys.Master == "" && keys.System[httpserver.DurableTaskSystemKeyName] == "" {
		log.Warn("Function keys are configured but neither " + httpserver.SettingMasterKey + " nor " + httpserver.SettingDurableTaskSystemKey +
			": the Durable management API " + dfwire.WebhookPath + " is open")
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
		if keys.Master != "" || keys.System[httpserver.DurableTaskSystemKeyName] != "" {
			keyNote = "?code=<system or master key>"
		}
		log.Info(fmt.Sprintf("Durable dashboard: http://localhost:%d%s%s/%s", port, dfwire.WebhookPath, dashboardPath, keyNote))
	}
	if local != nil {
		log.Info(fmt.Sprintf("Local management endpoint (loopback, no keys): http://%s%s/", local.ln.Addr(), dfwire.LocalRPCPath))
		log.Info(fmt.Sprintf("Local dashboard (loopback, no keys): http://%s%s%s/", local.ln.Addr(), dfwire.LocalRPCPath, dashboardPath))
	}
}
