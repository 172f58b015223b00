package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/dfwire"
)

// terminalStatuses are the statuses purge-history purges by default:
// only finished instances can be purged.
var terminalStatuses = []string{"Completed", "Failed", "Terminated", "Canceled"}

type purgeHistory struct {
	env      *Env
	id       string
	filter   filter
	yes      bool
	quiet    bool
	parallel int
}

func newPurgeHistoryCommand(env *Env) *cobra.Command {
	ph := &purgeHistory{env: env}
	n := env.cfg.Name
	cmd := &cobra.Command{
		Use:   "purge-history",
		Short: "Delete finished instances' history and status",
		Long: `Delete the history and status of one finished instance (--id), or of every finished instance
the filter matches (by default: all Completed, Failed, Terminated and Canceled instances).
The matching instances are counted first and a confirmation is asked on stdin unless --yes;
a progress bar on stderr follows the purge. Running instances are never purged: terminate them
first. Exit code 2 when the confirmation is refused, 3 when --id names no instance.`,
		Example: "  " + n + " durable purge-history --created-before 720h --yes\n" +
			"  " + n + " durable purge-history --runtime-status Failed --id-prefix test-\n" +
			"  " + n + " durable purge-history --id abc123 --yes",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return env.withHub(cmd, ph.run) },
	}
	ph.filter.addFlags(cmd, "only instances in these statuses (default: Completed,Failed,Terminated,Canceled)")
	f := cmd.Flags()
	f.StringVar(&ph.id, "id", "", "purge this one instance instead of filtering")
	f.BoolVarP(&ph.yes, "yes", "y", false, "do not ask for confirmation")
	f.BoolVarP(&ph.quiet, "quiet", "q", false, "no progress bar")
	f.IntVar(&ph.parallel, "parallel", 8, "instances purged at once")
	return cmd
}

func (ph *purgeHistory) run(ctx context.Context, h Hub, p *printer) error {
	if ph.parallel <= 0 {
		return usageErrorf("--parallel %d: give a positive number", ph.parallel)
	}
	var ids []string
	if ph.id != "" {
		if !ph.filter.empty() {
			return usageErrorf("--id purges one instance; drop the filter flags, or drop --id to purge by filter")
		}
		ids = []string{ph.id}
	} else {
		var err error
		if ids, err = ph.match(ctx, h); err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		p.message("No finished instances match in %s; nothing to purge.", h.Describe())
		return printPurged(p, 0)
	}
	what := fmt.Sprintf("%d instance(s)", len(ids))
	if ph.id != "" {
		what = "instance " + ph.id
	}
	if !ph.yes {
		if err := confirm(ph.env.cfg, fmt.Sprintf("Purge the history of %s in %s? This cannot be undone.", what, h.Describe())); err != nil {
			return err
		}
	}
	n, err := ph.purge(ctx, h, ids)
	if err != nil {
		return err
	}
	p.message("Purged %d instance(s) from %s.", n, h.Describe())
	return printPurged(p, n)
}

func printPurged(p *printer, n int) error {
	if p.json() {
		return p.writeJSON(dfwire.PurgeResult{InstancesDeleted: n})
	}
	return nil
}

// match lists the IDs of the finished instances the filter selects.
func (ph *purgeHistory) match(ctx context.Context, h Hub) ([]string, error) {
	q, err := ph.filter.query(time.Now())
	if err != nil {
		return nil, err
	}
	for _, s := range q.RuntimeStatus {
		if !isTerminal(s) {
			return nil, usageErrorf("--runtime-status %s: only finished instances (%s) can be purged; terminate running ones first", s, strings.Join(terminalStatuses, ", "))
		}
	}
	if len(q.RuntimeStatus) == 0 {
		q.RuntimeStatus = terminalStatuses
	}
	q.Top = 1000
	page, err := fetchInstances(ctx, h, q, true)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(page.Instances))
	for i, s := range page.Instances {
		ids[i] = s.InstanceID
	}
	return ids, nil
}

func isTerminal(s string) bool {
	for _, t := range terminalStatuses {
		if s == t {
			return true
		}
	}
	return false
}

// purge deletes ids with ph.parallel workers, advancing the progress bar;
// an instance already gone counts as purged by someone else and is not
// counted. Failures are collected and reported together.
func (ph *purgeHistory) purge(ctx context.Context, h Hub, ids []string) (int, error) {
	bar := ph.progress(len(ids))
	work := make(chan string)
	var purged atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range min(ph.parallel, len(ids)) {
		wg.Go(func() {
			for id := range work {
				err := h.Purge(ctx, id)
				switch {
				case err == nil:
					purged.Add(1)
				case errors.Is(err, bindings.ErrInstanceNotFound) && ph.id == "":
				default:
					mu.Lock()
					errs = append(errs, hubError(h, "purging", id, err))
					mu.Unlock()
				}
				_ = bar.Add(1)
			}
		})
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		work <- id
	}
	close(work)
	wg.Wait()
	_ = bar.Finish()
	n := int(purged.Load())
	if len(errs) == 1 && len(ids) == 1 {
		return n, errs[0]
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("purged %d of %d instances; %d failed, the first: %w", n, len(ids), len(errs), errs[0])
	}
	if err := ctx.Err(); err != nil {
		return n, fmt.Errorf("interrupted after purging %d of %d instances", n, len(ids))
	}
	return n, nil
}

// progress is the purge's progress bar on stderr (none with --quiet).
func (ph *purgeHistory) progress(n int) *progressbar.ProgressBar {
	w := ph.env.cfg.Stderr
	if ph.quiet {
		w = io.Discard
	}
	return progressbar.NewOptions(n,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("purging"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("instances"),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}

// confirm asks question on stderr and reads the answer from stdin: only
// y or yes goes on; anything else, or no answer, is a refusal (exit 2).
func confirm(cfg *Config, question string) error {
	fmt.Fprintf(cfg.Stderr, "%s [y/N] ", question)
	line, err := bufio.NewReader(cfg.Stdin).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	if answer == "y" || answer == "yes" {
		return nil
	}
	if err != nil && answer == "" {
		return usageErrorf("no confirmation on stdin; pass --yes to go on without asking")
	}
	return usageErrorf("not confirmed (answered %q); nothing was changed", answer)
}

func newDeleteTaskHubCommand(env *Env) *cobra.Command {
	var yes bool
	n := env.cfg.Name
	cmd := &cobra.Command{
		Use:   "delete-task-hub",
		Short: "Delete the task hub: its tables, queues and blobs, with every instance",
		Long: `Delete the task hub from storage: the instances and history tables, the control and work-item
queues and the lease and payload blobs — every instance and its history. Hosts still running on
the hub stop working on it. Asks for confirmation on stdin unless --yes. Works on storage only
(the management API has no such route).`,
		Example: "  " + n + " durable delete-task-hub --task-hub-name OldHub\n  " + n + " durable delete-task-hub --yes",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return env.withHub(cmd, func(ctx context.Context, h Hub, p *printer) error {
				if _, ok := h.(*httpHub); ok {
					return hubError(h, "deleting the task hub", "", h.DeleteTaskHub(ctx))
				}
				if !yes {
					if err := confirm(env.cfg, fmt.Sprintf("Delete %s with all its instances and history? This cannot be undone.", h.Describe())); err != nil {
						return err
					}
				}
				if err := h.DeleteTaskHub(ctx); err != nil {
					return hubError(h, "deleting the task hub", "", err)
				}
				return printAction(p, actionResult{Action: "deleted " + h.Describe()}, "Deleted %s.", h.Describe())
			})
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
