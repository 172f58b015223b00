package host

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/dashboard"
	"github.com/funchost/funchost/host/durable"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/engine"
	"github.com/funchost/funchost/host/functions"
	"github.com/funchost/funchost/host/httpserver"
	"github.com/funchost/funchost/host/mgmtapi"
	"github.com/funchost/funchost/host/telemetry"
)

// durableSide is the host's view of the durable side: nil fields when the
// app is not durable (an HTTP-only app needs no storage).
type durableSide struct {
	rt  *durable.Runtime
	reg engine.Registry
	tel *telemetry.Telemetry
}

// httpTrace is the HTTP functions' tracing wrapper (nil when tracing is
// off).
func (d *durableSide) httpTrace() func(string, http.Handler) http.Handler {
	if !d.tel.Tracing() {
		return nil
	}
	return d.tel.HTTPTrace
}

// client returns the durable client of a function's binding (one client
// serves every binding: funchost serves one task hub per app).
func (d *durableSide) client(functionName, bindingName string) bindings.DurableClient {
	if d.rt == nil {
		return nil
	}
	return d.rt.Client
}

func (d *durableSide) stop(ctx context.Context) error {
	if d.rt == nil {
		return nil
	}
	return d.rt.Stop(ctx)
}

// startDurable opens the task hub and starts the durable side (package
// durable) when the app has orchestrators, activities or durable client
// bindings. hostname is the WEBSITE_HOSTNAME management URLs are built
// from.
//
// When keys are configured but no durabletask_extension system key is, it
// finds or generates one (ensureSystemKey) and adds it to keys: management
// URLs carry only that key, never the master key.
func startDurable(ctx context.Context, s durable.Settings, fns []*functions.Function, keys *httpserver.Keys, hostID, hostname string, tel *telemetry.Telemetry) (*durableSide, error) {
	reg, needed, err := durableFunctions(fns, s.Host.Durable, s.Env)
	if err != nil || !needed {
		return &durableSide{}, err
	}
	if s.Host.Durable.StorageProvider.Type == config.ProviderMemory {
		s.Logger.Warn("Using the in-memory storage provider: orchestration state is lost when the host stops")
	}
	hub, err := durable.OpenTaskHub(ctx, s)
	if err != nil {
		return nil, err
	}
	store, err := secretsFor(s, hostID)
	if err == nil {
		err = ensureSystemKey(ctx, keys, store, s.Logger)
	}
	if err != nil {
		_ = hub.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	code := keys.System[httpserver.DurableTaskSystemKeyName]
	rt, err := durable.Start(ctx, hub, reg, s, durable.Options{Links: durable.Links{Hostname: hostname, SystemKey: code}, Mounts: dashboardMount(s),
		Telemetry: tel})
	if err != nil {
		_ = hub.Stop(context.WithoutCancel(ctx)) // start-up may try again with a new hub
		return nil, err
	}
	return &durableSide{rt: rt, reg: reg, tel: tel}, nil
}

// dashboardPath is where the dashboard sits below the management API, on
// both listeners.
const dashboardPath = "/dashboard"

// dashboardMount serves the dashboard (docs/dashboard.md) under the
// management API: behind the system key on the main listener, without
// keys on the loopback one. One handler serves both; its links follow
// each request's prefix.
func dashboardMount(s durable.Settings) func(*durableclient.Client) []mgmtapi.Mount {
	return func(c *durableclient.Client) []mgmtapi.Mount {
		h := dashboard.New(dashboard.Options{Client: c, Store: c.Hub(), Logger: s.Logger})
		return []mgmtapi.Mount{{Prefix: dashboardPath, Handler: h}}
	}
}

// durableFunctions collects the enabled orchestrators (under the payload
// limits, limits.go) and activities, and reports whether the app needs the
// durable side at all. It rejects
// durable client bindings that address another task hub or connection.
func durableFunctions(fns []*functions.Function, dc config.Durable, env config.Env) (engine.Registry, bool, error) {
	reg := engine.Registry{Orchestrators: map[string]bindings.Orchestrator{}, Activities: map[string]bindings.Activity{}}
	limits, err := readPayloadLimits(env)
	if err != nil {
		return reg, false, err
	}
	needed := false
	for _, f := range fns {
		if f.Def.Disabled {
			continue
		}
		switch f.Def.Kind {
		case functions.KindOrchestrator:
			reg.Orchestrators[f.Def.TaskName()] = limitOrchestrator(f.Def.TaskName(), f.Orchestrator, limits)
			needed = true
		case functions.KindActivity:
			reg.Activities[f.Def.TaskName()] = f.Activity
			needed = true
		case functions.KindEntity:
			needed = true
		}
		for _, b := range f.Def.Clients() {
			needed = true
			if err := checkClientBinding(f.Def, b, dc, env); err != nil {
				return reg, false, err
			}
		}
	}
	ents, err := entityFunctions(fns, env)
	reg.Entities = ents
	return reg, needed, err
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
	if b.ConnectionName != "" && durable.ConnectionName(b.ConnectionName) != durable.ConnectionName(dc.StorageProvider.ConnectionName) {
		return fmt.Errorf("%s: binding %q: connectionName %q differs from the app's storage connection %q; funchost serves one connection per app",
			def.Path, b.Name, b.ConnectionName, dc.StorageProvider.ConnectionName)
	}
	return nil
}
