package dfwire_test

import (
	"encoding/json"
	"time"

	"github.com/funchost/funchost/host/dfwire"
	sp "github.com/funchost/funchost/storageprovider"
)

// statusRow is a status row as the task hub keeps it: payloads as stored
// text, which the status object shows through dfwire.Payload.
type statusRow struct {
	name, id, status      string
	input, custom, output string
	created, updated      time.Time
	version               string
	history               []json.RawMessage
}

// oldStatus is the row as the status object was built before the text
// path: every payload through Payload into a json.RawMessage.
func (r statusRow) oldStatus() *dfwire.Status {
	return &dfwire.Status{Name: r.name, InstanceID: r.id, RuntimeStatus: r.status,
		Input: dfwire.Payload(r.input), CustomStatus: dfwire.Payload(r.custom), Output: dfwire.Payload(r.output),
		CreatedTime: r.created, LastUpdatedTime: r.updated, Version: r.version, HistoryEvents: r.history}
}

type statusWireCase struct {
	name string
	row  statusRow
}

// statusWireCases covers what a status object can hold: each kind of
// stored payload text, custom status, a failure, history, version, and
// names and payloads that need escaping.
func statusWireCases() []statusWireCase {
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 999999999, time.UTC)
	t1 := time.Date(2024, 1, 2, 4, 4, 5, 0, time.FixedZone("x", 3600))
	row := func(status, input, custom, output string) statusRow {
		return statusRow{name: "Hello", id: "abc", status: status, input: input, custom: custom, output: output, created: t0, updated: t1}
	}
	hist := dfwire.MarshalHistory(dfwire.History([]*sp.HistoryEvent{
		sp.NewExecutionStartedEvent(t0, sp.OrchestrationInstance{InstanceID: "abc", ExecutionID: "e"}, "Hello", "", `{"city":"Tōkyō <&>"}`),
		sp.NewTaskScheduledEvent(t0, 0, "SayHello", "", `"Tokyo"`),
		sp.NewTaskCompletedEvent(t1, 0, `"Hello Tokyo!"`),
		sp.NewExecutionCompletedEvent(t1, 1, sp.StatusCompleted, `["x"]`, nil),
	}, true, true))
	withHistory := row("Completed", `{"city":"Tōkyō <&>"}`, "", `["x"]`)
	withHistory.history = hist
	withVersion := row("Running", `1`, "", "")
	withVersion.version = "2.0-beta"
	escaped := row("Completed", `{"s":"\u00e9\n\"q\"","e":"é😀","h":"<b>&amp;</b>"}`, `"\u2028"`, "not JSON: é😀 \x01 \xff \"q\" <&>\u2028")
	escaped.name, escaped.id = "Héllo\u2028\"<&>", "id with spaces/\"quotes\"\t\x01"
	return []statusWireCase{
		{"valid JSON input and output", row("Completed", `{"a":[1,2,{"b":null}],"c":"d"}`, "", `"done"`)},
		{"JSON with surrounding whitespace", row("Completed", " \n{\"a\" : 1}\t ", "", "  42  ")},
		{"JSON scalars", row("Completed", `true`, `null`, `-1.5e3`)},
		{"non-JSON text", row("Completed", `not json <&> "q"`, "", `{"unterminated":`)},
		{"empty payloads", row("Pending", "", "", "")},
		{"whitespace-only payloads", row("Completed", " ", "\n\t", " \r\n ")},
		{"custom status", row("Running", `{"n":1}`, `{"step": 2, "note": "<b>"}`, "")},
		{"custom status not JSON", row("Running", `{"n":1}`, `step two`, "")},
		{"failure message", row("Failed", `{"n":1}`, "", `"Orchestrator function 'Hello' failed: boom"`)},
		{"failure details object", row("Failed", `{"n":1}`, "", `{"ErrorType":"E","ErrorMessage":"boom","StackTrace":"at x\n at y"}`)},
		{"terminated with reason", row("Terminated", `{"n":1}`, "", `"stopped by operator"`)},
		{"history present", withHistory},
		{"version", withVersion},
		{"unicode and escapes", escaped},
	}
}
