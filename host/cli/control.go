package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"
)

// actionResult is the JSON document of a command that acts on one
// instance: its ID (the new one for start-new and restart) and the action.
type actionResult struct {
	ID     string `json:"id"`
	Action string `json:"action"`
}

func newStartNewCommand(env *Env) *cobra.Command {
	var name, input, id, version string
	n := env.cfg.Name
	cmd := &cobra.Command{
		Use:   "start-new",
		Short: "Start an orchestration",
		Long: `Start an orchestrator function with an input. On storage the name is checked against the
app's orchestrator functions; through --url the host checks it. With --id, starting an ID whose
instance has not finished fails (pick another ID or terminate it).`,
		Example: "  " + n + " durable start-new --function-name HelloSequence\n" +
			"  " + n + ` durable start-new --function-name Echo --input '{"to":"Tokyo"}' --id order-42` + "\n" +
			"  " + n + " durable start-new --function-name Echo --input @input.json -o json | jq -r .id",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(name) == "" {
				return usageErrorf("--function-name is required: the orchestrator to start (functions list shows them)")
			}
			in, err := parseJSONArg("input", input)
			if err != nil {
				return err
			}
			if env.conn.url == "" {
				if err := checkOrchestrator(env.cfg, env.conn.scriptRoot, name); err != nil {
					return err
				}
			}
			return env.withHub(cmd, func(ctx context.Context, h Hub, p *printer) error {
				newID, err := h.StartNew(ctx, name, in, id, version)
				if err != nil {
					return hubError(h, "starting "+name, id, err)
				}
				return printAction(p, actionResult{ID: newID, Action: "started"}, "Started %s as instance %s", name, newID)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "function-name", "", "the orchestrator function to start (required)")
	f.StringVar(&input, "input", "", "the input: JSON text, or @file")
	f.StringVar(&id, "id", "", "the instance ID (default: a new one)")
	f.StringVar(&version, "version", "", "the orchestration version to record")
	return cmd
}

// checkOrchestrator refuses a name the app has no orchestrator for, when
// the app's functions can be listed: on storage nothing else would check
// it, and the instance would only fail once a host picks it up.
func checkOrchestrator(cfg *Config, root, name string) error {
	if cfg.Functions == nil {
		return nil
	}
	fns, err := cfg.Functions(root)
	if err != nil || len(fns) == 0 {
		return nil
	}
	var names []string
	for _, f := range fns {
		if f.Trigger == "orchestrationTrigger" && len(f.Errors) == 0 {
			if f.Detail == name || f.Name == name {
				return nil
			}
			names = append(names, f.Name)
		}
	}
	return usageErrorf("the app has no orchestrator function %q; its orchestrators: %s", name, strings.Join(names, ", "))
}

func printAction(p *printer, r actionResult, format string, a ...any) error {
	if p.json() {
		return p.writeJSON(r)
	}
	p.message(format, a...)
	return nil
}

func newRaiseEventCommand(env *Env) *cobra.Command {
	var id, event, data string
	n := env.cfg.Name
	cmd := &cobra.Command{
		Use:   "raise-event",
		Short: "Send an external event to a running instance",
		Example: "  " + n + " durable raise-event --id abc123 --event-name Approval --event-data true\n" +
			"  " + n + " durable raise-event --id abc123 --event-name Order --event-data @order.json",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireID(id); err != nil {
				return err
			}
			if strings.TrimSpace(event) == "" {
				return usageErrorf("--event-name is required: the name the orchestrator waits for")
			}
			d, err := parseJSONArg("event-data", data)
			if err != nil {
				return err
			}
			return env.withHub(cmd, func(ctx context.Context, h Hub, p *printer) error {
				if err := h.RaiseEvent(ctx, id, event, d); err != nil {
					return hubError(h, "raising event "+event, id, err)
				}
				return printAction(p, actionResult{ID: id, Action: "raised " + event}, "Raised event %s on instance %s", event, id)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&id, "id", "", "the instance ID (required)")
	f.StringVar(&event, "event-name", "", "the event's name (required)")
	f.StringVar(&data, "event-data", "", "the event's data: JSON text, or @file (default null)")
	return cmd
}

// controlHelp says what each control operation does.
var controlHelp = map[Operation][2]string{
	OpTerminate: {"Terminate a running instance", "terminated"},
	OpSuspend:   {"Suspend a running instance (events are held until resume)", "suspended"},
	OpResume:    {"Resume a suspended instance", "resumed"},
	OpRewind:    {"Rewind a failed instance: re-run its failed work", "rewound"},
}

func newControlCommand(env *Env, op Operation) *cobra.Command {
	var id, reason string
	help := controlHelp[op]
	cmd := &cobra.Command{
		Use:     string(op),
		Short:   help[0],
		Long:    help[0] + ". The instance acts on it when a host next runs it. Exit code 3 when there is no such instance.",
		Example: "  " + env.cfg.Name + " durable " + string(op) + " --id abc123 --reason 'by the operator'",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireID(id); err != nil {
				return err
			}
			return env.withHub(cmd, func(ctx context.Context, h Hub, p *printer) error {
				if err := h.Control(ctx, op, id, reason); err != nil {
					return hubError(h, string(op), id, err)
				}
				return printAction(p, actionResult{ID: id, Action: help[1]}, "Instance %s: %s requested", id, op)
			})
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "the instance ID (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "the reason, recorded in the instance's history")
	return cmd
}

func newRestartCommand(env *Env) *cobra.Command {
	var id string
	var newID bool
	cmd := &cobra.Command{
		Use:   "restart",
		Short: "Start an instance's orchestrator again with its original input",
		Long: `Start the instance's orchestrator again with its original input: under a new instance ID
(the default), or with --new-instance-id=false under the same one (it must have finished).`,
		Example: "  " + env.cfg.Name + " durable restart --id abc123\n  " + env.cfg.Name + " durable restart --id abc123 --new-instance-id=false",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireID(id); err != nil {
				return err
			}
			return env.withHub(cmd, func(ctx context.Context, h Hub, p *printer) error {
				got, err := h.Restart(ctx, id, newID)
				if err != nil {
					return hubError(h, "restarting", id, err)
				}
				return printAction(p, actionResult{ID: got, Action: "restarted"}, "Restarted instance %s as %s", id, got)
			})
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "the instance ID (required)")
	cmd.Flags().BoolVar(&newID, "new-instance-id", true, "run under a new instance ID")
	return cmd
}
