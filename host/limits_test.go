package host

import (
	"strings"
	"testing"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/bindings/bindingstest"
	"github.com/funchost/funchost/host/config"
)

// TestPayloadLimits: an orchestration whose output or custom status is
// over its limit fails with a message naming the limit and the setting;
// one under the limits completes; a bad setting is an error.
func TestPayloadLimits(t *testing.T) {
	t.Parallel()
	l, err := readPayloadLimits(config.NewMapEnv(map[string]string{SettingMaxOrchestrationOutput: "100", SettingMaxCustomStatus: "20"}))
	if err != nil || l != (payloadLimits{output: 100, customStatus: 20}) {
		t.Fatalf("limits %+v, %v", l, err)
	}
	if _, err := readPayloadLimits(config.NewMapEnv(map[string]string{SettingMaxCustomStatus: "-1"})); err == nil || !strings.Contains(err.Error(), SettingMaxCustomStatus) {
		t.Errorf("a negative limit: %v", err)
	}
	if d, _ := readPayloadLimits(config.NewMapEnv(nil)); d != (payloadLimits{output: DefaultMaxOrchestrationOutput, customStatus: DefaultMaxCustomStatus}) {
		t.Errorf("defaults %+v", d)
	}
	orch := func(out string, status string) bindings.Orchestrator {
		return func(ctx bindings.OrchestrationContext) (any, error) {
			if status != "" {
				ctx.SetCustomStatus(status)
			}
			return out, nil
		}
	}
	wrap := func(name string, o bindings.Orchestrator) bindings.Orchestrator { return limitOrchestrator(name, o, l) }
	h := bindingstest.New(t, map[string]any{
		"Small":     wrap("Small", orch("ok", "fine")),
		"BigOutput": wrap("BigOutput", orch(strings.Repeat("x", 200), "")),
		"BigStatus": wrap("BigStatus", orch("ok", strings.Repeat("s", 50))),
	})
	for _, tc := range []struct {
		name, failure string
	}{
		{"Small", ""},
		{"BigOutput", "its output is 202 bytes of JSON; the limit is 100 (" + SettingMaxOrchestrationOutput + ")"},
		{"BigStatus", "a custom status of 52 bytes of JSON is over the limit of 20 (" + SettingMaxCustomStatus + ")"},
	} {
		i := h.Start(tc.name, nil)
		if tc.failure == "" {
			var out string
			if i.Output(&out); i.Status() != bindings.StatusCompleted || out != "ok" {
				t.Errorf("%s: %s %q, want Completed \"ok\"", tc.name, i.Status(), out)
			}
			continue
		}
		if i.Status() != bindings.StatusFailed || !strings.Contains(i.Failure(), tc.failure) {
			t.Errorf("%s: %s %q, want Failed naming %q", tc.name, i.Status(), i.Failure(), tc.failure)
		}
	}
}
