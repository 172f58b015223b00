package host

import (
	"log/slog"
	"strings"

	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/functions"
)

// bindFunctions discovers the app's function.json files, binds each to
// its registered Go handler and applies the AzureWebJobs.<Name>.Disabled
// settings. Every problem is reported at once.
func bindFunctions(app *App, root string, env config.Env, log *slog.Logger) ([]*functions.Function, error) {
	handlers, err := app.snapshot()
	if err != nil {
		return nil, err
	}
	defs, err := functions.Discover(root)
	if err != nil {
		return nil, err
	}
	fns, err := functions.Bind(defs, handlers)
	if err != nil {
		return nil, err
	}
	for _, f := range fns {
		// AzureWebJobs.<Name>.Disabled=true disables a function, as in
		// Functions.
		if v, _ := env.LookupEnv("AzureWebJobs." + f.Def.Name + ".Disabled"); strings.EqualFold(v, "true") || v == "1" {
			f.Def.Disabled = true
		}
		if f.Def.Disabled {
			log.Info("Function is disabled", "function", f.Def.Name)
		}
	}
	return fns, nil
}

func functionNames(fns []*functions.Function) []string {
	names := make([]string, len(fns))
	for i, f := range fns {
		names[i] = f.Def.Name
	}
	return names
}
