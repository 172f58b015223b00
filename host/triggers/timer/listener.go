// Package timer runs timer-triggered functions the way the Azure Functions
// timer trigger does: a schedule (package schedule), an optional schedule
// monitor that persists each timer's status so that a missed occurrence
// runs once, late, with IsPastDue, runOnStartup, and a listener singleton
// lock so that of several hosts sharing a storage account and host ID
// exactly one runs each timer. docs/triggers.md describes the behaviour.
package timer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/funchost/funchost/host/triggers/schedule"
)

// Timer is one timer-triggered function.
type Timer struct {
	// Name is the function name.
	Name string
	// Expression is the schedule as written (after %Setting% resolution),
	// for logs.
	Expression string
	Schedule   schedule.Schedule
	// Location is the time zone the schedule is computed in (nil = UTC).
	Location *time.Location
	// RunOnStartup invokes the function once when the listener starts.
	RunOnStartup bool
	// UseMonitor persists the schedule status (Options.Store).
	UseMonitor bool
	// Invoke runs the function. Its context is not cancelled when the
	// listener stops: an invocation in flight runs to its end (the caller
	// bounds it with functionTimeout). An error is logged by the caller;
	// failed invocations are not retried.
	Invoke func(ctx context.Context, info Info) error
}

// Info is what a timer function receives, in the JSON shape the Functions
// host gives out-of-process workers.
type Info struct {
	Schedule struct {
		AdjustForDST bool `json:"AdjustForDST"`
	} `json:"Schedule"`
	// ScheduleStatus is the status before this invocation; nil when the
	// monitor is off.
	ScheduleStatus *Status `json:"ScheduleStatus"`
	// IsPastDue is true only for the catch-up invocation of a missed
	// occurrence.
	IsPastDue bool `json:"IsPastDue"`
}

// Clock is the time source of a listener; tests inject a fake one.
type Clock interface {
	Now() time.Time
	// After fires once d has elapsed (at once for d <= 0).
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options configure Run. Zero values work: statuses in memory, no
// singleton lock, the system clock, slog.Default().
type Options struct {
	Store StatusStore
	// Locker, when set, makes the timer a singleton across hosts.
	Locker Locker
	// Owner identifies this host in lock metadata.
	Owner string
	// LockPeriod is the lease period (renewed at half of it; default 60 s).
	LockPeriod time.Duration
	// LockRetry is how often a host without the lock tries again (default
	// 1 min, as the Functions host).
	LockRetry time.Duration
	Clock     Clock
	Logger    *slog.Logger
}

func (o *Options) defaults() {
	if o.Store == nil {
		o.Store = &MemoryStore{}
	}
	if o.LockPeriod <= 0 {
		o.LockPeriod = DefaultLockPeriod
	}
	if o.LockRetry <= 0 {
		o.LockRetry = time.Minute
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Run runs t until ctx is cancelled, then returns nil once the invocation
// in flight (if any) has finished. With a Locker it first waits for the
// singleton lock, and goes back to waiting if the lock is lost.
func Run(ctx context.Context, t Timer, opts Options) error {
	opts.defaults()
	if t.Schedule == nil || t.Invoke == nil {
		return fmt.Errorf("timer %s: no schedule or no function", t.Name)
	}
	l := &listener{t: t, o: opts, log: opts.Logger.With("category", "Host.Triggers.Timer", "function", t.Name)}
	if opts.Locker == nil {
		l.schedule(ctx)
		return nil
	}
	for ctx.Err() == nil {
		lease, err := opts.Locker.TryAcquire(ctx, t.Name, opts.Owner)
		if err != nil && ctx.Err() == nil {
			l.log.Warn(fmt.Sprintf("Timer '%s' could not try the singleton lock; retrying", t.Name), "err", err)
		}
		if lease == nil {
			select {
			case <-ctx.Done():
			case <-opts.Clock.After(opts.LockRetry):
			}
			continue
		}
		l.log.Debug(fmt.Sprintf("Singleton lock acquired for the '%s' timer listener", t.Name))
		l.holding(ctx, lease)
	}
	return nil
}

type listener struct {
	t   Timer
	o   Options
	log *slog.Logger
	// status is the monitor's current record (nil without the monitor).
	status *Status
	// next is the next occurrence.
	next time.Time
}

// holding runs the schedule while lease is held, renewing it at half the
// period; it returns when ctx ends (releasing the lease) or the lease is lost.
func (l *listener) holding(ctx context.Context, lease Lease) {
	runCtx, cancel := context.WithCancel(ctx)
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		renewed := l.o.Clock.Now()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-l.o.Clock.After(l.o.LockPeriod / 2):
			}
			err := lease.Renew(runCtx)
			switch {
			case err == nil:
				renewed = l.o.Clock.Now()
				continue
			case runCtx.Err() != nil:
				return
			case errors.Is(err, ErrLeaseLost) || l.o.Clock.Now().Sub(renewed) > l.o.LockPeriod-time.Second:
				l.log.Warn(fmt.Sprintf("Singleton lock for the '%s' timer listener was lost; stopping the timer on this host", l.t.Name), "err", err)
				cancel()
				return
			default:
				l.log.Warn("Renewing the timer's singleton lock failed; retrying", "err", err)
			}
		}
	}()
	l.schedule(runCtx)
	cancel()
	<-renewDone
	if ctx.Err() != nil {
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		_ = lease.Release(rctx)
	}
}

// schedule is the timer loop: start-up checks, then one invocation per
// occurrence until ctx ends. Invocations are serialized.
func (l *listener) schedule(ctx context.Context) {
	t, clock := l.t, l.o.Clock
	loc := t.Location
	if loc == nil {
		loc = time.UTC
	}
	l.log.Info(fmt.Sprintf("The '%s' timer is using the schedule '%s' and the local time zone: '%s'", t.Name, t.Schedule, loc))
	now := clock.Now().In(loc)
	pastDue := false
	if t.UseMonitor {
		pastDue = l.checkPastDue(ctx, now)
	} else {
		l.next = t.Schedule.Next(now)
	}
	l.logOccurrences(now)
	switch {
	case pastDue:
		l.log.Info(fmt.Sprintf("Function '%s' is past due on startup. Executing now.", t.Name))
		l.invoke(ctx, true, false)
	case t.RunOnStartup:
		l.log.Info(fmt.Sprintf("Function '%s' is configured to run on startup. Executing now.", t.Name))
		l.invoke(ctx, false, false)
	}
	for ctx.Err() == nil {
		if l.next.IsZero() {
			l.log.Warn(fmt.Sprintf("The '%s' timer's schedule has no further occurrences", t.Name))
			<-ctx.Done()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-clock.After(l.next.Sub(clock.Now())):
		}
		if ctx.Err() != nil {
			return
		}
		l.invoke(ctx, false, true)
	}
}

// checkPastDue reads (or creates) the stored status and reports whether an
// occurrence was missed while no host ran the timer.
func (l *listener) checkPastDue(ctx context.Context, now time.Time) bool {
	t := l.t
	st, err := l.o.Store.Get(ctx, t.Name)
	if err != nil {
		l.log.Warn(fmt.Sprintf("Function '%s' could not read the timer trigger status; starting without it.", t.Name), "err", err)
	}
	if st == nil {
		l.status = &Status{Next: t.Schedule.Next(now), LastUpdated: now}
		l.next = l.status.Next
		l.putStatus(ctx)
		return false
	}
	l.status = st
	l.log.Debug(fmt.Sprintf("Function '%s' initial status: %s", t.Name, st))
	ref := st.Last
	if ref.IsZero() {
		ref = st.LastUpdated
	}
	if expected := t.Schedule.Next(ref); !expected.Equal(st.Next) {
		// The schedule changed since the status was written: adopt the new
		// one without counting the difference as a missed occurrence.
		if expected.Before(now) {
			expected = t.Schedule.Next(now)
		}
		st.Next, st.LastUpdated = expected, now
		l.next = st.Next
		l.putStatus(ctx)
		return false
	}
	l.next = st.Next
	return now.After(st.Next)
}

// invoke runs the function once and records the occurrence. scheduled is
// true for a regular tick (as opposed to past-due or start-up runs).
func (l *listener) invoke(ctx context.Context, pastDue, scheduled bool) {
	t := l.t
	start := l.o.Clock.Now()
	var info Info
	info.Schedule.AdjustForDST = true
	info.IsPastDue = pastDue
	if l.status != nil {
		before := *l.status
		info.ScheduleStatus = &before
	}
	_ = t.Invoke(context.WithoutCancel(ctx), info)
	last := start
	if scheduled && last.Before(l.next) {
		last = l.next // fired a little early: count it as the scheduled one
	}
	l.next = t.Schedule.Next(last)
	if l.status != nil {
		l.status = &Status{Last: last, Next: l.next, LastUpdated: l.o.Clock.Now()}
		l.putStatus(ctx)
	}
}

func (l *listener) putStatus(ctx context.Context) {
	loc := l.t.Location
	if loc == nil {
		loc = time.UTC
	}
	s := *l.status
	for _, p := range []*time.Time{&s.Last, &s.Next, &s.LastUpdated} {
		if !p.IsZero() {
			*p = p.In(loc)
		}
	}
	if err := l.o.Store.Put(context.WithoutCancel(ctx), l.t.Name, s); err != nil {
		l.log.Warn(fmt.Sprintf("Function '%s' failed to update the timer trigger status.", l.t.Name), "err", err)
	}
}

// logOccurrences prints the next five occurrences as the host does.
func (l *listener) logOccurrences(now time.Time) {
	var b strings.Builder
	fmt.Fprintf(&b, "The next 5 occurrences of the '%s' schedule (%s) will be:", l.t.Name, l.t.Schedule)
	at := l.next
	if at.Before(now) {
		at = l.t.Schedule.Next(now)
	}
	b.WriteString("\n" + formatOccurrence(at))
	for range 4 {
		if at = l.t.Schedule.Next(at); at.IsZero() {
			break
		}
		b.WriteString("\n" + formatOccurrence(at))
	}
	l.log.Info(b.String())
}

func formatOccurrence(t time.Time) string {
	s := t.Format("01/02/2006 15:04:05-07:00")
	if _, off := t.Zone(); off != 0 || t.Location() != time.UTC {
		s += " (" + t.UTC().Format("01/02/2006 15:04:05Z") + ")"
	}
	return s
}
