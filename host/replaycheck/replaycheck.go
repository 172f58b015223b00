// Package replaycheck replays stored orchestration histories against the
// orchestrator code registered now and reports, per instance, whether it
// replays cleanly or where it would break — before a deployment makes the
// running instances find out. It reuses the engine's own replay
// (engine.ReplayHistory), so what it reports as breaking is what the
// runtime would fail with NonDeterministicOrchestrationError; it is
// stricter than the runtime where it can be, reporting as warnings the
// changes replay does not detect: a changed activity or sub-orchestration
// input, a changed timer fire time, a changed sub-orchestration version, a
// step inserted where the instance stands (after the last decision history
// holds).
//
// Histories come from a task hub (FromTaskHub: the app's own, through
// host/durable's LoadSettings and OpenTaskHub), from a running host's
// management API (FromAPI: exact from a funchost host, rebuilt by
// Reconstruct from another host's standard historyEvents), or from files
// exported earlier (ReadDir, ReadFile; WriteFile and Export write them, in
// the dfwire.HistoryExport format). AssertDir is the Go test helper: an app's
// own go test replays the histories it keeps in testdata/. docs/versioning.md
// has the deploy workflow.
package replaycheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/engine"
	sp "github.com/funchost/funchost/storageprovider"
)

// History is one instance's stored history and what is known of it.
type History struct {
	InstanceID    string
	Name          string
	Version       string
	RuntimeStatus string
	// Events are the execution's history events as the task hub stores
	// them.
	Events []*sp.HistoryEvent
	// Source says where the history came from (a task hub, a file, a
	// host's management API).
	Source string
	// Approximate is "" for a history as the task hub stores it; for one
	// rebuilt from Durable Functions' standard historyEvents (Reconstruct)
	// it says what is approximate, and the checker resolves what the
	// rebuild cannot know in the code's favour.
	Approximate string
}

// Warning is a difference the runtime does not detect on replay but that
// changes what the instance does.
type Warning struct {
	SequenceNumber int
	// What names the difference, e.g. "activity input changed".
	What string
	// History and Code are the two values.
	History, Code string
}

func (w Warning) String() string {
	return fmt.Sprintf("sequence number %d: %s: history holds %s, the code asks for %s", w.SequenceNumber, w.What, w.History, w.Code)
}

// Divergence is where replay breaks: what history holds at the sequence
// number and what the code asks for instead.
type Divergence struct {
	SequenceNumber int
	HistoryHolds   string
	CodeAsked      string
}

// Report is the verdict on one history.
type Report struct {
	InstanceID, Name, Version, RuntimeStatus, Source string
	// Approximate is the history's (see History.Approximate).
	Approximate string
	// Divergence is set when the code no longer replays the history.
	Divergence *Divergence
	// Failure is set when the code fails while replaying where history
	// did not fail (an orchestrator missing from this build, a panic, an
	// error returned), or when the history cannot be replayed at all.
	Failure string
	// Warnings are the differences replay does not catch.
	Warnings []Warning
	// Replayed is the number of decisions the code made again.
	Replayed int
	// Next describes what the code would do next, beyond history.
	Next []string
}

// Breaks reports whether the instance would fail on the new code.
func (r *Report) Breaks() bool { return r.Divergence != nil || r.Failure != "" }

// Verdict is "breaks", "warnings" or "clean".
func (r *Report) Verdict() string {
	switch {
	case r.Breaks():
		return "breaks"
	case len(r.Warnings) > 0:
		return "warnings"
	}
	return "clean"
}

// Problem is the one-line reason of a report that is not clean ("" when
// clean).
func (r *Report) Problem() string {
	switch {
	case r.Divergence != nil:
		d := r.Divergence
		return fmt.Sprintf("at sequence number %d history holds %s but the code asks for %s", d.SequenceNumber, d.HistoryHolds, d.CodeAsked)
	case r.Failure != "":
		return r.Failure
	case len(r.Warnings) > 0:
		return r.Warnings[0].String()
	}
	return ""
}

// Checker replays histories against a set of orchestrators.
type Checker struct {
	orchestrators map[string]bindings.Orchestrator // lower-cased names
	opts          Options
}

// Options configure a Checker.
type Options struct {
	// DefaultVersion is the new build's host.json defaultVersion: what the
	// code stamps on sub-orchestrations it starts without WithVersion.
	DefaultVersion string
	// Logger receives the orchestrators' logs (default: discard).
	Logger *slog.Logger
	// Strict makes AssertDir fail on warnings too.
	Strict bool
}

// New returns a checker for the orchestrators among functions (an app's
// handler map, as host.Run and bindingstest take it; other handlers are
// ignored).
func New(functions map[string]any, opts Options) *Checker {
	c := &Checker{orchestrators: map[string]bindings.Orchestrator{}, opts: opts}
	for name, f := range functions {
		switch o := f.(type) {
		case bindings.Orchestrator:
			c.orchestrators[strings.ToLower(name)] = o
		case func(bindings.OrchestrationContext) (any, error):
			c.orchestrators[strings.ToLower(name)] = o
		}
	}
	return c
}

// Check replays one history.
func (c *Checker) Check(h History) Report {
	r := Report{InstanceID: h.InstanceID, Name: h.Name, Version: h.Version, RuntimeStatus: h.RuntimeStatus, Source: h.Source,
		Approximate: h.Approximate}
	start := startOf(h.Events)
	if start != nil {
		if r.Name == "" {
			r.Name = start.Name
		}
		if r.Version == "" {
			r.Version = start.Version
		}
		if r.InstanceID == "" && start.OrchestrationInstance != nil {
			r.InstanceID = start.OrchestrationInstance.InstanceID
		}
	}
	res, err := c.replay(c.orchestrators[strings.ToLower(r.Name)], h)
	if err != nil {
		r.Failure = fmt.Sprintf("cannot replay instance %s: %v", r.InstanceID, err)
		return r
	}
	if d := res.Divergence; d != nil {
		r.Divergence = &Divergence{SequenceNumber: d.SequenceNumber, HistoryHolds: d.HistoryHolds, CodeAsked: d.CodeAsked}
	}
	if f := res.Failure; f != nil && !res.HistoryFailed {
		r.Failure = fmt.Sprintf("the orchestration fails on replay: %s: %s", f.ErrorType, f.ErrorMessage)
	}
	r.Replayed = len(res.Matched)
	for _, d := range res.Matched {
		r.Warnings = append(r.Warnings, warnings(d, h.Approximate != "")...)
	}
	for _, d := range res.Next {
		r.Next = append(r.Next, d.Code)
		if !r.Breaks() {
			// The code that wrote the history recorded every decision of
			// its last episode, so replaying it leaves nothing new: a new
			// decision here is a step the change added where the instance
			// stands. The runtime will just run it.
			r.Warnings = append(r.Warnings, Warning{SequenceNumber: d.SequenceNumber,
				What:    "new step where the instance stands (the code that wrote the history did not make it; the instance will run it next)",
				History: "nothing", Code: d.Code})
		}
	}
	return r
}

// CheckAll replays every history, calling progress (when not nil) after
// each.
func (c *Checker) CheckAll(hs []History, progress func(done, total int)) []Report {
	out := make([]Report, 0, len(hs))
	for i, h := range hs {
		out = append(out, c.Check(h))
		if progress != nil {
			progress(i+1, len(hs))
		}
	}
	return out
}

// warnings compares what the code asks for with what history holds, where
// replay itself does not. A rebuilt (approximate) history does not know
// sub-orchestration versions.
func warnings(d engine.ReplayedDecision, approximate bool) []Warning {
	var ws []Warning
	switch d.Kind {
	case "CallActivity", "CallSubOrchestrator":
		if !sameJSON(d.CodeInput, d.HistoryInput) {
			what := "activity input changed"
			if d.Kind == "CallSubOrchestrator" {
				what = "sub-orchestration input changed"
			}
			ws = append(ws, Warning{SequenceNumber: d.SequenceNumber, What: what + " (" + d.Code + ")",
				History: showPayload(d.HistoryInput), Code: showPayload(d.CodeInput)})
		}
		if d.Kind == "CallSubOrchestrator" && d.CodeVersion != d.HistoryVersion && !(approximate && d.HistoryVersion == "") {
			ws = append(ws, Warning{SequenceNumber: d.SequenceNumber, What: "sub-orchestration version changed (" + d.Code + ")",
				History: fmt.Sprintf("%q", d.HistoryVersion), Code: fmt.Sprintf("%q", d.CodeVersion)})
		}
	case "CreateTimer":
		if !d.CodeFireAt.Equal(d.HistoryFireAt) {
			ws = append(ws, Warning{SequenceNumber: d.SequenceNumber, What: "timer fire time changed",
				History: d.HistoryFireAt.UTC().Format(time.RFC3339Nano), Code: d.CodeFireAt.UTC().Format(time.RFC3339Nano)})
		}
	case "SendEvent":
		if !sameJSON(d.CodeInput, d.HistoryInput) {
			ws = append(ws, Warning{SequenceNumber: d.SequenceNumber, What: "event data changed (" + d.Code + ")",
				History: showPayload(d.HistoryInput), Code: showPayload(d.CodeInput)})
		}
	}
	return ws
}

// sameJSON compares two payloads as JSON (white space aside); text that is
// not JSON compares as is.
func sameJSON(a, b string) bool {
	if a == b {
		return true
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, []byte(a)) != nil || json.Compact(&cb, []byte(b)) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

func showPayload(s string) string {
	if s == "" {
		return "null"
	}
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func startOf(evs []*sp.HistoryEvent) *sp.HistoryEvent {
	for _, ev := range evs {
		if ev != nil && ev.EventType == sp.EventExecutionStarted {
			return ev
		}
	}
	return nil
}

// Summary counts reports by verdict.
type Summary struct {
	Checked, Clean, Warnings, Breaks int
}

// Summarize counts reports by verdict.
func Summarize(reports []Report) Summary {
	s := Summary{Checked: len(reports)}
	for i := range reports {
		switch reports[i].Verdict() {
		case "breaks":
			s.Breaks++
		case "warnings":
			s.Warnings++
		default:
			s.Clean++
		}
	}
	return s
}
