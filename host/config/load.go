package config

import (
	"log/slog"
)

// Config is an app's whole configuration.
type Config struct {
	// ScriptRoot is the app folder.
	ScriptRoot string
	Host       *Host
	Local      *LocalSettings
}

// Load reads local.settings.json, exports its Values into env (existing
// non-empty variables win), then reads host.json with env's
// AzureFunctionsJobHost__… overrides applied. Values are exported first so
// that overrides and %Setting% references may come from either place.
func Load(scriptRoot string, env Env, log *slog.Logger) (*Config, error) {
	local, err := LoadLocalSettings(scriptRoot)
	if err != nil {
		return nil, err
	}
	skipped, err := local.Export(env)
	if err != nil {
		return nil, err
	}
	if log != nil {
		for _, k := range skipped {
			log.Info("local.settings.json value skipped: already set in the environment", "setting", k)
		}
	}
	h, err := LoadHost(scriptRoot, env, log)
	if err != nil {
		return nil, err
	}
	return &Config{ScriptRoot: scriptRoot, Host: h, Local: local}, nil
}
