package durableclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unsafe"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/durableclient"
	sp "github.com/funchost/funchost/storageprovider"
)

// GetStatusText encodes to the same status object as GetStatus through
// WireStatus, for every option and kind of payload, and reports the same
// runtime status.
func TestGetStatusText(t *testing.T) {
	ctx := context.Background()
	history := []*sp.HistoryEvent{
		sp.NewExecutionStartedEvent(fixedNow, sp.OrchestrationInstance{InstanceID: "s", ExecutionID: "e"}, "Hello", "", `{"n":1}`),
		sp.NewTaskScheduledEvent(fixedNow, 0, "A", "", `"x"`),
		sp.NewTaskCompletedEvent(fixedNow, 0, `not json`),
	}
	tests := []struct {
		name                  string
		status                sp.OrchestrationStatus
		input, custom, output string
		opts                  bindings.StatusOptions
	}{
		{"completed", sp.StatusCompleted, `{"n":1}`, "", `["a"]`, bindings.StatusOptions{}},
		{"input hidden", sp.StatusCompleted, `{"n":1}`, "", `["a"]`, bindings.StatusOptions{HideInput: true}},
		{"not JSON and blank", sp.StatusFailed, "not json", " ", `"Orchestrator function 'Hello' failed: boom"`, bindings.StatusOptions{}},
		{"empty", sp.StatusRunning, "", "", "", bindings.StatusOptions{}},
		{"custom status", sp.StatusRunning, `1`, `{"step": 2}`, "", bindings.StatusOptions{}},
		{"history", sp.StatusCompleted, `{"n":1}`, "", `"é😀\u2028"`, bindings.StatusOptions{ShowHistory: true, ShowHistoryOutput: true}},
		{"history of a pending instance", sp.StatusPending, `{"n":1}`, "", "", bindings.StatusOptions{ShowHistory: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, hub := newClient(t)
			if _, err := c.StartNew(ctx, "Hello", nil, bindings.WithInstanceID("s"), bindings.WithVersion("1.0")); err != nil {
				t.Fatal(err)
			}
			hub.SetState("s", func(s *sp.OrchestrationState) {
				s.RuntimeStatus, s.Input, s.CustomStatus, s.Output = tt.status, tt.input, tt.custom, tt.output
			})
			hub.SetHistory("s", history)
			old, err := c.GetStatus(ctx, "s", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := durableclient.WireStatus(old).MarshalJSON()
			st, status, err := c.GetStatusText(ctx, "s", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := st.MarshalJSON(); string(got) != string(want) {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
			if status != old.RuntimeStatus {
				t.Errorf("runtime status %v, want %v", status, old.RuntimeStatus)
			}
		})
	}
	c, _ := newClient(t)
	if _, _, err := c.GetStatusText(ctx, "missing", bindings.StatusOptions{}); !errors.Is(err, bindings.ErrInstanceNotFound) || !strings.Contains(err.Error(), `"missing"`) {
		t.Fatalf("missing instance: %v", err)
	}
}

// A valid JSON payload reaches the status object as the string the task
// hub returned, not a copy.
func TestGetStatusTextKeepsPayloads(t *testing.T) {
	c, hub := newClient(t)
	ctx := context.Background()
	in, out := `"`+strings.Repeat("i", 1<<20)+`"`, `{"o":"`+strings.Repeat("o", 1<<20)+`"}`
	if _, err := c.StartNew(ctx, "Hello", nil, bindings.WithInstanceID("big")); err != nil {
		t.Fatal(err)
	}
	hub.SetState("big", func(s *sp.OrchestrationState) { s.RuntimeStatus, s.Input, s.Output = sp.StatusCompleted, in, out })
	st, _, err := c.GetStatusText(ctx, "big", bindings.StatusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if unsafe.StringData(st.Input) != unsafe.StringData(in) || unsafe.StringData(st.Output) != unsafe.StringData(out) {
		t.Fatalf("the payloads were copied (input %d bytes, output %d bytes)", len(st.Input), len(st.Output))
	}
}

// WaitAndRespond writes the output of a completed instance, and the
// status object of a failed one, as they were written from GetStatus.
func TestWaitAndRespondBodies(t *testing.T) {
	ctx := context.Background()
	output := `{"r":"` + strings.Repeat("r", 100_000) + `"}`
	for _, status := range []sp.OrchestrationStatus{sp.StatusCompleted, sp.StatusFailed} {
		c, hub := newClient(t)
		if _, err := c.StartNew(ctx, "Hello", `"in"`, bindings.WithInstanceID("w")); err != nil {
			t.Fatal(err)
		}
		hub.SetState("w", func(s *sp.OrchestrationState) { s.RuntimeStatus, s.Output = status, output })
		want := output
		if status != sp.StatusCompleted {
			old, err := c.GetStatus(ctx, "w", bindings.StatusOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := durableclient.WireStatus(old).MarshalJSON()
			want = string(b)
		}
		w := httptest.NewRecorder()
		if err := c.WaitAndRespond(w, httptest.NewRequest(http.MethodPost, "http://h/", nil), "w", 0, 0, durableclient.LinkOptions{}); err != nil {
			t.Fatal(err)
		}
		if w.Code != http.StatusOK || w.Body.String() != want {
			t.Errorf("%v: %d, body %.200s\nwant %.200s", status, w.Code, w.Body, want)
		}
	}
}
