package cli

import (
	"context"
	"io"
	"sync"

	"github.com/spf13/cobra"

	"github.com/funchost/funchost/host/durable"
	sp "github.com/funchost/funchost/storageprovider"
)

// Env is what a durable command works with: the connection flags every
// durable command shares (--script-root, --connection-string,
// --task-hub-name, --url, --key, --output) and the CLI's output. It is
// given to the functions of AddDurableCommand; read it in RunE, after the
// flags are parsed.
type Env struct {
	cfg    *Config
	conn   connection
	format string
}

// Hub opens the task hub the flags name: on storage, or through the host
// at --url. Close it when done.
func (e *Env) Hub(ctx context.Context) (Hub, error) { return e.conn.open(ctx, e.cfg) }

// TaskHub opens the app's task hub on storage (not through --url), for
// commands that read what the management API does not serve, such as raw
// history events. It is not started; Stop it when done.
func (e *Env) TaskHub(ctx context.Context) (sp.TaskHub, durable.Settings, error) {
	if e.conn.url != "" {
		return nil, durable.Settings{}, usageErrorf("this command works on storage only; drop --url (and pass --connection-string if needed)")
	}
	h, err := openStorageHub(ctx, &e.conn)
	if err != nil {
		return nil, durable.Settings{}, err
	}
	return h.hub, h.settings, nil
}

// Stdout is where results go; Stderr where progress and notes go.
func (e *Env) Stdout() io.Writer { return e.cfg.Stdout }

// Stderr is where progress and notes go.
func (e *Env) Stderr() io.Writer { return e.cfg.Stderr }

// JSON reports whether --output json was asked for.
func (e *Env) JSON() bool { return e.format == formatJSON }

// WriteJSON writes v as the command's one JSON document.
func (e *Env) WriteJSON(v any) error {
	p, err := e.printer()
	if err != nil {
		return err
	}
	return p.writeJSON(v)
}

// WriteTable writes an aligned table (bold header on a terminal).
func (e *Env) WriteTable(header []string, rows [][]string) error {
	p, err := e.printer()
	if err != nil {
		return err
	}
	return p.writeTable(&table{header: header, rows: rows})
}

// UsageError returns an error that exits with code 2 (a mistake in the
// command line); NotFound one that exits with 3.
func UsageError(err error) error { return &exitError{code: ExitUsage, err: err} }

// NotFound marks err as "what the command names does not exist" (exit 3).
func NotFound(err error) error { return notFound(err) }

func (e *Env) printer() (*printer, error) { return newPrinter(e.cfg, e.format) }

var (
	extMu      sync.Mutex
	extensions []func(*Env) *cobra.Command
)

// AddDurableCommand adds a subcommand to `durable`: f builds it given the
// shared Env. Call it from an init function of a package the app binary
// imports (package host imports the packages that add commands);
// docs/cli.md shows an example.
func AddDurableCommand(f func(*Env) *cobra.Command) {
	extMu.Lock()
	defer extMu.Unlock()
	extensions = append(extensions, f)
}

func newDurableCommand(cfg *Config) *cobra.Command {
	g := group("durable", "Operate the app's Durable Functions task hub (as func durable does)")
	g.Long = `Inspect and steer orchestration instances of the app's task hub.

Two ways to reach it:
  on storage (the default): with the app's own configuration — host.json's hubName and
    storage provider, the connection from local.settings.json or the environment;
    --connection-string and --task-hub-name override them;
  through a running host: --url with the host's base URL and --key with its
    durabletask_extension system key or master key (or $FUNCHOST_KEY); no storage keys needed.`
	g.Example = "  " + cfg.Name + " durable get-instances --runtime-status Running,Pending --top 20\n" +
		"  " + cfg.Name + " durable get-runtime-status --id abc --url https://myapp.example.com --key $KEY"
	env := &Env{cfg: cfg}
	env.conn.addFlags(g)
	g.PersistentFlags().StringVarP(&env.format, "output", "o", formatTable, "output format: table (for people) or json (one JSON document, the HTTP API's field names)")
	g.AddCommand(newGetInstancesCommand(env), newGetRuntimeStatusCommand(env), newGetHistoryCommand(env),
		newStartNewCommand(env), newRaiseEventCommand(env), newRestartCommand(env),
		newPurgeHistoryCommand(env), newDeleteTaskHubCommand(env))
	for _, op := range []Operation{OpTerminate, OpSuspend, OpResume, OpRewind} {
		g.AddCommand(newControlCommand(env, op))
	}
	extMu.Lock()
	defer extMu.Unlock()
	for _, f := range extensions {
		g.AddCommand(f(env))
	}
	return g
}

// withHub runs f on the hub the flags name and the command's printer,
// closing the hub afterwards.
func (e *Env) withHub(cmd *cobra.Command, f func(ctx context.Context, h Hub, p *printer) error) error {
	p, err := e.printer()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	h, err := e.Hub(ctx)
	if err != nil {
		return err
	}
	defer h.Close(context.WithoutCancel(ctx))
	return f(ctx, h, p)
}
