package main

// This file is the adapter between the benchmark and the packages it drives:
// it composes the in-process host through host/durable, as the host does,
// so the benchmark runs what an app runs.

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	hostconfig "github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/durable"
	"github.com/funchost/funchost/host/engine"
	"github.com/funchost/funchost/host/telemetry"
	"github.com/funchost/funchost/samples/sampleapp"
	"github.com/funchost/funchost/storageprovider/azurestorage"
)

// defaultWorker returns the engine settings of a host with an empty
// host.json: the defaults of the -max-* flags.
func defaultWorker() workerConfig {
	d := hostconfig.DefaultHost().Durable
	w := workerConfig{
		maxOrchestrations: d.MaxConcurrentOrchestratorFunctions,
		maxActivities:     d.MaxConcurrentActivityFunctions,
		localActivities:   d.LocalActivityExecution,
	}
	if d.ExtendedSessionsEnabled {
		w.sessionCache = d.SessionCacheSize
	}
	return w
}

// settings returns the durable settings of an app with an empty host.json
// on cfg's provider and hub, with the worker flags applied, and for Azure
// Storage a request counter.
func settings(cfg inprocConfig) (durable.Settings, *azurestorage.RequestCounter, error) {
	h := hostconfig.DefaultHost()
	d := &h.Durable
	d.HubName = cfg.hubName
	d.MaxConcurrentOrchestratorFunctions = cfg.worker.maxOrchestrations
	d.MaxConcurrentActivityFunctions = cfg.worker.maxActivities
	d.ExtendedSessionsEnabled = cfg.worker.sessionCache > 0
	d.SessionCacheSize = cfg.worker.sessionCache
	d.LocalActivityExecution = cfg.worker.localActivities
	s := durable.Settings{
		Host:   h,
		Env:    hostconfig.NewMapEnv(map[string]string{d.StorageProvider.ConnectionName: cfg.connection}),
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	switch cfg.provider {
	case "memory":
		d.StorageProvider.Type = hostconfig.ProviderMemory
		return s, nil, nil
	case "azurite", "azure":
		s.RequestCounter = &azurestorage.RequestCounter{}
		return s, s.RequestCounter, nil
	}
	return s, nil, fmt.Errorf("unknown provider %q", cfg.provider)
}

// startHost opens the task hub, wraps it with a tracker and starts the
// durable side with the sample app's functions on the tracker.
func startHost(ctx context.Context, cfg inprocConfig) (*durable.Runtime, *tracker, *azurestorage.RequestCounter, error) {
	s, counter, err := settings(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	hub, err := durable.OpenTaskHub(ctx, s)
	if err != nil {
		return nil, nil, nil, err
	}
	tr := newTracker(hub)
	tel, err := benchTelemetry(s, cfg.worker.tracing)
	if err != nil {
		return nil, nil, nil, err
	}
	rt, err := durable.Start(ctx, tr, engine.NewRegistry(appHandlers()), s, durable.Options{Telemetry: tel})
	if err != nil {
		_ = hub.DeleteTaskHub(context.WithoutCancel(ctx))
		return nil, nil, nil, err
	}
	return rt, tr, counter, nil
}

// appHandlers are the sample app's functions and the benchmark's own.
func appHandlers() map[string]any {
	h := sampleapp.Handlers()
	for name, f := range benchHandlers() {
		h[name] = f
	}
	return h
}

// benchTelemetry is the host's telemetry (lifecycle logs on the settings'
// logger) with the tracing mode of -tracing.
func benchTelemetry(s durable.Settings, mode string) (*telemetry.Telemetry, error) {
	o := telemetry.Options{Logger: s.Logger, Logs: durable.LogOptions(s)}
	switch mode {
	case "", "off":
	case "noop":
		o.Tracing = &telemetry.TraceOptions{Exporter: discardExporter{}, Sync: true}
	case "batch":
		o.Tracing = &telemetry.TraceOptions{Exporter: discardExporter{}}
	default:
		return nil, fmt.Errorf("unknown -tracing %q (want off, noop or batch)", mode)
	}
	return telemetry.New(o), nil
}

// discardExporter drops every span: what remains is the cost of making
// and handing them over.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }
