package bindings

import (
	"strings"
	"testing"
)

// TestNonDeterministicMessage: the message names the divergence, the
// likely cause and the remedy, and both versions when the worker has one.
func TestNonDeterministicMessage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      NonDeterministicOrchestrationError
		want     []string
		wantNone string
	}{
		{"versioning off", NonDeterministicOrchestrationError{InstanceID: "i1", SequenceNumber: 2, HistoryHolds: `TaskScheduled "A"`, CodeAsked: `CallActivity "B"`},
			[]string{`"i1"`, "sequence number 2", `history holds TaskScheduled "A" but the code asked for CallActivity "B"`,
				"the orchestrator code changed while this instance was running", "version the change", "drain in-flight instances", "docs/versioning.md"},
			"worker version"},
		{"versioning on", NonDeterministicOrchestrationError{InstanceID: "i1", SequenceNumber: 0, HistoryHolds: "TimerCreated", CodeAsked: "nothing",
			InstanceVersion: "1.0", WorkerVersion: "2.0"},
			[]string{`Instance version "1.0", worker version "2.0"`}, ""},
		{"unversioned instance", NonDeterministicOrchestrationError{InstanceID: "i1", WorkerVersion: "2.0"},
			[]string{`Instance version "", worker version "2.0"`}, ""},
	} {
		msg := tc.err.Error()
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message %q lacks %q", tc.name, msg, w)
			}
		}
		if tc.wantNone != "" && strings.Contains(msg, tc.wantNone) {
			t.Errorf("%s: message %q has %q", tc.name, msg, tc.wantNone)
		}
	}
}
