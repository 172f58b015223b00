package main

// This file is the adapter between the benchmark and the packages it drives
// (providers, engine, durable client): everything that depends on their
// exported APIs is here.

import (
	"context"
	"fmt"

	hostconfig "github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/engine"
	"github.com/funchost/funchost/samples/sampleapp"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// defaultWorker returns the engine settings of a host with an empty
// host.json, so that the benchmark measures what an app gets by default.
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

// newHub creates the task hub for cfg.provider and, for Azure Storage, a
// function returning the provider's request counts by
// "service.operation".
func newHub(ctx context.Context, cfg inprocConfig) (sp.TaskHub, func() map[string]int64, error) {
	switch cfg.provider {
	case "memory":
		return memory.New(memory.Options{Name: cfg.hubName}), nil, nil
	case "azurite", "azure":
		return newAzureHub(ctx, cfg)
	}
	return nil, nil, fmt.Errorf("unknown provider %q", cfg.provider)
}

// startWorker starts an engine worker with the sample app's functions on
// hub (which must be started).
func startWorker(ctx context.Context, hub sp.TaskHub, w workerConfig) (hostSide, error) {
	wk := engine.NewWorker(hub, engine.NewRegistry(sampleapp.Handlers()), engine.Options{
		MaxConcurrentOrchestrations: w.maxOrchestrations,
		MaxConcurrentActivities:     w.maxActivities,
		SessionCacheSize:            w.sessionCache,
		LocalActivities:             w.localActivities,
	})
	if err := wk.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("starting the engine worker: %w", err)
	}
	return wk, nil
}

// newStarter returns the durable client's StartNew on hub.
func newStarter(hub sp.TaskHub) (starter, error) {
	c := durableclient.New(durableclient.Options{Hub: hub})
	return func(ctx context.Context, orchestrator string, input any) (string, error) {
		return c.StartNew(ctx, orchestrator, input)
	}, nil
}
