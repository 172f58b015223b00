// Package durable composes the durable side of a function app from its
// configuration, in one place for every program that needs it: the host
// (package host), the benchmark (samples/bench), and tools that reach an
// app's task hub without serving it (the operator CLI, the replay
// checker).
//
// Two steps, so that a tool can stop after the first:
//
//   - OpenTaskHub opens the storage provider that host.json's
//     extensions.durableTask section and the environment select (Azure
//     Storage on the named connection, or the in-memory hub). Nothing is
//     created or started: a tool reads status rows and histories from it,
//     or starts it itself.
//   - Start creates the hub if needed, starts it, and starts on it the
//     engine worker with the app's functions, the durable client and the
//     management API handlers. Runtime.Stop undoes it in order.
//
// A tool reading an app's hub:
//
//	s, err := durable.LoadSettings(root, config.OSEnv{}, log)
//	hub, err := durable.OpenTaskHub(ctx, s)
//	client := durable.NewClient(hub, s, durable.Links{})
//
// docs/architecture.md shows where this sits among the other packages.
package durable

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/dfwire"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/engine"
	"github.com/funchost/funchost/host/mgmtapi"
	"github.com/funchost/funchost/host/retention"
	"github.com/funchost/funchost/host/telemetry"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage"
)

// Settings are what the durable side is composed from. The zero value is
// an app with an empty host.json on the process environment, logging to
// slog.Default().
type Settings struct {
	// Host is the app's host.json (nil: config.DefaultHost()).
	Host *config.Host
	// Env resolves the storage connection (nil: the process environment).
	Env config.Env
	// Logger receives the provider's and the engine's logs (nil:
	// slog.Default()).
	Logger *slog.Logger
	// RequestCounter, when set, counts the Azure Storage provider's
	// requests (the benchmark reports them).
	RequestCounter *azurestorage.RequestCounter
}

func (s Settings) withDefaults() Settings {
	if s.Host == nil {
		s.Host = config.DefaultHost()
	}
	if s.Env == nil {
		s.Env = config.OSEnv{}
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	return s
}

// LoadSettings reads the app folder's local.settings.json (exporting its
// Values into env, as the host does) and host.json.
func LoadSettings(scriptRoot string, env config.Env, log *slog.Logger) (Settings, error) {
	if env == nil {
		env = config.OSEnv{}
	}
	cfg, err := config.Load(scriptRoot, env, log)
	if err != nil {
		return Settings{}, err
	}
	return Settings{Host: cfg.Host, Env: env, Logger: log}, nil
}

// Options configure Start beyond the Settings.
type Options struct {
	// Links say how management URLs are built.
	Links Links
	// Mounts, when set, returns extra handlers to serve under the
	// management API's path (a dashboard), given the durable client.
	Mounts func(*durableclient.Client) []mgmtapi.Mount
	// Telemetry receives the engine's lifecycle events (nil: the
	// lifecycle logs of Settings' host.json on Settings.Logger, see
	// NewTelemetry).
	Telemetry *telemetry.Telemetry
}

// Runtime is a started durable side.
type Runtime struct {
	Hub    sp.TaskHub
	Worker *engine.Worker
	Client *durableclient.Client
	// API serves the management API to be mounted at dfwire.WebhookPath
	// (behind the system key); LocalAPI the same routes for
	// dfwire.LocalRPCPath on the loopback listener.
	API, LocalAPI http.Handler

	stopOnce sync.Once
	stopErr  error
	cancel   context.CancelFunc
	// sweepStop ends the retention sweeper; sweepDone is closed when it
	// has (closed at once when retention is off).
	sweepStop context.CancelFunc
	sweepDone chan struct{}
}

// Start creates hub if it does not exist, starts it and the engine worker
// running reg's functions, and builds the durable client and the
// management API on it. hub comes from OpenTaskHub, possibly wrapped. The
// hub and the worker run on a context of their own: cancelling ctx after
// Start returns does not stop them; Stop does.
func Start(ctx context.Context, hub sp.TaskHub, reg engine.Registry, s Settings, o Options) (*Runtime, error) {
	s = s.withDefaults()
	dc := s.Host.Durable
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if err := hub.CreateIfNotExists(ctx); err != nil {
		cancel()
		return nil, fmt.Errorf("creating task hub %s (storage connection %q; is the account, or Azurite for `make run`, reachable?): %w",
			hub.Name(), dc.StorageProvider.ConnectionName, summarize(err))
	}
	if err := hub.Start(bg); err != nil {
		cancel()
		return nil, fmt.Errorf("starting task hub %s: %w", hub.Name(), err)
	}
	tel := o.Telemetry
	if tel == nil {
		tel = NewTelemetry(s)
	}
	if err := observeStorage(tel, hub, s.RequestCounter); err != nil {
		s.Logger.Warn("queue and storage metrics are off", "hub", hub.Name(), "err", err)
	}
	eo := engineOptions(dc, s.Logger)
	eo.Observer = tel
	if t := s.Host.FunctionTimeout; t > 0 {
		eo.OrchestratorEpisodeTimeout = t // one orchestrator episode, as in the Functions host
	}
	worker := engine.NewWorker(hub, reg, eo)
	if err := worker.Start(bg); err != nil {
		_ = hub.Stop(ctx)
		cancel()
		return nil, fmt.Errorf("starting the durable engine on task hub %s: %w", hub.Name(), err)
	}
	client := newClient(hub, s, o.Links, func(name string) bool { return reg.Orchestrators[name] != nil }, reg.HasEntity, tel)
	var mounts []mgmtapi.Mount
	if o.Mounts != nil {
		mounts = o.Mounts(client)
	}
	api := func(base string) http.Handler {
		return mgmtapi.New(mgmtapi.Options{Client: mgmtapi.Hubs(client), BasePath: base,
			MaxBodyBytes: s.Host.HTTP.MaxRequestBodySize, Logger: s.Logger, Mounts: mounts})
	}
	rt := &Runtime{Hub: hub, Worker: worker, Client: client,
		API: api(dfwire.WebhookPath), LocalAPI: api(dfwire.LocalRPCPath), cancel: cancel}
	rt.startRetention(bg, dc.Retention, s.Logger)
	return rt, nil
}

// startRetention runs the retention sweeper (host/retention) on the hub
// until Stop, when host.json turns it on.
func (r *Runtime) startRetention(ctx context.Context, rc config.Retention, log *slog.Logger) {
	ctx, r.sweepStop = context.WithCancel(ctx)
	r.sweepDone = make(chan struct{})
	if rc.Period <= 0 {
		close(r.sweepDone)
		return
	}
	sw := &retention.Sweeper{Hub: r.Hub, Period: rc.Period, Interval: rc.SweepInterval, BatchSize: rc.BatchSize, Logger: log}
	log.Info(fmt.Sprintf("instance retention on: terminal instances are purged %s after their last update (sweep every %s)",
		config.FormatTimeSpan(rc.Period), config.FormatTimeSpan(sw.Interval)), "hub", r.Hub.Name())
	go func() {
		defer close(r.sweepDone)
		sw.Run(ctx)
	}()
}

// Stop stops the worker (letting running work items finish until ctx
// ends), then the task hub. Calls after the first return its result.
func (r *Runtime) Stop(ctx context.Context) error {
	r.stopOnce.Do(func() {
		defer r.cancel()
		r.sweepStop()
		<-r.sweepDone
		werr := r.Worker.Stop(ctx)
		if werr != nil {
			werr = fmt.Errorf("stopping the durable engine: %w", werr)
		}
		herr := r.Hub.Stop(ctx)
		if herr != nil {
			herr = fmt.Errorf("stopping task hub %s: %w", r.Hub.Name(), herr)
		}
		r.stopErr = errors.Join(werr, herr)
	})
	return r.stopErr
}

// NewTelemetry is the telemetry of s without traces or metrics: the
// lifecycle logs host.json's extensions.durableTask.tracing asks for, on
// s.Logger.
func NewTelemetry(s Settings) *telemetry.Telemetry {
	s = s.withDefaults()
	return telemetry.New(telemetry.Options{Logger: s.Logger, Logs: LogOptions(s)})
}

// LogOptions are the lifecycle-log options of s: host.json's tracing
// switches and the app and slot names from the environment.
func LogOptions(s Settings) telemetry.LogOptions {
	tr := s.Host.Durable.Tracing
	o := telemetry.LogOptions{TraceInputsAndOutputs: tr.TraceInputsAndOutputs, TraceReplayEvents: tr.TraceReplayEvents,
		HubName: s.Host.Durable.HubName}
	if s.Env != nil {
		o.AppName, _ = s.Env.LookupEnv("WEBSITE_SITE_NAME")
		o.SlotName, _ = s.Env.LookupEnv("WEBSITE_SLOT_NAME")
	}
	return o
}

// engineOptions maps host.json's extensions.durableTask to the engine's
// options: with extended sessions off, no session cache.
func engineOptions(dc config.Durable, log *slog.Logger) engine.Options {
	o := engine.Options{
		MaxConcurrentOrchestrations: dc.MaxConcurrentOrchestratorFunctions,
		MaxConcurrentActivities:     dc.MaxConcurrentActivityFunctions,
		LocalActivities:             dc.LocalActivityExecution,
		MaxEntityOperationBatchSize: dc.MaxEntityOperationBatchSize,
		Versioning:                  dc.Versioning,
		MaxOrchestrationActions:     dc.MaxOrchestrationActions,
		MaxOpenActivityCalls:        dc.MaxOpenActivityCalls,
		OrchestratorYieldTimeout:    dc.OrchestratorYieldTimeout,
		Logger:                      log,
	}
	if o.OrchestratorYieldTimeout == 0 {
		o.OrchestratorYieldTimeout = -1 // host.json 0: off
	}
	if dc.ExtendedSessionsEnabled {
		o.SessionCacheSize = dc.SessionCacheSize
	}
	if o.MaxOpenActivityCalls == 0 && dc.StorageProvider.Type == config.ProviderAzureStorage {
		o.MaxOpenActivityCalls = azurestorage.DefaultMaxOpenActivityCalls
	}
	return o
}

// observeStorage gives the telemetry's metrics the task hub's queue depths
// (when the provider reports them) and the storage request counts.
func observeStorage(tel *telemetry.Telemetry, hub sp.TaskHub, rc *azurestorage.RequestCounter) error {
	var queues func(context.Context) (*sp.QueueStats, error)
	if r, ok := hub.(sp.QueueStatsReporter); ok {
		queues = r.QueueStats
	}
	var requests func() map[string]int64
	if rc != nil {
		requests = func() map[string]int64 { return rc.Snapshot().ByOperation }
	}
	return tel.ObserveStorage(queues, requests)
}
