package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/funchost/funchost/host/dfwire"
)

// instanceList is get-instances' JSON document: the HTTP API's status
// objects and the token of the next page ("" on the last).
type instanceList struct {
	Instances         []json.RawMessage `json:"instances"`
	ContinuationToken string            `json:"continuationToken"`
}

type getInstances struct {
	env       *Env
	filter    filter
	top       int
	token     string
	all       bool
	showInput bool
	watch     bool
	interval  time.Duration
}

func newGetInstancesCommand(env *Env) *cobra.Command {
	g := &getInstances{env: env}
	n := env.cfg.Name
	cmd := &cobra.Command{
		Use:   "get-instances",
		Short: "List orchestration instances, filtered and paged",
		Long: `List orchestration instances, newest first per page as the task hub returns them: one page of
--top instances, or every page with --all. When more remain, the table ends with the
--continuation-token to pass for the next page (JSON: "continuationToken").
--watch redraws the list every --interval until Ctrl-C.`,
		Example: "  " + n + " durable get-instances --runtime-status Running,Pending\n" +
			"  " + n + " durable get-instances --created-after 24h --id-prefix order- --all -o json | jq '.instances | length'\n" +
			"  " + n + " durable get-instances --watch --interval 5s",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return env.withHub(cmd, g.run) },
	}
	g.filter.addFlags(cmd, "only instances in these statuses (comma-separated: Running,Pending)")
	f := cmd.Flags()
	f.IntVar(&g.top, "top", 100, "instances per page")
	f.StringVar(&g.token, "continuation-token", "", "the token a previous page ended with")
	f.BoolVar(&g.all, "all", false, "page through every matching instance")
	f.BoolVar(&g.showInput, "show-input", false, "include each instance's input")
	f.BoolVar(&g.watch, "watch", false, "redraw the list every --interval until Ctrl-C")
	f.DurationVar(&g.interval, "interval", 2*time.Second, "with --watch: how often to refresh")
	return cmd
}

func (g *getInstances) run(ctx context.Context, h Hub, p *printer) error {
	q, err := g.filter.query(time.Now())
	if err != nil {
		return err
	}
	if g.top <= 0 {
		return usageErrorf("--top %d: give a positive number", g.top)
	}
	q.Top, q.ContinuationToken, q.ShowInput = g.top, g.token, g.showInput
	if !g.watch {
		page, err := fetchInstances(ctx, h, q, g.all)
		if err != nil {
			return err
		}
		return g.print(p, page)
	}
	if g.interval <= 0 {
		return usageErrorf("--interval %s: give a positive duration", g.interval)
	}
	for {
		page, err := fetchInstances(ctx, h, q, g.all)
		if ctx.Err() != nil {
			return nil // Ctrl-C ends a watch normally
		}
		if err != nil {
			return err
		}
		if p.tty && !p.json() {
			fmt.Fprint(p.w, "\x1b[H\x1b[2J")
		}
		if err := g.print(p, page); err != nil {
			return err
		}
		p.message("%s", p.paint(ansiGrey, fmt.Sprintf("%s · every %s · %s · Ctrl-C to stop", h.Describe(), g.interval, time.Now().Format("15:04:05"))))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(g.interval):
		}
	}
}

// fetchInstances returns one page, or with all every page in one.
func fetchInstances(ctx context.Context, h Hub, q Query, all bool) (*Page, error) {
	out := &Page{}
	for {
		page, err := h.List(ctx, q)
		if err != nil {
			return nil, hubError(h, "listing instances", "", err)
		}
		out.Instances = append(out.Instances, page.Instances...)
		out.ContinuationToken = page.ContinuationToken
		if !all || page.ContinuationToken == "" {
			return out, nil
		}
		q.ContinuationToken = page.ContinuationToken
	}
}

func (g *getInstances) print(p *printer, page *Page) error {
	if p.json() {
		doc := instanceList{Instances: make([]json.RawMessage, len(page.Instances)), ContinuationToken: page.ContinuationToken}
		for i, s := range page.Instances {
			doc.Instances[i], _ = s.MarshalJSON()
		}
		return p.writeJSON(doc)
	}
	t := &table{header: []string{"INSTANCE ID", "NAME", "STATUS", "CREATED", "LAST UPDATED"},
		colors: map[int]func(string) string{2: statusColor}}
	if g.showInput {
		t.header = append(t.header, "INPUT")
	}
	for _, s := range page.Instances {
		row := []string{s.InstanceID, s.Name, s.RuntimeStatus, dfwire.FormatStatusTime(s.CreatedTime), dfwire.FormatStatusTime(s.LastUpdatedTime)}
		if g.showInput {
			row = append(row, shorten(jsonText(s.Input), 50))
		}
		t.rows = append(t.rows, row)
	}
	if err := p.writeTable(t); err != nil {
		return err
	}
	p.message("%d instance(s)", len(page.Instances))
	if page.ContinuationToken != "" {
		p.message("more: --continuation-token %s (or --all)", page.ContinuationToken)
	}
	return nil
}

// jsonText is a payload as one line for a table ("" for none).
func jsonText(v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	return string(v)
}

func newGetRuntimeStatusCommand(env *Env) *cobra.Command {
	var id string
	var showInput, showOutput bool
	n := env.cfg.Name
	cmd := &cobra.Command{
		Use:   "get-runtime-status",
		Short: "Show one instance's status",
		Long: `Show one instance's status: name, runtime status, times, custom status, and with the flags its
input and output. JSON: the HTTP API's status object (input and output null unless asked for).
Exit code 3 when there is no such instance.`,
		Example: "  " + n + " durable get-runtime-status --id abc123 --show-output\n" +
			"  " + n + " durable get-runtime-status --id abc123 -o json | jq -r .runtimeStatus",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireID(id); err != nil {
				return err
			}
			return env.withHub(cmd, func(ctx context.Context, h Hub, p *printer) error {
				st, err := h.Status(ctx, id, StatusOptions{ShowInput: showInput})
				if err != nil {
					return hubError(h, "reading the status", id, err)
				}
				if !showOutput {
					st.Output = nil
				}
				if p.json() {
					b, _ := st.MarshalJSON()
					return p.writeJSON(b)
				}
				return p.writeFields(statusFields(st, showInput, showOutput))
			})
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "the instance ID (required)")
	cmd.Flags().BoolVar(&showInput, "show-input", false, "include the instance's input")
	cmd.Flags().BoolVar(&showOutput, "show-output", false, "include the instance's output")
	return cmd
}

func statusFields(st *dfwire.Status, input, output bool) [][2]string {
	f := [][2]string{{"Instance ID", st.InstanceID}, {"Name", st.Name}, {"Status", st.RuntimeStatus},
		{"Created", dfwire.FormatStatusTime(st.CreatedTime)}, {"Last updated", dfwire.FormatStatusTime(st.LastUpdatedTime)}}
	if c := jsonText(st.CustomStatus); c != "" {
		f = append(f, [2]string{"Custom status", c})
	}
	if input {
		f = append(f, [2]string{"Input", jsonText(st.Input)})
	}
	if output {
		f = append(f, [2]string{"Output", jsonText(st.Output)})
	}
	return f
}

func newGetHistoryCommand(env *Env) *cobra.Command {
	var id string
	n := env.cfg.Name
	cmd := &cobra.Command{
		Use:   "get-history",
		Short: "Show one instance's history events",
		Long: `Show one instance's history as the HTTP API's showHistory=true does (scheduling events merged
into their completions), with inputs and results. JSON: the historyEvents array.
Exit code 3 when there is no such instance.`,
		Example: "  " + n + " durable get-history --id abc123\n" +
			"  " + n + " durable get-history --id abc123 -o json | jq -r '.[].EventType'",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireID(id); err != nil {
				return err
			}
			return env.withHub(cmd, func(ctx context.Context, h Hub, p *printer) error {
				st, err := h.Status(ctx, id, StatusOptions{ShowInput: true, History: true})
				if err != nil {
					return hubError(h, "reading the history", id, err)
				}
				return printHistory(p, st.HistoryEvents)
			})
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "the instance ID (required)")
	return cmd
}

func printHistory(p *printer, raw []json.RawMessage) error {
	if p.json() {
		if raw == nil {
			raw = []json.RawMessage{}
		}
		return p.writeJSON(raw)
	}
	t := &table{header: []string{"TIMESTAMP", "EVENT", "NAME", "DETAIL"}}
	for _, r := range raw {
		var e dfwire.HistoryEvent
		if err := json.Unmarshal(r, &e); err != nil {
			return fmt.Errorf("reading a history event: %w", err)
		}
		name := e.Name
		if name == "" {
			name = e.FunctionName
		}
		t.rows = append(t.rows, []string{e.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z"), e.EventType, name, shorten(historyDetail(&e), 70)})
	}
	return p.writeTable(t)
}

// historyDetail is the one thing worth seeing of an event in a table.
func historyDetail(e *dfwire.HistoryEvent) string {
	switch {
	case e.FailureDetails != nil && e.FailureDetails.ErrorMessage != "":
		return "failed: " + e.FailureDetails.ErrorMessage
	case e.Reason != "":
		return e.Reason
	case len(e.Result) > 0 && string(e.Result) != "null":
		return "result " + string(e.Result)
	case !e.FireAt.IsZero():
		return "fires at " + e.FireAt.UTC().Format(time.RFC3339)
	case e.InputText() != "":
		return "input " + e.InputText()
	case e.OrchestrationStatus != "":
		return e.OrchestrationStatus
	}
	return e.Data
}
