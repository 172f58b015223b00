package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/funchost/funchost/host/durable"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage"
)

// tracker wraps the worker's task hub to learn, at no storage cost, when an
// instance reaches a terminal status (the checkpoint that commits it).
// Polling the status row instead would add storage requests to the very
// figure the benchmark measures.
type tracker struct {
	sp.TaskHub

	mu       sync.Mutex
	waiters  map[string]chan outcome
	early    map[string]outcome // terminal before anyone waited
	observer func(instanceID string, c *sp.OrchestrationCheckpoint)
}

// setObserver makes f see every committed checkpoint (nil: none).
func (t *tracker) setObserver(f func(instanceID string, c *sp.OrchestrationCheckpoint)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.observer = f
}

func newTracker(h sp.TaskHub) *tracker {
	return &tracker{TaskHub: h, waiters: map[string]chan outcome{}, early: map[string]outcome{}}
}

// CompleteOrchestrationWorkItem commits through the wrapped hub and reports
// terminal checkpoints.
func (t *tracker) CompleteOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem, c *sp.OrchestrationCheckpoint) error {
	err := t.TaskHub.CompleteOrchestrationWorkItem(ctx, wi, c)
	t.mu.Lock()
	obs := t.observer
	t.mu.Unlock()
	if err == nil && obs != nil {
		obs(wi.InstanceID, c)
	}
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
// process, composed as the host composes them.
type inproc struct {
	provider string
	rt       *durable.Runtime
	hub      *tracker
	counter  *azurestorage.RequestCounter // nil: no request counter
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
	// tracing is off, noop (spans made, exported to nowhere one by one) or
	// batch (spans made, batched, exported to nowhere): the cost of
	// distributed tracing.
	tracing string
}

// newInproc creates the task hub, starts the durable side on it and
// returns the target. The hub is created fresh; close deletes it.
func newInproc(ctx context.Context, cfg inprocConfig) (*inproc, error) {
	rt, tr, counter, err := startHost(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &inproc{provider: cfg.provider, rt: rt, hub: tr, counter: counter}, nil
}

func (p *inproc) run(ctx context.Context, orchestrator string, input any) (outcome, error) {
	id, err := p.rt.Client.StartNew(ctx, orchestrator, input)
	if err != nil {
		return outcome{}, fmt.Errorf("starting %s: %w", orchestrator, err)
	}
	return p.hub.wait(ctx, id)
}

func (p *inproc) requests() map[string]int64 {
	if p.counter == nil {
		return nil
	}
	return p.counter.Snapshot().ByOperation
}

func (p *inproc) usage() procUsage     { return procUsage{} }
func (p *inproc) providerName() string { return p.provider }
func (p *inproc) mode() string         { return "in-process" }

func (p *inproc) close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	err := p.rt.Stop(ctx)
	if e := p.hub.DeleteTaskHub(ctx); e != nil {
		err = errors.Join(err, fmt.Errorf("deleting task hub %s: %w", p.hub.Name(), e))
	}
	return err
}
