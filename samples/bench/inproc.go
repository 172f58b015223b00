package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// tracker wraps the worker's task hub to learn, at no storage cost, when an
// instance reaches a terminal status (the checkpoint that commits it).
// Polling the status row instead would add storage requests to the very
// figure the benchmark measures.
type tracker struct {
	sp.TaskHub

	mu      sync.Mutex
	waiters map[string]chan outcome
	early   map[string]outcome // terminal before anyone waited
}

func newTracker(h sp.TaskHub) *tracker {
	return &tracker{TaskHub: h, waiters: map[string]chan outcome{}, early: map[string]outcome{}}
}

// CompleteOrchestrationWorkItem commits through the wrapped hub and reports
// terminal checkpoints.
func (t *tracker) CompleteOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem, c *sp.OrchestrationCheckpoint) error {
	err := t.TaskHub.CompleteOrchestrationWorkItem(ctx, wi, c)
	if err == nil && c != nil && c.State != nil && c.State.RuntimeStatus.IsTerminal() {
		t.done(outcome{instanceID: wi.InstanceID, status: c.State.RuntimeStatus.String(), finished: time.Now()})
	}
	return err
}

func (t *tracker) done(o outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ch, ok := t.waiters[o.instanceID]; ok {
		delete(t.waiters, o.instanceID)
		ch <- o
		return
	}
	t.early[o.instanceID] = o
}

// wait blocks until id is terminal; a completion that arrived before the
// call is kept in early and returned at once.
func (t *tracker) wait(ctx context.Context, id string) (outcome, error) {
	t.mu.Lock()
	if o, ok := t.early[id]; ok {
		delete(t.early, id)
		t.mu.Unlock()
		return o, nil
	}
	ch := make(chan outcome, 1)
	t.waiters[id] = ch
	t.mu.Unlock()
	select {
	case o := <-ch:
		return o, nil
	case <-ctx.Done():
		t.mu.Lock()
		delete(t.waiters, id)
		t.mu.Unlock()
		return outcome{instanceID: id}, fmt.Errorf("instance %s: %w", id, ctx.Err())
	}
}

// inproc runs the engine, the provider and the sample functions in this
// process.
type inproc struct {
	provider string
	hub      *tracker
	count    func() map[string]int64 // nil: no request counter
	host     hostSide
	start    starter
}

// starter starts an orchestration and returns its instance ID (the durable
// client's StartNew).
type starter func(ctx context.Context, orchestrator string, input any) (string, error)

// hostSide is the running worker.
type hostSide interface {
	Stop(ctx context.Context) error
}

// inprocConfig configures the in-process host.
type inprocConfig struct {
	provider   string // memory, azurite, azure
	connection string
	hubName    string
	worker     workerConfig
}

// workerConfig holds engine options (defaultWorker: the host's defaults).
type workerConfig struct {
	maxOrchestrations int
	maxActivities     int
	sessionCache      int
	localActivities   bool
}

// newInproc creates the task hub, starts a worker on it and returns the
// target. The hub is created fresh; close deletes it.
func newInproc(ctx context.Context, cfg inprocConfig) (*inproc, error) {
	hub, count, err := newHub(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := hub.CreateIfNotExists(ctx); err != nil {
		return nil, fmt.Errorf("creating task hub %s: %w", cfg.hubName, err)
	}
	cleanup := func() {
		ctx := context.WithoutCancel(ctx)
		_ = hub.Stop(ctx)
		_ = hub.DeleteTaskHub(ctx)
	}
	if err := hub.Start(ctx); err != nil {
		cleanup()
		return nil, fmt.Errorf("starting task hub %s: %w", cfg.hubName, err)
	}
	tr := newTracker(hub)
	w, err := startWorker(ctx, tr, cfg.worker)
	if err != nil {
		cleanup()
		return nil, err
	}
	st, err := newStarter(tr)
	if err != nil {
		_ = w.Stop(ctx)
		cleanup()
		return nil, err
	}
	return &inproc{provider: cfg.provider, hub: tr, count: count, host: w, start: st}, nil
}

func (p *inproc) run(ctx context.Context, orchestrator string, input any) (outcome, error) {
	id, err := p.start(ctx, orchestrator, input)
	if err != nil {
		return outcome{}, fmt.Errorf("starting %s: %w", orchestrator, err)
	}
	return p.hub.wait(ctx, id)
}

func (p *inproc) requests() map[string]int64 {
	if p.count == nil {
		return nil
	}
	return p.count()
}

func (p *inproc) usage() procUsage     { return procUsage{} }
func (p *inproc) providerName() string { return p.provider }
func (p *inproc) mode() string         { return "in-process" }

func (p *inproc) close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	err := p.host.Stop(ctx)
	if e := p.hub.Stop(ctx); e != nil {
		err = errors.Join(err, fmt.Errorf("stopping task hub %s: %w", p.hub.Name(), e))
	}
	if e := p.hub.DeleteTaskHub(ctx); e != nil {
		err = errors.Join(err, fmt.Errorf("deleting task hub %s: %w", p.hub.Name(), e))
	}
	return err
}
