package telemetry

import (
	"regexp"
	"strings"
	"testing"

	sp "github.com/funchost/funchost/storageprovider"
)

// count returns how many messages match re.
func count(msgs []string, re string) int {
	r := regexp.MustCompile(re)
	n := 0
	for _, m := range msgs {
		if r.MatchString(m) {
			n++
		}
	}
	return n
}

func TestLifecycleLogs(t *testing.T) {
	t.Parallel()
	const id = `^[0-9a-f]{32}: `
	tests := []struct {
		name         string
		orchestrator string
		local        bool
		opts         LogOptions
		status       sp.OrchestrationStatus
		// want maps a pattern to the number of lifecycle lines matching it.
		want map[string]int
	}{
		{name: "sequence, defaults", orchestrator: "HelloSequence", status: sp.StatusCompleted, want: map[string]int{
			id + `Function 'HelloSequence \(Orchestrator\)' started\. IsReplay: False\. Input: \(Redacted 0 characters\)\. State: Started\. RuntimeStatus: Running\. HubName: \S+\. AppName: \. SlotName: \. ExtensionVersion: .+\. SequenceNumber: \d+\. TaskEventId: -1$`: 1,
			id + `Function 'SayHello \(Activity\)' scheduled\. Reason: HelloSequence\. IsReplay: False\. State: Scheduled\. RuntimeStatus: Pending\.`:                                                                                                                       3,
			id + `Function 'SayHello \(Activity\)' started\. IsReplay: False\. Input: \(Redacted 7 characters\)\. .* TaskEventId: 0$`:                                                                                                                                       1,
			id + `Function 'SayHello \(Activity\)' completed\. ContinuedAsNew: False\. IsReplay: False\. Output: \(Redacted 15 characters\)\. .*TaskEventId: 2$`:                                                                                                            1,
			id + `Function 'HelloSequence \(Orchestrator\)' awaited\. IsReplay: False\. State: Awaited\.`:                                                                                                                                                                   3,
			id + `Function 'HelloSequence \(Orchestrator\)' completed\. ContinuedAsNew: False\. IsReplay: False\. Output: \(Redacted \d+ characters\)\. State: Completed\. RuntimeStatus: Completed\.`:                                                                      1,
			`IsReplay: True`: 0,
		}},
		{name: "replay events traced", orchestrator: "HelloSequence", opts: LogOptions{TraceReplayEvents: true}, status: sp.StatusCompleted, want: map[string]int{
			`'HelloSequence \(Orchestrator\)' started\. IsReplay: True\.`:                3,
			`'SayHello \(Activity\)' scheduled\. Reason: HelloSequence\. IsReplay: True`: 6, // 1+2+3 replayed calls
		}},
		{name: "inputs and outputs traced", orchestrator: "HelloSequence", local: true, opts: LogOptions{TraceInputsAndOutputs: true}, status: sp.StatusCompleted, want: map[string]int{
			`'SayHello \(Activity\)' started\. IsReplay: False\. Input: "Tokyo"\.`:                                    1,
			`'SayHello \(Activity\)' completed\. ContinuedAsNew: False\. IsReplay: False\. Output: "Hello London!"\.`: 1,
			`Redacted`: 0,
		}},
		{name: "failed orchestration", orchestrator: "Failing", status: sp.StatusFailed, want: map[string]int{
			`'Boom \(Activity\)' failed with an error\. Reason: \*errors\.errorString\. IsReplay: False\. State: Failed\. RuntimeStatus: Failed\.`:                                1,
			`'Failing \(Orchestrator\)' failed with an error\. Reason: \*bindings\.TaskFailedError\. IsReplay: False\. State: Failed\. RuntimeStatus: Failed\..*TaskEventId: -1$`: 1,
		}},
		{name: "failed orchestration, full reasons", orchestrator: "Failing", opts: LogOptions{TraceInputsAndOutputs: true}, status: sp.StatusFailed, want: map[string]int{
			`'Boom \(Activity\)' failed with an error\. Reason: \*errors\.errorString: boom\.`:              1,
			`'Failing \(Orchestrator\)' failed with an error\. Reason: \*bindings\.TaskFailedError: .*boom`: 1,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			log, buf := newTestLogger()
			st := runOne(t, New(Options{Logger: log, Logs: tc.opts}), tc.orchestrator, tc.local)
			if st.RuntimeStatus != tc.status {
				t.Fatalf("status %v, want %v", st.RuntimeStatus, tc.status)
			}
			msgs := buf.messages(t, CategoryDurableTask)
			for re, n := range tc.want {
				if got := count(msgs, re); got != n {
					t.Errorf("%d lines match %q, want %d; lines:\n%s", got, re, n, strings.Join(msgs, "\n"))
				}
			}
		})
	}
}

func TestLifecycleFields(t *testing.T) {
	t.Parallel()
	log, buf := newTestLogger()
	runOne(t, New(Options{Logger: log, Logs: LogOptions{AppName: "myapp"}}), "Failing", false)
	var failed map[string]any
	for _, m := range buf.lines(t) {
		if m["functionName"] == "Failing" && m["state"] == "Failed" {
			failed = m
		}
	}
	if failed == nil {
		t.Fatal("no Failed line for the orchestration")
	}
	want := map[string]any{"level": "ERROR", CategoryKey: CategoryDurableTask, "functionType": "Orchestrator", "runtimeStatus": "Failed",
		"isReplay": false, "appName": "myapp", "reason": "*bindings.TaskFailedError", "taskEventId": float64(-1)}
	for k, v := range want {
		if failed[k] != v {
			t.Errorf("field %s = %v, want %v (line %v)", k, failed[k], v, failed)
		}
	}
	for _, k := range []string{"instanceId", "executionId", "hubName", "sequenceNumber", "extensionVersion"} {
		if _, ok := failed[k]; !ok {
			t.Errorf("field %s missing (line %v)", k, failed)
		}
	}
}

func TestOrchestratorInvocationLogs(t *testing.T) {
	t.Parallel()
	log, buf := newTestLogger()
	runOne(t, New(Options{Logger: log}), "HelloSequence", false)
	msgs := buf.messages(t, "Function.HelloSequence")
	// One invocation per episode: the start and one per activity result.
	if n := count(msgs, `^Executing 'Functions\.HelloSequence' \(Reason='\(null\)', Id=[0-9a-f-]{36}\)$`); n != 4 {
		t.Errorf("%d Executing lines, want 4: %q", n, msgs)
	}
	if n := count(msgs, `^Executed 'Functions\.HelloSequence' \(Succeeded, Id=[0-9a-f-]{36}, Duration=\d+ms\)$`); n != 4 {
		t.Errorf("%d Executed lines, want 4: %q", n, msgs)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "(Redacted 0 characters)", `"Tokyo"`: "(Redacted 7 characters)", `"é😀"`: "(Redacted 5 characters)"} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
