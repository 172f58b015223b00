package host

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/functions"
	"github.com/funchost/funchost/host/invoke"
	"github.com/funchost/funchost/host/settingref"
	"github.com/funchost/funchost/host/storagebindings"
	"github.com/funchost/funchost/host/telemetry"
	"github.com/funchost/funchost/host/triggers/queue"
	"github.com/funchost/funchost/host/triggers/schedule"
	"github.com/funchost/funchost/host/triggers/timer"
	"github.com/funchost/funchost/internal/invocation"
	"github.com/funchost/funchost/internal/iobind"
)

// runner runs one function invocation for any trigger: durable clients and
// storage bindings attached to the context, Functions-style logs,
// functionTimeout, outputs written only on success.
type runner struct {
	cfg      *config.Config
	env      config.Env
	log      *slog.Logger
	accounts *storagebindings.Accounts
	client   func(functionName, bindingName string) bindings.DurableClient
	// drain bounds how long stopping waits for running messages.
	drain time.Duration
	// tel, when set, returns the telemetry whose timer and queue
	// invocation spans wrap the runs (nil: none).
	tel func() *telemetry.Telemetry
}

// telemetry is the runner's telemetry, nil when it has none.
func (r *runner) telemetry() *telemetry.Telemetry {
	if r.tel == nil {
		return nil
	}
	return r.tel()
}

// storageBindings lists a definition's queue and blob bindings.
func storageBindings(d *functions.Definition) []storagebindings.Binding {
	var out []storagebindings.Binding
	for _, b := range d.Bindings {
		sb := storagebindings.Binding{Name: b.Name, QueueName: b.QueueName, Path: b.Path, Connection: b.Connection}
		switch {
		case b.Type == functions.TypeQueue:
			sb.Kind = storagebindings.KindQueueOutput
		case b.Type == functions.TypeBlob && strings.EqualFold(b.Direction, "out"):
			sb.Kind = storagebindings.KindBlobOutput
		case b.Type == functions.TypeBlob:
			sb.Kind = storagebindings.KindBlobInput
		default:
			continue
		}
		out = append(out, sb)
	}
	return out
}

// run invokes f once. data is the invocation's binding data for path
// expressions; call runs the handler with the prepared context.
func (r *runner) run(ctx context.Context, f *functions.Function, reason string, data storagebindings.Data, call func(ctx context.Context) error) error {
	run := invoke.Invocation{ID: uuid.NewString(), Function: f.Def.Name, Reason: reason, Timeout: r.cfg.Host.FunctionTimeout, Logger: r.log}
	inv := &invocation.Invocation[bindings.DurableClient]{FunctionName: f.Def.Name, InvocationID: run.ID}
	for _, b := range f.Def.Clients() {
		if c := r.client(f.Def.Name, b.Name); c != nil {
			inv.Clients = append(inv.Clients, invocation.Client[bindings.DurableClient]{Name: b.Name, Client: c})
		}
	}
	return run.Run(ctx, func(ctx context.Context) error {
		var vals *storagebindings.Values
		if sbs := storageBindings(f.Def); len(sbs) > 0 {
			resolve := func(s string) (string, error) { return settingref.Resolve(s, r.env.LookupEnv) }
			var err error
			if vals, err = r.accounts.Prepare(ctx, sbs, data, r.cfg.Host.Queues.MessageEncoding, resolve); err != nil {
				return err
			}
			ctx = iobind.With(ctx, valuesAdapter{vals})
		}
		ctx = invocation.With(ctx, inv)
		if err := call(ctx); err != nil {
			return err
		}
		if vals != nil {
			return vals.Flush(ctx)
		}
		return nil
	})
}

// valuesAdapter serves bindings' accessors from storagebindings.Values.
type valuesAdapter struct{ v *storagebindings.Values }

func (a valuesAdapter) queue(name string) (*storagebindings.QueueOutput, error) {
	if q := a.v.Queues[name]; q != nil {
		return q, nil
	}
	return nil, fmt.Errorf("%w: no queue output binding %q", bindings.ErrNoBinding, name)
}

func (a valuesAdapter) AddQueue(name string, v any) error {
	q, err := a.queue(name)
	if err != nil {
		return err
	}
	return q.Add(v)
}

func (a valuesAdapter) SetQueue(name string, v any) error {
	q, err := a.queue(name)
	if err != nil {
		return err
	}
	return q.Set(v)
}

func (a valuesAdapter) SetBlob(name string, v any) error {
	b := a.v.BlobOuts[name]
	if b == nil {
		return fmt.Errorf("%w: no blob output binding %q", bindings.ErrNoBinding, name)
	}
	return b.Set(v)
}

func (a valuesAdapter) Blob(name string) ([]byte, bool, error) {
	b, ok := a.v.BlobInputs[name]
	if !ok {
		return nil, false, fmt.Errorf("%w: no blob input binding %q", bindings.ErrNoBinding, name)
	}
	return b.Data, b.Found, nil
}

// triggerSide runs the timer and queue listeners of an app.
type triggerSide struct {
	r       *runner
	timers  []timer.Timer
	topts   timer.Options
	queues  []*queue.Listener
	byQueue map[string][]*queue.Listener
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// newTriggerSide prepares the listeners; a function whose trigger cannot
// be set up (bad schedule, bad queue name, missing connection) is returned
// in error and not loaded.
func newTriggerSide(r *runner, fns []*functions.Function, hostID string) (*triggerSide, []*functions.Broken) {
	t := &triggerSide{r: r, byQueue: map[string][]*queue.Listener{}}
	r.accounts.OnSend = func(q string) {
		for _, l := range t.byQueue[q] {
			l.Wake()
		}
	}
	var broken []*functions.Broken
	fail := func(f *functions.Function, err error) {
		broken = append(broken, &functions.Broken{Name: f.Def.Name, Path: f.Def.Path, Config: f.Def.Config, Trigger: f.Def.Trigger.Type,
			Problems: []functions.Problem{{Path: f.Def.Path, Field: "bindings." + f.Def.Trigger.Name, Message: err.Error()}}})
	}
	tz, _ := r.env.LookupEnv(schedule.SettingTimeZone)
	loc, locErr := schedule.LoadLocation(tz)
	for _, f := range fns {
		if f.Def.Disabled {
			continue
		}
		var err error
		switch f.Def.Kind {
		case functions.KindTimer:
			if err = locErr; err == nil {
				err = t.addTimer(f, loc)
			}
		case functions.KindQueue:
			err = t.addQueue(f)
		}
		if err != nil {
			fail(f, err)
		}
	}
	if len(t.timers) > 0 {
		t.topts = r.timerOptions(hostID)
	}
	return t, broken
}

func (t *triggerSide) addTimer(f *functions.Function, loc *time.Location) error {
	b := f.Def.Trigger
	expr, err := settingref.Resolve(b.Schedule, t.r.env.LookupEnv)
	if err != nil {
		return err
	}
	s, err := schedule.Parse(expr, loc)
	if err != nil {
		return err
	}
	onStartup, _ := functions.Flag(b.RunOnStartup, false)
	monitor, _ := functions.Flag(b.UseMonitor, true)
	t.timers = append(t.timers, timer.Timer{
		Name: f.Def.Name, Expression: expr, Schedule: s, Location: loc, RunOnStartup: onStartup,
		UseMonitor: monitor && schedule.UseMonitor(s, time.Now().In(loc)),
		Invoke: func(ctx context.Context, info timer.Info) error {
			return t.r.runTimer(ctx, f, info)
		},
	})
	return nil
}

// runTimer invokes a timer function with its timer info.
func (r *runner) runTimer(ctx context.Context, f *functions.Function, info timer.Info) error {
	return r.runTimerAs(ctx, f, invoke.ReasonTimer(time.Now()), info)
}

// runTimerDirect invokes a timer function through the admin API.
func (r *runner) runTimerDirect(ctx context.Context, f *functions.Function, info timer.Info) error {
	return r.runTimerAs(ctx, f, invoke.ReasonHostAPI, info)
}

func (r *runner) runTimerAs(ctx context.Context, f *functions.Function, reason string, info timer.Info) error {
	ti := bindings.TimerInfo{IsPastDue: info.IsPastDue}
	ti.Schedule.AdjustForDST = info.Schedule.AdjustForDST
	if st := info.ScheduleStatus; st != nil {
		ti.ScheduleStatus = &bindings.ScheduleStatus{Last: st.Last, Next: st.Next, LastUpdated: st.LastUpdated}
	}
	now := time.Now()
	data := storagebindings.Data{"TimerTrigger": now.Format(time.RFC3339)}
	ctx, end := r.telemetry().TimerSpan(ctx, f.Def.Name, f.Def.Trigger.Schedule, info.IsPastDue)
	err := r.run(ctx, f, reason, data, func(ctx context.Context) error { return f.Timer(ctx, ti) })
	end(err)
	return err
}

// timerOptions keeps timer statuses and locks in blob storage (the
// AzureWebJobsStorage account, as the Functions host) unless the app runs
// on the in-memory provider without that setting.
func (r *runner) timerOptions(hostID string) timer.Options {
	o := timer.Options{Logger: r.log, Owner: hostID + "/" + strconv.Itoa(int(time.Now().UnixNano()%1e9))}
	memory := r.cfg.Host.Durable.StorageProvider.Type == config.ProviderMemory
	if v, ok := r.env.LookupEnv("AzureWebJobsStorage"); memory && (!ok || v == "") {
		o.Store, o.Locker = &timer.MemoryStore{}, &timer.MemoryLocker{}
		return o
	}
	blobs, err := r.accounts.BlobService("")
	if err != nil {
		r.log.Warn("Timer statuses and the singleton lock are kept in memory: AzureWebJobsStorage is not usable", "err", err)
		o.Store, o.Locker = &timer.MemoryStore{}, &timer.MemoryLocker{}
		return o
	}
	bs := timer.NewBlobStore(blobs, hostID)
	o.Store, o.Locker = bs, bs
	return o
}

func (t *triggerSide) addQueue(f *functions.Function) error {
	b := f.Def.Trigger
	name, err := settingref.Resolve(b.QueueName, t.r.env.LookupEnv)
	if err != nil {
		return err
	}
	name = strings.ToLower(name)
	if err := queue.ValidateName(name); err != nil {
		return err
	}
	svc, sender, err := t.r.accounts.Queue(b.Connection)
	if err != nil {
		return err
	}
	q := t.r.cfg.Host.Queues
	opts := queue.Options{BatchSize: q.BatchSize, NewBatchThreshold: q.NewBatchThreshold, MaxDequeueCount: q.MaxDequeueCount,
		VisibilityTimeout: q.VisibilityTimeout, MaxPollingInterval: q.MaxPollingInterval, MessageEncoding: q.MessageEncoding,
		DrainTimeout: t.r.drain, Logger: t.r.log}
	switch q.NewBatchThreshold {
	case -1:
		opts.NewBatchThreshold = 0 // the listener's default
	case 0:
		opts.NewBatchThreshold = -1 // explicitly none
	}
	l := queue.NewListener(svc, sender, name, func(ctx context.Context, m *queue.Message) error {
		return t.r.runQueue(ctx, f, name, m)
	}, opts)
	t.queues = append(t.queues, l)
	t.byQueue[name] = append(t.byQueue[name], l)
	return nil
}

// runQueue invokes a queue function with one message; its metadata (and a
// JSON body's top-level properties) are binding data.
func (r *runner) runQueue(ctx context.Context, f *functions.Function, queueName string, m *queue.Message) error {
	return r.runQueueAs(ctx, f, invoke.ReasonQueue(queueName), m)
}

func (r *runner) runQueueAs(ctx context.Context, f *functions.Function, reason string, m *queue.Message) error {
	msg := bindings.QueueMessage{ID: m.ID, Body: m.Body, DequeueCount: m.DequeueCount, InsertionTime: m.InsertionTime,
		ExpirationTime: m.ExpirationTime, NextVisibleTime: m.NextVisibleTime, PopReceipt: m.PopReceipt}
	data := storagebindings.Data{"QueueTrigger": string(m.Body), "Id": m.ID, "DequeueCount": strconv.FormatInt(m.DequeueCount, 10),
		"InsertionTime": m.InsertionTime.Format(time.RFC3339), "ExpirationTime": m.ExpirationTime.Format(time.RFC3339),
		"NextVisibleTime": m.NextVisibleTime.Format(time.RFC3339), "PopReceipt": m.PopReceipt}
	var props map[string]any
	if json.Unmarshal(m.Body, &props) == nil {
		for k, v := range props {
			if s, ok := v.(string); ok {
				data[k] = s
			} else if b, err := json.Marshal(v); err == nil {
				data[k] = string(b)
			}
		}
	}
	queueName, err := settingref.Resolve(f.Def.Trigger.QueueName, r.env.LookupEnv)
	if err != nil {
		queueName = f.Def.Trigger.QueueName
	}
	ctx, end := r.telemetry().QueueSpan(ctx, f.Def.Name, strings.ToLower(queueName), m.ID, m.DequeueCount)
	err = r.run(ctx, f, reason, data, func(ctx context.Context) error { return f.Queue(ctx, msg) })
	end(err)
	return err
}

// start runs every listener until stop.
func (t *triggerSide) start(ctx context.Context) {
	ctx, t.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, tm := range t.timers {
		t.wg.Add(1)
		go func() { defer t.wg.Done(); _ = timer.Run(ctx, tm, t.topts) }()
	}
	for _, l := range t.queues {
		t.wg.Add(1)
		go func() { defer t.wg.Done(); _ = l.Run(ctx) }()
	}
}

// stop stops polling and scheduling and waits (up to ctx) for invocations
// in flight; queue messages still running are released to their queues.
func (t *triggerSide) stop(ctx context.Context) error {
	if t == nil || t.cancel == nil {
		return nil
	}
	t.cancel()
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stopping timer and queue listeners: %w", ctx.Err())
	}
}
