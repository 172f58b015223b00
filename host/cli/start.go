package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/spf13/cobra"
)

// startFlagNames are the flags the binary took before it had commands;
// Go's flag package accepted them with one dash as well as two.
var startFlagNames = []string{"script-root", "port", "log-format", "strict-functions", "help"}

// normalizeArgs rewrites the one-dash spelling of the start flags
// (-port 7072) to the two-dash one the command framework reads, so that
// command lines written for the flag-package binary keep working.
func normalizeArgs(_ *cobra.Command, args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if a == "--" {
			copy(out[i:], args[i:])
			break
		}
		if !strings.HasPrefix(a, "-") || strings.HasPrefix(a, "--") {
			continue
		}
		name, _, _ := strings.Cut(a[1:], "=")
		for _, n := range startFlagNames {
			if name == n {
				out[i] = "-" + a
			}
		}
	}
	return out
}

// addStartFlags declares start's flags on cmd (the root command and the
// start command both take them).
func addStartFlags(cmd *cobra.Command) *StartOptions {
	o := &StartOptions{}
	f := cmd.Flags()
	f.StringVar(&o.ScriptRoot, "script-root", "", "the function app folder (default: the working directory)")
	f.IntVar(&o.Port, "port", 0, "HTTP port (default: local.settings.json Host.LocalHttpPort, else 7071)")
	f.StringVar(&o.LogFormat, "log-format", "", "log format: text or json (default text, or $FUNCHOST_LOG_FORMAT)")
	f.BoolVar(&o.StrictFunctions, "strict-functions", false,
		"stop at start-up when a function is in error (default: report it and run the others; or $FUNCHOST_STRICT_FUNCTIONS)")
	return o
}

func newStartCommand(cfg *Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Serve the function app (the default command)",
		Long: `Serve the function app: its HTTP functions, triggers, the durable engine and the
management API, until SIGINT or SIGTERM; then drain in-flight work and exit 0.
A start-up problem (bad host.json, unreachable storage, a port in use) exits 1.`,
		Example: "  " + cfg.Name + " start --script-root . --port 7071\n  " + cfg.Name + " --log-format json",
		Args:    noArgs,
	}
	so := addStartFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return runStart(cmd, cfg, so) }
	return cmd
}

func runStart(cmd *cobra.Command, cfg *Config, so *StartOptions) error {
	if cfg.Start == nil {
		return errors.New("this binary cannot serve: no app was given to the CLI")
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return cfg.Start(ctx, *so)
}
