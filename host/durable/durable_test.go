package durable_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/durable"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/engine"
	"github.com/funchost/funchost/host/mgmtapi"
	"github.com/funchost/funchost/samples/sampleapp"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

func memoryHost(hub string) *config.Host {
	h := config.DefaultHost()
	h.Durable.HubName = hub
	h.Durable.StorageProvider.Type = config.ProviderMemory
	return h
}

func TestOpenTaskHubErrors(t *testing.T) {
	ctx := context.Background()
	bad := config.DefaultHost()
	bad.Durable.StorageProvider.Type = "Netherite"
	named := config.DefaultHost()
	named.Durable.HubName = "OrdersHub"
	named.Durable.StorageProvider.ConnectionName = "OrdersStorage"
	tests := []struct {
		name string
		s    durable.Settings
		want []string
	}{
		{"zero settings, no connection", durable.Settings{Env: config.NewMapEnv(nil)}, []string{"TestHubName", `"AzureWebJobsStorage"`, "not configured"}},
		{"named connection missing", durable.Settings{Host: named, Env: config.NewMapEnv(nil)}, []string{"OrdersHub", `"OrdersStorage"`}},
		{"bad connection string", durable.Settings{Host: named, Env: config.NewMapEnv(map[string]string{"OrdersStorage": "nonsense"})}, []string{"OrdersHub", "OrdersStorage"}},
		{"unknown provider", durable.Settings{Host: bad}, []string{"TestHubName", `"Netherite"`, "storageProvider.type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hub, err := durable.OpenTaskHub(ctx, tt.s)
			if err == nil {
				t.Fatalf("OpenTaskHub succeeded: %v", hub)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestOpenTaskHubMemory(t *testing.T) {
	hub, err := durable.OpenTaskHub(context.Background(), durable.Settings{Host: memoryHost("MemHub")})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := hub.(*memory.TaskHub); !ok || hub.Name() != "MemHub" {
		t.Fatalf("hub %T %q, want the memory hub MemHub", hub, hub.Name())
	}
}

// TestStartRunsAnOrchestration composes the durable side on the memory
// hub and runs the sample app's HelloSequence through the client it
// returns.
func TestStartRunsAnOrchestration(t *testing.T) {
	ctx := context.Background()
	s := durable.Settings{Host: memoryHost("RunHub")}
	hub, err := durable.OpenTaskHub(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	reg := engine.NewRegistry(sampleapp.Handlers())
	var mounted *durableclient.Client
	rt, err := durable.Start(ctx, hub, reg, s, durable.Options{
		Links:  durable.Links{Hostname: "app.example.com", SystemKey: "k"},
		Mounts: func(c *durableclient.Client) []mgmtapi.Mount { mounted = c; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := rt.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if err := rt.Stop(ctx); err != nil {
			t.Errorf("second Stop: %v", err)
		}
	}()
	if mounted != rt.Client || rt.API == nil || rt.LocalAPI == nil {
		t.Fatalf("runtime incomplete: %+v", rt)
	}
	if _, err := rt.Client.StartNew(ctx, "Nope", nil); err == nil {
		t.Fatal("the client accepted an orchestrator the app does not have")
	}
	id, err := rt.Client.StartNew(ctx, "HelloSequence", nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := rt.Client.WaitForCompletion(ctx, id, time.Minute, 10*time.Millisecond)
	if err != nil || st.RuntimeStatus.String() != "Completed" || string(st.Output) != `["Hello Tokyo!","Hello Seattle!","Hello London!"]` {
		t.Fatalf("status %+v, %v", st, err)
	}
	p := rt.Client.CreateHTTPManagementPayload(id)
	if !strings.HasPrefix(p.StatusQueryGetURI, "https://app.example.com/runtime/webhooks/durabletask/instances/"+id+"?taskHub=RunHub&connection=Storage&code=k") {
		t.Fatalf("statusQueryGetUri %q", p.StatusQueryGetURI)
	}
}

func TestLinksAndConnectionName(t *testing.T) {
	for hostname, want := range map[string]string{
		"":                        durableclient.DefaultWebhookBase,
		"localhost:7072":          "http://localhost:7072/runtime/webhooks/durabletask",
		"127.0.0.1:80":            "http://127.0.0.1:80/runtime/webhooks/durabletask",
		"myapp.azurewebsites.net": "https://myapp.azurewebsites.net/runtime/webhooks/durabletask",
	} {
		if got := (durable.Links{Hostname: hostname}).WebhookBase(); got != want {
			t.Errorf("WebhookBase(%q) = %q, want %q", hostname, got, want)
		}
	}
	for in, want := range map[string]string{"": "Storage", "AzureWebJobsStorage": "Storage", "storage": "Storage", "Orders": "Orders"} {
		if got := durable.ConnectionName(in); got != want {
			t.Errorf("ConnectionName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadSettings(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("host.json", `{"version":"2.0","extensions":{"durableTask":{"hubName":"%HubSetting%","storageProvider":{"type":"memory"}}}}`)
	write("local.settings.json", `{"IsEncrypted":false,"Values":{"HubSetting":"FromLocalSettings"}}`)
	env := config.NewMapEnv(nil)
	s, err := durable.LoadSettings(root, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	hub, err := durable.OpenTaskHub(context.Background(), s)
	if err != nil || hub.Name() != "FromLocalSettings" {
		t.Fatalf("hub %v, %v", hub, err)
	}
	if v, _ := env.LookupEnv("HubSetting"); v != "FromLocalSettings" {
		t.Fatalf("local.settings.json Values were not exported: %q", v)
	}
	write("host.json", `{"version" "2.0"}`)
	if _, err := durable.LoadSettings(root, env, nil); err == nil || !strings.Contains(err.Error(), "host.json") {
		t.Fatalf("bad host.json: %v", err)
	}
}

// TestStartRunsRetention turns instanceRetention on with a tiny period and
// sees a completed instance purged by the runtime's sweeper.
func TestStartRunsRetention(t *testing.T) {
	ctx := context.Background()
	h := memoryHost("RetentionHub")
	h.Durable.Retention = config.Retention{Period: time.Nanosecond, SweepInterval: 10 * time.Millisecond, BatchSize: 10}
	s := durable.Settings{Host: h}
	hub, err := durable.OpenTaskHub(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := durable.Start(ctx, hub, engine.NewRegistry(sampleapp.Handlers()), s, durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Stop(ctx)
	id, err := rt.Client.StartNew(ctx, "HelloSequence", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The instance completes, then a sweep purges it: poll until it is
	// gone (a correctness wait, bounded).
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := hub.GetOrchestrationState(ctx, id, false)
		if errors.Is(err, sp.ErrInstanceNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s not purged by retention (last read: %v)", id, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
