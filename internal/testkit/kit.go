// Package testkit is the plumbing of package bindings/bindingstest: it
// runs the real engine on the in-memory task hub with a fake clock, counts
// the work in flight so that a test can wait until an orchestration has
// nothing left to do, and holds durable timers until the clock reaches
// them. Function authors use bindingstest, never this package.
package testkit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/engine"
	"github.com/funchost/funchost/internal/options"
	"github.com/funchost/funchost/internal/version"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// DefaultStart is where the fake clock starts unless told otherwise.
var DefaultStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultIdleTimeout bounds how long Settle waits for work to end.
const DefaultIdleTimeout = 30 * time.Second

// Config configures a Kit.
type Config struct {
	// Functions are the orchestrators and activities by name:
	// bindings.Orchestrator and bindings.Activity values or functions of
	// their shapes; other values (HTTP handlers) are ignored.
	Functions map[string]any
	// Start is the fake clock's first reading (default DefaultStart).
	Start time.Time
	// IdleTimeout bounds each wait for the work to end (default
	// DefaultIdleTimeout): a test whose orchestration never settles fails
	// instead of hanging.
	IdleTimeout time.Duration
	// DefaultVersion is stamped on instances and sub-orchestrations started
	// without WithVersion, as host.json defaultVersion does (no version
	// matching: every instance runs).
	DefaultVersion string
}

// Kit runs orchestrations in-process. Its methods are safe for concurrent
// use, but a test normally drives it from one goroutine.
type Kit struct {
	mem     *memory.TaskHub
	hub     *hub
	worker  *engine.Worker
	client  *durableclient.Client
	timeout time.Duration

	mu  sync.Mutex
	now time.Time
}

// New starts a kit: a memory task hub and an engine worker over it.
func New(cfg Config) (*Kit, error) {
	k := &Kit{now: cfg.Start, timeout: cfg.IdleTimeout}
	if k.now.IsZero() {
		k.now = DefaultStart
	}
	k.now = sp.Timestamp(k.now)
	if k.timeout <= 0 {
		k.timeout = DefaultIdleTimeout
	}
	reg := registry(cfg.Functions)
	k.mem = memory.New(memory.Options{Name: "bindingstest", KeepTerminalHistory: true})
	k.hub = newHub(k.mem)
	ctx := context.Background()
	if err := k.mem.Start(ctx); err != nil {
		return nil, err
	}
	// One orchestration and one activity at a time, and no session cache:
	// every episode replays the whole history, so a test also shows that
	// the orchestrator replays deterministically.
	k.worker = engine.NewWorker(k.hub, reg, engine.Options{
		MaxConcurrentOrchestrations: 1, MaxConcurrentActivities: 1, Clock: k.Now,
		Versioning: version.Settings{Default: cfg.DefaultVersion, Match: version.MatchNone},
	})
	k.client = durableclient.New(durableclient.Options{Hub: k.hub, Now: k.Now, DefaultVersion: cfg.DefaultVersion,
		IsOrchestrator: func(name string) bool { return isOrchestrator(reg, name) }})
	if err := k.worker.Start(ctx); err != nil {
		_ = k.mem.Stop(ctx)
		return nil, err
	}
	return k, nil
}

// registry sorts functions into an engine registry, taking functions of
// the orchestrator and activity shapes as well as the named types.
func registry(functions map[string]any) engine.Registry {
	named := make(map[string]any, len(functions))
	for name, f := range functions {
		switch f := f.(type) {
		case func(bindings.OrchestrationContext) (any, error):
			named[name] = bindings.Orchestrator(f)
		case func(bindings.ActivityContext) (any, error):
			named[name] = bindings.Activity(f)
		default:
			named[name] = f
		}
	}
	return engine.NewRegistry(named)
}

// isOrchestrator reports whether reg has an orchestrator of that name,
// matched as the engine matches names.
func isOrchestrator(reg engine.Registry, name string) bool {
	for n := range reg.Orchestrators {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// Close stops the worker and the hub.
func (k *Kit) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), k.timeout)
	defer cancel()
	return errors.Join(k.worker.Stop(ctx), k.mem.Stop(ctx))
}

// Now returns the fake clock's reading.
func (k *Kit) Now() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.now
}

func (k *Kit) setNow(t time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if t.After(k.now) {
		k.now = sp.Timestamp(t)
	}
}

// Settle waits until no message and no activity call is in flight: every
// instance has run as far as it can without a timer firing or an event
// arriving.
func (k *Kit) Settle() error {
	deadline := time.NewTimer(k.timeout)
	defer deadline.Stop()
	for {
		idle, changed := k.hub.idle()
		if idle {
			return nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			return fmt.Errorf("testkit: the orchestrations did not settle within %v (an orchestrator or activity that never returns?)", k.timeout)
		}
	}
}

// Start starts an orchestration (StartNew's options, except WithStartAt)
// and settles.
func (k *Kit) Start(name string, input any, opts ...bindings.Option) (string, error) {
	if o, _ := options.Fold("Start", options.ForStart, opts); o.Applied&options.FieldStartAt != 0 {
		return "", errors.New("testkit: WithStartAt is not supported; start the instance when it is due")
	}
	id, err := k.client.StartNew(context.Background(), name, input, opts...)
	if err != nil {
		return "", err
	}
	return id, k.Settle()
}

// RaiseEvent sends an external event to an instance and settles.
func (k *Kit) RaiseEvent(instanceID, name string, data any) error {
	if err := k.client.RaiseEvent(context.Background(), instanceID, name, data); err != nil {
		return err
	}
	return k.Settle()
}

// Terminate terminates an instance and settles.
func (k *Kit) Terminate(instanceID, reason string) error {
	if err := k.client.Terminate(context.Background(), instanceID, reason); err != nil {
		return err
	}
	return k.Settle()
}

// Advance moves the fake clock forward by d, firing the durable timers that
// come due on the way in time order (the clock reads each timer's FireAt
// while it fires) and settling after each.
func (k *Kit) Advance(d time.Duration) error {
	target := k.Now().Add(d)
	for {
		next, ok := k.hub.nextTimer()
		if !ok || next.After(target) {
			break
		}
		k.setNow(next)
		if err := k.hub.fire(context.Background(), next); err != nil {
			return err
		}
		if err := k.Settle(); err != nil {
			return err
		}
	}
	k.setNow(target)
	return nil
}

// Status returns an instance's status.
func (k *Kit) Status(instanceID string) (*bindings.OrchestrationStatus, error) {
	return k.client.GetStatus(context.Background(), instanceID, bindings.StatusOptions{})
}

// Calls returns the scheduling events an instance committed, in order,
// across its ContinueAsNew generations.
func (k *Kit) Calls(instanceID string) []*sp.HistoryEvent { return k.hub.recordedCalls(instanceID) }
