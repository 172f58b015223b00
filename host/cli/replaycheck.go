package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/funchost/funchost/host/replaycheck"
	sp "github.com/funchost/funchost/storageprovider"
)

// durable replay-check and durable export-history: the replay checker
// (host/replaycheck, docs/versioning.md) on the app's task hub or on
// exported history files.

func init() {
	AddDurableCommand(newReplayCheckCommand)
	AddDurableCommand(newExportHistoryCommand)
}

// historySelection is the flags that choose the instances of both
// commands.
type historySelection struct {
	ids      []string
	statuses []string
}

func (s *historySelection) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVar(&s.ids, "instance-id", nil, "only these instances (repeat the flag or separate with commas)")
	f.StringSliceVar(&s.statuses, "status", nil, "only instances in these statuses (default: Running,Suspended,ContinuedAsNew — every non-terminal instance with a history)")
}

// query builds the replaycheck query of the flags.
func (s *historySelection) query() (replaycheck.Query, error) {
	q := replaycheck.Query{}
	for _, id := range s.ids {
		if id = strings.TrimSpace(id); id != "" {
			q.InstanceIDs = append(q.InstanceIDs, id)
		}
	}
	for _, st := range s.statuses {
		if st = strings.TrimSpace(st); st == "" {
			continue
		}
		name, ok := statusName(st)
		if !ok {
			return q, usageErrorf("--status %q: use Pending, Running, Completed, ContinuedAsNew, Failed, Canceled, Terminated or Suspended", st)
		}
		status, _ := sp.ParseOrchestrationStatus(name)
		q.Statuses = append(q.Statuses, status)
	}
	return q, nil
}

// histories reads the selected histories from the app's task hub, on
// storage or, with --url, through a running host's management API. It
// also returns the app's defaultVersion (host.json's, when it can be read).
func (s *historySelection) histories(ctx context.Context, env *Env) ([]replaycheck.History, string, error) {
	q, err := s.query()
	if err != nil {
		return nil, "", err
	}
	if c := &env.conn; c.url != "" {
		if c.connectionString != "" {
			return nil, "", usageErrorf("--url and --connection-string exclude each other: --url reads the histories through a host, --connection-string on storage")
		}
		key := c.key
		if key == "" {
			key = env.cfg.Getenv("FUNCHOST_KEY")
		}
		api := replaycheck.API{URL: c.url, Key: key, TaskHub: c.taskHubName, Client: &http.Client{Timeout: c.timeout}}
		if !strings.HasPrefix(c.url, "http://") && !strings.HasPrefix(c.url, "https://") {
			return nil, "", usageErrorf("--url %q: give the host's base URL, e.g. http://localhost:7071 or https://myapp.azurewebsites.net", c.url)
		}
		hs, err := replaycheck.FromAPI(ctx, api, q)
		if errors.Is(err, sp.ErrInstanceNotFound) {
			return nil, "", notFound(err)
		}
		version := ""
		if settings, err := loadSettings(c); err == nil {
			version = settings.Host.Durable.Versioning.Default
		}
		return hs, version, err
	}
	hub, settings, err := env.TaskHub(ctx)
	if err != nil {
		return nil, "", err
	}
	defer func() { _ = hub.Stop(context.WithoutCancel(ctx)) }()
	hs, err := replaycheck.FromTaskHub(ctx, hub, q)
	if errors.Is(err, sp.ErrInstanceNotFound) {
		return nil, "", notFound(err)
	}
	return hs, settings.Host.Durable.Versioning.Default, err
}

type replayCheck struct {
	env            *Env
	sel            historySelection
	fromDir        string
	defaultVersion string
	strict, quiet  bool
}

func newReplayCheckCommand(env *Env) *cobra.Command {
	rc := &replayCheck{env: env}
	n := env.cfg.Name
	cmd := &cobra.Command{
		Use:   "replay-check",
		Short: "Replay in-flight instances' histories against this build's orchestrators",
		Long: `Replay the stored history of every non-terminal instance of the app's task hub (or the
instances --instance-id and --status select, or the files --from-dir holds, as export-history
writes them; with --url read through a running host's management API instead of storage)
against the orchestrators of this binary, and report per instance: clean, would
break (where: the sequence number, what history holds, what the code asks for), or warnings
(changes the runtime would not notice: a changed activity or sub-orchestration input, a changed
timer, a new step where the instance waits). Run it with the new build before deploying it.
A funchost host's API gives the exact stored history; another Durable Functions host's
standard historyEvents are rebuilt, and a note says what is then approximate. Nothing is written. Exit code 1 when any instance would break (with --strict also on warnings),
3 when an --instance-id does not exist.`,
		Example: "  " + n + " durable replay-check\n" +
			"  " + n + " durable replay-check --status Running --instance-id order-42\n" +
			"  " + n + " durable replay-check --url https://myapp.azurewebsites.net --key $KEY\n" +
			"  " + n + " durable export-history --to-dir histories/ && " + n + " durable replay-check --from-dir histories/",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return rc.run(cmd) },
	}
	rc.sel.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&rc.fromDir, "from-dir", "", "replay the *.json history files of this folder instead of the task hub")
	f.StringVar(&rc.defaultVersion, "default-version", "", "the new build's defaultVersion, stamped on sub-orchestrations it starts (default: host.json's)")
	f.BoolVar(&rc.strict, "strict", false, "exit 1 on warnings too")
	f.BoolVarP(&rc.quiet, "quiet", "q", false, "no progress bar")
	return cmd
}

func (rc *replayCheck) run(cmd *cobra.Command) error {
	cfg := rc.env.cfg
	if cfg.Handlers == nil {
		return errors.New("this binary cannot replay histories: no app was given to the CLI")
	}
	handlers, err := cfg.Handlers()
	if err != nil {
		return fmt.Errorf("the app's handlers: %w", err)
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	var hs []replaycheck.History
	version := rc.defaultVersion
	if rc.fromDir != "" {
		if len(rc.sel.ids) > 0 || len(rc.sel.statuses) > 0 {
			return usageErrorf("--from-dir replays every file of the folder; drop --instance-id and --status")
		}
		hs, err = replaycheck.ReadDir(rc.fromDir)
	} else {
		var hostVersion string
		hs, hostVersion, err = rc.sel.histories(ctx, rc.env)
		if version == "" {
			version = hostVersion
		}
	}
	if err != nil {
		return err
	}
	bar := rc.progress(len(hs))
	reports := replaycheck.New(handlers, replaycheck.Options{DefaultVersion: version}).CheckAll(hs, func(int, int) { _ = bar.Add(1) })
	_ = bar.Finish()
	if err := rc.print(reports); err != nil {
		return err
	}
	s := replaycheck.Summarize(reports)
	switch {
	case s.Breaks > 0:
		return fmt.Errorf("%d of %d instances would break on this build: version the change or drain them (docs/versioning.md)", s.Breaks, s.Checked)
	case rc.strict && s.Warnings > 0:
		return fmt.Errorf("%d of %d instances have warnings (--strict)", s.Warnings, s.Checked)
	}
	return nil
}

// replayCheckJSON is replay-check's JSON document.
type replayCheckJSON struct {
	Summary   replaycheck.Summary `json:"summary"`
	Instances []replayReportJSON  `json:"instances"`
}

type replayReportJSON struct {
	InstanceID    string                  `json:"instanceId"`
	Name          string                  `json:"name"`
	Version       string                  `json:"version"`
	RuntimeStatus string                  `json:"runtimeStatus,omitempty"`
	Source        string                  `json:"source"`
	Verdict       string                  `json:"verdict"`
	Divergence    *replaycheck.Divergence `json:"divergence,omitempty"`
	Failure       string                  `json:"failure,omitempty"`
	Warnings      []string                `json:"warnings,omitempty"`
	// Approximate says what is approximate in a history rebuilt from a
	// host's standard historyEvents.
	Approximate string `json:"approximate,omitempty"`
}

func (rc *replayCheck) print(reports []replaycheck.Report) error {
	s := replaycheck.Summarize(reports)
	if rc.env.JSON() {
		doc := replayCheckJSON{Summary: s, Instances: []replayReportJSON{}}
		for _, r := range reports {
			j := replayReportJSON{InstanceID: r.InstanceID, Name: r.Name, Version: r.Version, RuntimeStatus: r.RuntimeStatus,
				Source: r.Source, Verdict: r.Verdict(), Divergence: r.Divergence, Failure: r.Failure, Approximate: r.Approximate}
			for _, w := range r.Warnings {
				j.Warnings = append(j.Warnings, w.String())
			}
			doc.Instances = append(doc.Instances, j)
		}
		return rc.env.WriteJSON(doc)
	}
	p, err := rc.env.printer()
	if err != nil {
		return err
	}
	t := &table{header: []string{"INSTANCE", "ORCHESTRATOR", "VERSION", "STATUS", "VERDICT", "WHY"},
		colors: map[int]func(string) string{4: func(v string) string {
			switch v {
			case "breaks":
				return ansiRed
			case "warnings":
				return ansiYellow
			}
			return ansiGreen
		}}}
	for _, r := range reports {
		t.rows = append(t.rows, []string{r.InstanceID, r.Name, r.Version, r.RuntimeStatus, r.Verdict(), shorten(r.Problem(), 120)})
	}
	if len(reports) > 0 {
		if err := p.writeTable(t); err != nil {
			return err
		}
	}
	p.message("\nchecked %d: %d clean, %d with warnings, %d would break", s.Checked, s.Clean, s.Warnings, s.Breaks)
	notes := map[string][]string{}
	var order []string
	for _, r := range reports {
		if r.Approximate != "" {
			if notes[r.Approximate] == nil {
				order = append(order, r.Approximate)
			}
			notes[r.Approximate] = append(notes[r.Approximate], r.InstanceID)
		}
	}
	for _, n := range order {
		p.message("note: not exact for %s: %s", strings.Join(notes[n], ", "), n)
	}
	return nil
}

// progress is a progress bar on stderr (none with --quiet or for JSON).
func (rc *replayCheck) progress(n int) *progressbar.ProgressBar {
	w := rc.env.cfg.Stderr
	if rc.quiet {
		w = io.Discard
	}
	return progressbar.NewOptions(n,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("replaying"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("instances"),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}

type exportHistory struct {
	env   *Env
	sel   historySelection
	toDir string
}

func newExportHistoryCommand(env *Env) *cobra.Command {
	eh := &exportHistory{env: env}
	n := env.cfg.Name
	cmd := &cobra.Command{
		Use:   "export-history",
		Short: "Write in-flight instances' histories to files for replay-check",
		Long: `Write the stored history of every non-terminal instance of the app's task hub (or of the
instances --instance-id and --status select; with --url read through a running host's management
API) into --to-dir, one <instanceId>.json file each, in
the format replay-check --from-dir and replaycheck.AssertDir read (docs/versioning.md). Keep a
few in the app's testdata/ so that go test replays them. Exit code 3 when an --instance-id does
not exist.`,
		Example: "  " + n + " durable export-history --to-dir histories/\n" +
			"  " + n + " durable export-history --instance-id order-42 --to-dir testdata/histories",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return eh.run(cmd) },
	}
	eh.sel.addFlags(cmd)
	cmd.Flags().StringVar(&eh.toDir, "to-dir", "", "the folder to write the files into (created if needed; required)")
	return cmd
}

func (eh *exportHistory) run(cmd *cobra.Command) error {
	if strings.TrimSpace(eh.toDir) == "" {
		return usageErrorf("--to-dir is required: the folder to write the history files into")
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	hs, _, err := eh.sel.histories(ctx, eh.env)
	if err != nil {
		return err
	}
	now := time.Now()
	type written struct {
		InstanceID string `json:"instanceId"`
		Name       string `json:"name"`
		Version    string `json:"version"`
		Events     int    `json:"events"`
		File       string `json:"file"`
	}
	out := []written{}
	for _, h := range hs {
		path, err := replaycheck.WriteFile(eh.toDir, h, now)
		if err != nil {
			return err
		}
		out = append(out, written{h.InstanceID, h.Name, h.Version, len(h.Events), path})
	}
	if eh.env.JSON() {
		return eh.env.WriteJSON(out)
	}
	rows := make([][]string, len(out))
	for i, w := range out {
		rows[i] = []string{w.InstanceID, w.Name, w.Version, fmt.Sprint(w.Events), w.File}
	}
	if len(rows) > 0 {
		if err := eh.env.WriteTable([]string{"INSTANCE", "ORCHESTRATOR", "VERSION", "EVENTS", "FILE"}, rows); err != nil {
			return err
		}
	}
	fmt.Fprintf(eh.env.Stdout(), "\nexported %d histories to %s\n", len(out), eh.toDir)
	for _, h := range hs {
		if h.Approximate != "" {
			fmt.Fprintf(eh.env.Stdout(), "note: not exact for %s: %s\n", h.InstanceID, h.Approximate)
		}
	}
	return nil
}
