package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/dfwire"
	"github.com/funchost/funchost/host/durable"
	"github.com/funchost/funchost/host/durableclient"
	sp "github.com/funchost/funchost/storageprovider"
)

// storageHub reaches the task hub directly on storage, configured as the
// app is (host.json, local.settings.json, the environment), through the
// same durable client the host's functions use.
type storageHub struct {
	hub      sp.TaskHub
	client   *durableclient.Client
	settings durable.Settings
}

// openStorageHub loads the app's settings from c.scriptRoot, applies the
// overrides and opens the hub without starting it: nothing of a host
// (partition leases, queue polling) runs in the CLI.
func openStorageHub(ctx context.Context, c *connection) (*storageHub, error) {
	s, err := loadSettings(c)
	if err != nil {
		return nil, err
	}
	if s.Host.Durable.StorageProvider.Type == config.ProviderMemory {
		return nil, usageErrorf("host.json selects the in-memory storage provider: its task hub lives inside the serving process only; reach it through that host with --url")
	}
	hub, err := durable.OpenTaskHub(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("%w (set the connection with --connection-string, or reach a running host with --url)", err)
	}
	return &storageHub{hub: hub, client: durable.NewClient(hub, s, durable.Links{}), settings: s}, nil
}

// loadSettings reads the app's configuration as the host would, quietly
// (the host reports configuration warnings when it starts), and applies
// --task-hub-name and --connection-string.
func loadSettings(c *connection) (durable.Settings, error) {
	root := c.scriptRoot
	if root == "" {
		root = "."
	}
	log := slog.New(slog.DiscardHandler)
	s, err := durable.LoadSettings(root, config.OSEnv{}, log)
	if err != nil {
		return s, fmt.Errorf("reading the app's configuration in %s (pass --script-root for another folder): %w", root, err)
	}
	if c.taskHubName != "" {
		s.Host.Durable.HubName = c.taskHubName
	}
	if c.connectionString != "" {
		if err := os.Setenv(connectionSetting(s.Host.Durable.StorageProvider.ConnectionName), c.connectionString); err != nil {
			return s, err
		}
	}
	return s, nil
}

// connectionSetting is the setting a storage connection name is read from
// first (the Functions host adds the AzureWebJobs prefix to short names).
func connectionSetting(name string) string {
	if name == "" {
		name = config.DefaultHost().Durable.StorageProvider.ConnectionName
	}
	if !strings.HasPrefix(strings.ToLower(name), "azurewebjobs") {
		name = "AzureWebJobs" + name
	}
	return name
}

func (h *storageHub) Describe() string { return "task hub " + h.hub.Name() + " (storage)" }

func (h *storageHub) List(ctx context.Context, q Query) (*Page, error) {
	iq := bindings.InstanceQuery{CreatedTimeFrom: q.CreatedFrom, CreatedTimeTo: q.CreatedTo, InstanceIDPrefix: q.InstanceIDPrefix,
		PageSize: q.Top, ContinuationToken: q.ContinuationToken, ShowInput: q.ShowInput}
	for _, s := range q.RuntimeStatus {
		st, err := sp.ParseOrchestrationStatus(s)
		if err != nil {
			return nil, usageErrorf("--runtime-status %q: %v", s, err)
		}
		iq.RuntimeStatus = append(iq.RuntimeStatus, bindings.RuntimeStatus(st))
	}
	page, err := h.client.ListInstances(ctx, iq)
	if err != nil {
		return nil, err
	}
	out := &Page{ContinuationToken: page.ContinuationToken, Instances: make([]*dfwire.Status, len(page.Instances))}
	for i, s := range page.Instances {
		out.Instances[i] = durableclient.WireStatus(s)
	}
	return out, nil
}

func (h *storageHub) Status(ctx context.Context, id string, o StatusOptions) (*dfwire.Status, error) {
	st, err := h.client.GetStatus(ctx, id, bindings.StatusOptions{ShowHistory: o.History, ShowHistoryOutput: o.History, HideInput: !o.ShowInput})
	if err != nil {
		return nil, err
	}
	return durableclient.WireStatus(st), nil
}

func (h *storageHub) StartNew(ctx context.Context, orchestrator string, input json.RawMessage, id, version string) (string, error) {
	var opts []bindings.Option
	if id != "" {
		opts = append(opts, bindings.WithInstanceID(id))
	}
	if version != "" {
		opts = append(opts, bindings.WithVersion(version))
	}
	var in any
	if input != nil {
		in = input
	}
	return h.client.StartNew(ctx, orchestrator, in, opts...)
}

func (h *storageHub) RaiseEvent(ctx context.Context, id, event string, data json.RawMessage) error {
	var d any
	if data != nil {
		d = data
	}
	return h.client.RaiseEvent(ctx, id, event, d)
}

func (h *storageHub) Control(ctx context.Context, op Operation, id, reason string) error {
	switch op {
	case OpTerminate:
		return h.client.Terminate(ctx, id, reason)
	case OpSuspend:
		return h.client.Suspend(ctx, id, reason)
	case OpResume:
		return h.client.Resume(ctx, id, reason)
	case OpRewind:
		return h.client.Rewind(ctx, id, reason)
	}
	return fmt.Errorf("unknown operation %q", op)
}

func (h *storageHub) Restart(ctx context.Context, id string, newID bool) (string, error) {
	return h.client.Restart(ctx, id, newID)
}

func (h *storageHub) Purge(ctx context.Context, id string) error {
	_, err := h.client.PurgeInstance(ctx, id)
	return err
}

func (h *storageHub) DeleteTaskHub(ctx context.Context) error { return h.hub.DeleteTaskHub(ctx) }

func (h *storageHub) Close(ctx context.Context) error { return h.hub.Stop(ctx) }
