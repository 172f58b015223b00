package azurestorage

import (
	"context"
	"encoding/base64"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/engine"
	"github.com/funchost/funchost/internal/version"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// TestWithRejections: the rejection count goes last in a received body (so
// "$type" stays first for DTFx), in the body's own encoding, replaces an
// earlier count, and decodes with the message unchanged; bodies that are
// not JSON objects are refused rather than damaged.
func TestWithRejections(t *testing.T) {
	body, err := encodeMessage(&sp.TaskMessage{Event: sp.NewEventRaisedEvent(sp.Now(), "go", `"x"`),
		Target: sp.OrchestrationInstance{InstanceID: "inst", ExecutionID: "exec"}}, "aid", sp.OrchestrationInstance{})
	if err != nil {
		t.Fatal(err)
	}
	wrapper := string(wrapperMessage("aid", "inst/message-aid-EventRaised.json.gz", 1))
	for _, tc := range []struct {
		name, text string
		n          int
		b64, blob  bool
		err        bool
	}{
		{name: "json", text: string(body), n: 1},
		{name: "json, counted before", text: mustRejections(t, string(body), 1), n: 2},
		{name: "base64", text: base64.StdEncoding.EncodeToString(body), n: 3, b64: true},
		{name: "base64, counted before", text: mustRejections(t, base64.StdEncoding.EncodeToString(body), 5), n: 6, b64: true},
		{name: "offloaded to a blob", text: wrapper + "\n", n: 1, blob: true},
		{name: "not json", text: "{nope", err: true},
		{name: "an array", text: "[1]", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := withRejections(tc.text, tc.n)
			if tc.err {
				if err == nil {
					t.Fatalf("withRejections = %q, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			plain := got
			if tc.b64 {
				b, err := base64.StdEncoding.DecodeString(got)
				if err != nil {
					t.Fatalf("not Base64 any more: %v", err)
				}
				plain = string(b)
			}
			if !strings.HasPrefix(plain, `{"$type":"DurableTask.AzureStorage.MessageData"`) || strings.Count(plain, "FunchostRejections") != 1 {
				t.Errorf("body %s: want $type first and one count", plain)
			}
			d, err := decodeBody(got)
			if err != nil || d.rejections != tc.n {
				t.Fatalf("decoded rejections %d, %v; want %d", d.rejections, err, tc.n)
			}
			if tc.blob {
				if d.blobName == "" {
					t.Errorf("the blob reference is lost: %+v", d)
				}
			} else if d.msg == nil || d.msg.Event.Name != "go" || d.msg.Event.Input != `"x"` || d.msg.Target.InstanceID != "inst" {
				t.Errorf("decoded message %+v", d.msg)
			}
		})
	}
}

func mustRejections(t *testing.T, text string, n int) string {
	t.Helper()
	s, err := withRejections(text, n)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// countedGiveBacks counts the work items given back to the provider,
// rejected (n) or abandoned (abandoned).
type countedGiveBacks struct {
	*TaskHub
	n, abandoned atomic.Int32
}

func (c *countedGiveBacks) RejectOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem, retryAfter time.Duration) error {
	c.n.Add(1)
	return c.TaskHub.RejectOrchestrationWorkItem(ctx, wi, retryAfter)
}

func (c *countedGiveBacks) AbandonOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem, retryAfter time.Duration) error {
	c.abandoned.Add(1)
	return c.TaskHub.AbandonOrchestrationWorkItem(ctx, wi, retryAfter)
}

// TestRejectedInstanceIsNotPoisoned: with the engine's poison threshold at
// one delivery, a worker whose versioning rejects an instance (Strict,
// Reject) gives it back again and again without poisoning it; a worker of
// the instance's version then runs it to completion. Counted as ordinary
// deliveries, the rejections would have failed it with PoisonMessage.
func TestRejectedInstanceIsNotPoisoned(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), func(o *Options) { o.PartitionCount = 1 })
	startHub(t, h)
	hub := &countedGiveBacks{TaskHub: h}
	reg := engine.Registry{Orchestrators: map[string]bindings.Orchestrator{
		"Versioned": func(ctx bindings.OrchestrationContext) (any, error) { return "ran on " + ctx.Version(), nil },
	}}
	opts := func(v string) engine.Options {
		return engine.Options{MaxDequeueCount: 1, MaxConcurrentOrchestrations: 1, MaxConcurrentActivities: 1,
			Versioning: version.Settings{Default: v, Match: version.MatchStrict, Failure: version.FailReject}}
	}
	m := startMsg("waits1", "")
	m.Event.Name, m.Event.Version = "Versioned", "1.0"
	if err := h.CreateInstance(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	stop := runEngine(t, hub, reg, opts("2.0"), nil)
	waitFor(t, 60*time.Second, "two rejections", func() bool { return hub.n.Load()+hub.abandoned.Load() >= 2 })
	stop()
	if hub.abandoned.Load() != 0 {
		t.Errorf("%d rejections were plain abandons", hub.abandoned.Load())
	}
	if st, err := h.GetOrchestrationState(context.Background(), "waits1", false); err != nil || st.RuntimeStatus.IsTerminal() {
		t.Fatalf("the rejecting worker changed the instance: %+v, %v", st, err)
	}
	defer runEngine(t, hub, reg, opts("1.0"), nil)()
	st := waitState(t, h, "waits1", "finished", func(s *sp.OrchestrationState) bool { return s.RuntimeStatus.IsTerminal() })
	if st.RuntimeStatus != sp.StatusCompleted || st.Output != `"ran on 1.0"` {
		t.Fatalf("state %v, output %s, failure %+v; want Completed by the 1.0 worker, not poisoned", st.RuntimeStatus, st.Output, st.FailureDetails)
	}
}
