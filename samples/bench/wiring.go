package main

// This file is the adapter between the benchmark and the packages it drives:
// it composes the in-process host through host/durable, as the host does,
// so the benchmark runs what an app runs.

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	hostconfig "github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/durable"
	"github.com/funchost/funchost/host/engine"
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
	rt, err := durable.Start(ctx, tr, engine.NewRegistry(sampleapp.Handlers()), s, durable.Options{})
	if err != nil {
		_ = hub.DeleteTaskHub(context.WithoutCancel(ctx))
		return nil, nil, nil, err
	}
	return rt, tr, counter, nil
}
