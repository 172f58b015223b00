package host

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/functions"
	"github.com/funchost/funchost/host/triggers/timer"
)

// SettingStrictFunctions makes any function in error (and any handler
// without a function.json) stop the host, for CI and tests; see
// Options.StrictFunctions.
const SettingStrictFunctions = "FUNCHOST_STRICT_FUNCTIONS"

// bindFunctions discovers the app's function.json files and binds each to
// its registered Go handler. As in the Functions host a function that is
// invalid or has no fitting handler is in error: it is logged once and not
// loaded, and every other function starts — unless strict, when any such
// problem is returned as one error. It applies the
// AzureWebJobs.<Name>.Disabled settings.
func bindFunctions(app *App, root string, env config.Env, strict bool, log *slog.Logger) ([]*functions.Function, []*functions.Broken, error) {
	handlers, err := app.snapshot()
	if err != nil {
		return nil, nil, err
	}
	defs, broken, err := functions.Discover(root)
	if err != nil {
		return nil, nil, err
	}
	fns, unbound, orphans := functions.Bind(defs, handlers)
	broken = append(broken, unbound...)
	if strict {
		if err := functions.AsError("function", broken, orphans...); err != nil {
			return nil, nil, fmt.Errorf("%w\n(%s is set: functions in error stop the host)", err, SettingStrictFunctions)
		}
	}
	for _, b := range broken {
		log.Error(b.Error(), "function", b.Name, "category", "Host.Startup")
	}
	for _, o := range orphans {
		log.Warn(o.String())
	}
	for _, f := range fns {
		if isDisabled(env, f.Def.Name) {
			f.Def.Disabled = true
			log.Info(fmt.Sprintf("Function '%s' is disabled", f.Def.Name), "function", f.Def.Name)
		}
		if f.Def.LegacyDisabled {
			log.Warn(fmt.Sprintf("%s: \"disabled\": true is not read by the Functions v4 host and is ignored; set AzureWebJobs.%s.Disabled=true to disable the function",
				f.Def.Path, f.Def.Name), "function", f.Def.Name)
		}
	}
	return fns, broken, nil
}

// isDisabled reads AzureWebJobs.<Name>.Disabled (or, where dots are not
// allowed, AzureWebJobs_<Name>_Disabled): "true" or "1" disables.
func isDisabled(env config.Env, name string) bool {
	for _, key := range []string{"AzureWebJobs." + name + ".Disabled", "AzureWebJobs_" + name + "_Disabled"} {
		if v, _ := env.LookupEnv(key); strings.EqualFold(strings.TrimSpace(v), "true") || strings.TrimSpace(v) == "1" {
			return true
		}
	}
	return false
}

// strictFunctions reports whether functions in error are fatal.
func strictFunctions(opts Options) bool {
	if opts.StrictFunctions {
		return true
	}
	v, _ := opts.Env.LookupEnv(SettingStrictFunctions)
	return strings.EqualFold(strings.TrimSpace(v), "true") || strings.TrimSpace(v) == "1"
}

func functionNames(fns []*functions.Function) []string {
	names := make([]string, len(fns))
	for i, f := range fns {
		names[i] = f.Def.Name
	}
	return names
}

// reportUnloaded logs functions whose trigger could not be set up (or, when
// strict, fails).
func reportUnloaded(unloaded []*functions.Broken, strict bool, log *slog.Logger) error {
	if strict {
		if err := functions.AsError("trigger", unloaded); err != nil {
			return fmt.Errorf("%w\n(%s is set: functions in error stop the host)", err, SettingStrictFunctions)
		}
	}
	for _, b := range unloaded {
		log.Error(b.Error(), "function", b.Name, "category", "Host.Startup")
	}
	return nil
}

// withoutUnloaded drops the functions in error from fns.
func withoutUnloaded(fns []*functions.Function, unloaded []*functions.Broken) []*functions.Function {
	if len(unloaded) == 0 {
		return fns
	}
	bad := map[string]bool{}
	for _, b := range unloaded {
		bad[b.Name] = true
	}
	var out []*functions.Function
	for _, f := range fns {
		if !bad[f.Def.Name] {
			out = append(out, f)
		}
	}
	return out
}

// hostID is the ID timer statuses and locks are kept under.
func hostID(env config.Env, root string, log *slog.Logger) string {
	if v, ok := env.LookupEnv(timer.SettingHostID); ok && v != "" {
		log.Warn("Host id explicitly set by the " + timer.SettingHostID + " setting: hosts sharing it share timers")
	}
	return timer.HostID(env.LookupEnv, root)
}

// logFunctions prints the start-up summary: the loaded functions with
// their triggers (HTTP routes are listed above), and those in error.
func logFunctions(log *slog.Logger, fns []*functions.Function, broken []*functions.Broken) {
	var b strings.Builder
	b.WriteString("Found the following functions:")
	for _, f := range fns {
		fmt.Fprintf(&b, "\n  %s: %s", f.Def.Name, f.Def.Trigger.Type)
		switch {
		case f.Def.Kind == functions.KindTimer:
			fmt.Fprintf(&b, " (schedule %s)", f.Def.Trigger.Schedule)
		case f.Def.Kind == functions.KindQueue:
			fmt.Fprintf(&b, " (queue %s)", f.Def.Trigger.QueueName)
		case f.Def.Kind == functions.KindHTTP:
			fmt.Fprintf(&b, " (route %s)", f.Def.Route())
		}
		if f.Def.Disabled {
			b.WriteString(" [disabled]")
		}
	}
	if len(fns) == 0 {
		b.WriteString(" none")
	}
	log.Info(b.String())
	if len(broken) > 0 {
		var names []string
		for _, x := range broken {
			names = append(names, x.Name)
		}
		log.Error(fmt.Sprintf("%d function(s) in error are not loaded: %s (see GET /admin/functions/{name}/status)", len(broken), strings.Join(names, ", ")))
	}
}
