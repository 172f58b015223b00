// Package retention purges old terminal instances from a task hub in the
// background, so that a hub (and the cost of every request on it) does
// not grow without bound: host.json
// extensions.durableTask.instanceRetention (docs/retention.md).
//
// A sweep lists terminal instances created before the cutoff (now minus
// the retention period), a page of BatchSize at a time, and purges those
// whose last update is also before the cutoff and that this host owns
// (see storageprovider.InstanceOwner), so that several hosts on one task
// hub share the work instead of repeating it.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// Sweeper purges terminal instances older than Period every Interval. The
// zero value of every field but Hub and Period works.
type Sweeper struct {
	Hub sp.TaskHub
	// Period is how long a terminal instance is kept after its last
	// update; 0 turns the sweeper off.
	Period time.Duration
	// Interval is the pause between sweeps (default 5 minutes).
	Interval time.Duration
	// BatchSize is how many status rows one query page reads (default
	// 100); the sweep purges a page before it reads the next.
	BatchSize int
	// Logger receives one line per sweep that purged or failed (default
	// slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnSweep, when set, is given each sweep's result (for metrics).
	OnSweep func(Result)
}

// Result is what one sweep did.
type Result struct {
	Scanned, Purged int
	Cutoff          time.Time
	Duration        time.Duration
	Err             error
}

// terminal are the statuses a sweep may purge.
var terminal = []sp.OrchestrationStatus{sp.StatusCompleted, sp.StatusFailed, sp.StatusTerminated, sp.StatusCanceled}

// Run sweeps until ctx ends: the first sweep after one Interval (a host
// that just started has other work first), then every Interval.
func (s *Sweeper) Run(ctx context.Context) {
	if s.Period <= 0 {
		return
	}
	t := time.NewTicker(s.interval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r := s.Sweep(ctx)
		if ctx.Err() != nil {
			return
		}
		s.report(r)
	}
}

// Sweep runs one sweep now.
func (s *Sweeper) Sweep(ctx context.Context) Result {
	begin := s.now()
	r := Result{Cutoff: begin.Add(-s.Period)}
	owner, _ := s.Hub.(sp.InstanceOwner)
	q := sp.InstanceQuery{CreatedTimeTo: r.Cutoff, RuntimeStatus: terminal, PageSize: s.batchSize()}
	for {
		page, err := s.Hub.QueryOrchestrationStates(ctx, q)
		if err != nil {
			r.Err = fmt.Errorf("listing instances of task hub %s: %w", s.Hub.Name(), err)
			break
		}
		for _, st := range page.States {
			r.Scanned++
			if !st.RuntimeStatus.IsTerminal() || !st.LastUpdatedTime.Before(r.Cutoff) {
				continue
			}
			if owner != nil && !owner.OwnsInstance(st.InstanceID) {
				continue
			}
			err := s.Hub.PurgeInstance(ctx, st.InstanceID)
			switch {
			case err == nil:
				r.Purged++
			case errors.Is(err, sp.ErrInstanceNotFound):
				// Purged by someone else meanwhile.
			default:
				r.Err = fmt.Errorf("purging instance %q: %w", st.InstanceID, err)
			}
		}
		if page.ContinuationToken == "" || r.Err != nil || ctx.Err() != nil {
			break
		}
		q.ContinuationToken = page.ContinuationToken
	}
	r.Duration = s.now().Sub(begin)
	return r
}

func (s *Sweeper) report(r Result) {
	if s.OnSweep != nil {
		s.OnSweep(r)
	}
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	switch {
	case r.Err != nil:
		log.Warn("retention sweep failed; the next sweep tries again", "hub", s.Hub.Name(),
			"purged", r.Purged, "scanned", r.Scanned, "err", r.Err)
	case r.Purged > 0:
		log.Info(fmt.Sprintf("retention sweep purged %d instances last updated before %s", r.Purged, r.Cutoff.UTC().Format(time.RFC3339)),
			"hub", s.Hub.Name(), "purged", r.Purged, "scanned", r.Scanned, "durationMs", r.Duration.Milliseconds())
	default:
		log.Debug("retention sweep: nothing to purge", "hub", s.Hub.Name(), "scanned", r.Scanned)
	}
}

func (s *Sweeper) interval() time.Duration {
	if s.Interval > 0 {
		return s.Interval
	}
	return 5 * time.Minute
}

func (s *Sweeper) batchSize() int {
	if s.BatchSize > 0 {
		return s.BatchSize
	}
	return 100
}

func (s *Sweeper) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
