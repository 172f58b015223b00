package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/engine"
	"github.com/funchost/funchost/host/functions"
	"github.com/funchost/funchost/host/httpserver"
	"github.com/funchost/funchost/host/mgmtapi"
	sp "github.com/funchost/funchost/storageprovider"
)

// durable is the running durable side of the host: task hub, engine
// worker, durable client and management API.
type durable struct {
	hubName       string
	orchestrators int
	activities    int
	// client returns the durable client of a function's binding.
	client func(functionName, bindingName string) bindings.DurableClient
	// mgmt and rpc serve the management API on the main listener and on
	// the loopback listener; nil when the app is not durable.
	mgmt, rpc http.Handler
	stop      func(ctx context.Context) error
}

type durableParams struct {
	cfg  *config.Config
	env  config.Env
	log  *slog.Logger
	fns  []*functions.Function
	keys httpserver.Keys
}

// startDurable opens the task hub and starts the engine when the app has
// orchestrators, activities or durable client bindings; otherwise it
// returns an inert durable (an HTTP-only app needs no storage).
func startDurable(ctx context.Context, p durableParams) (*durable, error) {
	dc := p.cfg.Host.Durable
	reg := engine.Registry{Orchestrators: map[string]bindings.Orchestrator{}, Activities: map[string]bindings.Activity{}}
	needed := false
	for _, f := range p.fns {
		if f.Def.Disabled {
			continue
		}
		switch f.Def.Kind {
		case functions.KindOrchestrator:
			reg.Orchestrators[f.Def.TaskName()] = f.Orchestrator
			needed = true
		case functions.KindActivity:
			reg.Activities[f.Def.TaskName()] = f.Activity
			needed = true
		}
		for _, b := range f.Def.Clients() {
			needed = true
			if err := checkClientBinding(f.Def, b, dc, p.env); err != nil {
				return nil, err
			}
		}
	}
	if !needed {
		return &durable{stop: func(context.Context) error { return nil }}, nil
	}

	// The hub and the worker run on a context of their own: shutdown must
	// stop them explicitly, after in-flight HTTP requests have drained.
	bg, cancelBG := context.WithCancel(context.WithoutCancel(ctx))
	hub, err := openTaskHub(ctx, p.cfg, p.env, p.log)
	if err != nil {
		cancelBG()
		return nil, err
	}
	if err := hub.CreateIfNotExists(ctx); err != nil {
		cancelBG()
		return nil, fmt.Errorf("creating task hub %s (storage connection %q; is the account, or Azurite for `make run`, reachable?): %w",
			dc.HubName, dc.StorageProvider.ConnectionName, summarize(err))
	}
	if err := hub.Start(bg); err != nil {
		cancelBG()
		return nil, fmt.Errorf("starting task hub %s: %w", dc.HubName, err)
	}
	worker := engine.NewWorker(hub, reg, engine.Options{
		MaxConcurrentOrchestrations: dc.MaxConcurrentOrchestratorFunctions,
		MaxConcurrentActivities:     dc.MaxConcurrentActivityFunctions,
		SessionCacheSize:            sessionCacheSize(dc),
		LocalActivities:             dc.LocalActivityExecution,
		Logger:                      p.log,
	})
	if err := worker.Start(bg); err != nil {
		_ = hub.Stop(ctx)
		cancelBG()
		return nil, fmt.Errorf("starting the durable engine: %w", err)
	}

	code := p.keys.System[httpserver.DurableTaskSystemKeyName]
	if code == "" {
		code = p.keys.Master
	}
	client := durableclient.New(durableclient.Options{
		Hub:              hub,
		IsOrchestrator:   func(name string) bool { return reg.Orchestrators[name] != nil },
		ConnectionName:   clientConnectionName(dc.StorageProvider.ConnectionName),
		WebhookBase:      webhookBase(p.env),
		Code:             code,
		UseForwardedHost: dc.UseForwardedHost,
	})
	hubs := mgmtapi.Hubs(client)
	d := &durable{
		hubName:       hub.Name(),
		orchestrators: len(reg.Orchestrators),
		activities:    len(reg.Activities),
		client:        func(string, string) bindings.DurableClient { return client },
		mgmt: mgmtapi.New(mgmtapi.Options{Client: hubs, BasePath: webhookPath,
			MaxBodyBytes: p.cfg.Host.HTTP.MaxRequestBodySize, Logger: p.log}),
		rpc: mgmtapi.New(mgmtapi.Options{Client: hubs, BasePath: rpcPath,
			MaxBodyBytes: p.cfg.Host.HTTP.MaxRequestBodySize, Logger: p.log}),
	}
	d.stop = func(ctx context.Context) error {
		defer cancelBG()
		werr := worker.Stop(ctx)
		herr := hub.Stop(ctx)
		return errors.Join(werr, herr)
	}
	return d, nil
}

// summarize keeps a joined multi-error to its first line, so a storage
// outage reads as one message instead of one line per queue and table.
func summarize(err error) error {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	if len(lines) <= 1 {
		return err
	}
	return &summaryError{err: err, text: fmt.Sprintf("%s (and %d more errors)", lines[0], len(lines)-1)}
}

type summaryError struct {
	err  error
	text string
}

func (e *summaryError) Error() string { return e.text }
func (e *summaryError) Unwrap() error { return e.err }

// sessionCacheSize turns host.json's extended-session settings into the
// engine's cache size: with extended sessions off, no cache.
func sessionCacheSize(dc config.Durable) int {
	if !dc.ExtendedSessionsEnabled {
		return 0
	}
	return dc.SessionCacheSize
}

// checkClientBinding rejects durable client bindings addressing another
// task hub or connection: funchost serves one task hub per app.
func checkClientBinding(def *functions.Definition, b functions.Binding, dc config.Durable, env config.Env) error {
	if b.TaskHub != "" {
		hub := b.TaskHub
		if strings.HasPrefix(hub, "%") && strings.HasSuffix(hub, "%") && len(hub) > 2 {
			hub, _ = env.LookupEnv(hub[1 : len(hub)-1])
		}
		if !strings.EqualFold(hub, dc.HubName) {
			return fmt.Errorf("%s: binding %q: taskHub %q differs from the app's task hub %q; funchost serves one task hub per app",
				def.Path, b.Name, b.TaskHub, dc.HubName)
		}
	}
	if b.ConnectionName != "" && clientConnectionName(b.ConnectionName) != clientConnectionName(dc.StorageProvider.ConnectionName) {
		return fmt.Errorf("%s: binding %q: connectionName %q differs from the app's storage connection %q; funchost serves one connection per app",
			def.Path, b.Name, b.ConnectionName, dc.StorageProvider.ConnectionName)
	}
	return nil
}

// clientConnectionName is the connection name written to management URLs:
// Durable Functions writes "Storage" for the default AzureWebJobsStorage.
func clientConnectionName(name string) string {
	if name == "" || strings.EqualFold(name, "AzureWebJobsStorage") || strings.EqualFold(name, "Storage") {
		return "Storage"
	}
	return name
}

// webhookBase builds the management API's absolute URL from
// WEBSITE_HOSTNAME, with http only for localhost as in Functions.
func webhookBase(env config.Env) string {
	host, _ := env.LookupEnv("WEBSITE_HOSTNAME")
	if host == "" {
		return durableclient.DefaultWebhookBase
	}
	scheme := "https"
	if strings.HasPrefix(strings.ToLower(host), "localhost:") || strings.HasPrefix(host, "127.0.0.1:") {
		scheme = "http"
	}
	return scheme + "://" + host + webhookPath
}

// openTaskHub opens the configured storage provider.
func openTaskHub(ctx context.Context, cfg *config.Config, env config.Env, log *slog.Logger) (sp.TaskHub, error) {
	spc := cfg.Host.Durable.StorageProvider
	switch spc.Type {
	case config.ProviderMemory:
		log.Warn("Using the in-memory storage provider: orchestration state is lost when the host stops")
		return openMemory(cfg), nil
	case config.ProviderAzureStorage:
		return openAzureStorage(ctx, cfg, env, log)
	}
	return nil, fmt.Errorf("unsupported storage provider %q", spc.Type)
}
