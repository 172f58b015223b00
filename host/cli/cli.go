package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes a script can test.
const (
	ExitOK       = 0 // the command did what it was asked
	ExitError    = 1 // it failed: storage unreachable, the host answered 500, …
	ExitUsage    = 2 // bad flags, arguments or a refused confirmation prompt
	ExitNotFound = 3 // the instance (or task hub) it names does not exist
)

// Config is what the app binary gives the CLI: the commands that need the
// app's Go handlers (serving it, listing its functions) are run through
// these functions, since package host imports this one and not the other
// way round.
type Config struct {
	// Name is the command's name in help texts (default: the binary's).
	Name string
	// Start serves the app until ctx is cancelled (SIGINT or SIGTERM):
	// host.Run with the start command's flags.
	Start func(ctx context.Context, o StartOptions) error
	// Functions lists the app's functions as loaded from scriptRoot:
	// those that load and those in error.
	Functions func(scriptRoot string) ([]Function, error)
	// Handlers returns the app's Go handlers by function name, for the
	// commands that run its code offline (durable replay-check).
	Handlers func() (map[string]any, error)
	// Stdin, Stdout and Stderr default to the process's.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment (default os.Getenv); tests and the
	// colour switch (NO_COLOR) use it.
	Getenv func(string) string
}

// StartOptions are the start command's flags, as host.Options takes them.
type StartOptions struct {
	ScriptRoot      string
	Port            int
	LogFormat       string
	StrictFunctions bool
}

// Function is one function of the app as `functions list` shows it.
type Function struct {
	Name string `json:"name"`
	// Trigger is the trigger binding's type (httpTrigger, orchestrationTrigger, …).
	Trigger string `json:"trigger"`
	// Route, Methods and AuthLevel are set for HTTP functions; Route is
	// the full path below the host (route prefix included).
	Route     string   `json:"route,omitempty"`
	Methods   []string `json:"methods,omitempty"`
	AuthLevel string   `json:"authLevel,omitempty"`
	// Detail is the trigger's own setting: a timer's schedule, a queue's
	// name, the registered name of an orchestrator or activity.
	Detail   string `json:"detail,omitempty"`
	Disabled bool   `json:"disabled,omitempty"`
	// Errors is set for a function in error: why it was not loaded.
	Errors []string `json:"errors,omitempty"`
}

// Run runs the command line args (without the program name) and returns
// the process's exit code. With no command, or with only the start flags,
// it runs start, so `app --port 7072` serves as it always did.
func Run(ctx context.Context, cfg Config, args []string) int {
	cfg = cfg.withDefaults()
	root := newRoot(&cfg)
	root.SetArgs(normalizeArgs(root, args))
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(cfg.Stderr, "funchost: %v\n", err)
	return exitCode(err)
}

func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = baseName(os.Args[0])
	}
	if c.Stdin == nil {
		c.Stdin = os.Stdin
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	return c
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		p = p[i+1:]
	}
	return strings.TrimSuffix(p, ".exe")
}

// exitError carries an exit code other than ExitError.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is a mistake in the command line: exit code 2.
func usageErrorf(format string, a ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, a...)}
}

// notFound marks err as "what you named does not exist": exit code 3.
func notFound(err error) error { return &exitError{code: ExitNotFound, err: err} }

func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return ExitError
}

// newRoot builds the command tree. The root command is start's: its flags
// are start's, and running it without a command serves the app.
func newRoot(cfg *Config) *cobra.Command {
	root := &cobra.Command{
		Use:   cfg.Name + " [command]",
		Short: "Serve this function app, or operate its functions and task hub",
		Long: `With no command (or "start") the binary serves the function app, as "func start" does.
The other commands inspect the app's functions and operate its Durable Functions task hub,
as "func durable …" does: directly on storage with the app's own configuration, or through
a running host's management API (--url).`,
		Example: `  ` + cfg.Name + ` --script-root . --port 7071
  ` + cfg.Name + ` functions list
  ` + cfg.Name + ` durable get-instances --runtime-status Running
  ` + cfg.Name + ` durable get-runtime-status --id abc123 --url http://localhost:7071 --key $KEY`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		Args:              noArgs,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	so := addStartFlags(root)
	root.RunE = func(cmd *cobra.Command, _ []string) error { return runStart(cmd, cfg, so) }
	root.SetIn(cfg.Stdin)
	root.SetOut(cfg.Stdout)
	root.SetErr(cfg.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErrorf("%v (see --help)", err) })
	root.AddCommand(newStartCommand(cfg), newFunctionsCommand(cfg), newDurableCommand(cfg))
	return root
}

// noArgs refuses positional arguments as a usage error, naming the
// command's subcommands when it has any.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return usageErrorf("unknown command %q for %q (see %s --help)", args[0], cmd.CommandPath(), cmd.CommandPath())
	}
	return usageErrorf("%q takes no arguments, got %q (options are given as --name value)", cmd.CommandPath(), args)
}

// group returns a command that only holds subcommands: run alone it
// prints its help; with an unknown subcommand it is a usage error.
func group(use, short string) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
}
