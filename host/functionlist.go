package host

import (
	"log/slog"
	"strings"

	"github.com/funchost/funchost/host/cli"
	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/functions"
	"github.com/funchost/funchost/host/storagebindings"
)

// listFunctions loads app's functions from scriptRoot the way Run does —
// configuration, binding to handlers, trigger set-up — without starting
// anything, for the CLI's `functions list`.
func listFunctions(app *App, scriptRoot string) ([]cli.Function, error) {
	opts, err := Options{ScriptRoot: scriptRoot}.withDefaults()
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.DiscardHandler)
	cfg, err := config.Load(opts.ScriptRoot, opts.Env, log)
	if err != nil {
		return nil, err
	}
	fns, broken, err := bindFunctions(app, cfg.ScriptRoot, opts.Env, false, log)
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, env: opts.Env, log: log, accounts: storagebindings.NewAccounts(opts.Env.LookupEnv)}
	_, unloaded := newTriggerSide(r, fns, "functions-list")
	fns, broken = withoutUnloaded(fns, unloaded), append(broken, unloaded...)
	prefix := strings.Trim(cfg.Host.HTTP.RoutePrefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	var out []cli.Function
	for _, f := range fns {
		out = append(out, describeFunction(f.Def, prefix))
	}
	for _, b := range broken {
		out = append(out, cli.Function{Name: b.Name, Trigger: b.Trigger, Errors: b.Messages()})
	}
	return out, nil
}

func describeFunction(d *functions.Definition, routePrefix string) cli.Function {
	f := cli.Function{Name: d.Name, Disabled: d.Disabled}
	if d.Trigger != nil {
		f.Trigger = d.Trigger.Type
	}
	switch d.Kind {
	case functions.KindHTTP:
		f.Route, f.Methods, f.AuthLevel = "/"+routePrefix+d.Route(), d.Methods(), d.AuthLevel()
	case functions.KindTimer:
		f.Detail = d.Trigger.Schedule
	case functions.KindQueue:
		f.Detail = d.Trigger.QueueName
	case functions.KindOrchestrator, functions.KindActivity:
		f.Detail = d.TaskName()
	}
	return f
}
