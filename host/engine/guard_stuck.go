package engine

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// Stuck orchestrators (docs/guards.md, "Stuck orchestrators"): an
// orchestrator that does not hand control back in time — it blocks on a
// channel, a lock, time.Sleep or I/O, or loops without awaiting — cannot be
// stopped (Go has no way to kill a goroutine), but its work item can.
//
//   - Yield timeout (Options.OrchestratorYieldTimeout): one run of the
//     orchestrator, from a resume to its next yield, takes longer. The
//     instance fails, with the orchestrator goroutine's stack in the
//     message: the code is deterministic, so a replay would block at the
//     same place again.
//   - Episode timeout (Options.OrchestratorEpisodeTimeout, host.json
//     functionTimeout): the orchestrator code of one episode (its replay
//     included) runs longer in all. As Durable Functions does, the episode
//     is aborted and the work item abandoned, to be retried; the poison
//     check (MaxDequeueCount) fails an instance that never gets through.
//
// Either way the execution is abandoned: the baton is taken away, so any
// later call of the goroutine is refused; the engine unwinds from run (a
// stuckSignal panic that process catches) and never touches the
// execution's state again, so nothing the goroutine does can reach a
// checkpoint; the goroutine, if it ever yields or returns, leaves through
// runtime.Goexit. Worker.StuckOrchestrators counts the abandoned
// goroutines still running.

// orchestrationLabel is the pprof label that names an orchestrator
// goroutine, so that its stack can be found in a goroutine profile.
const orchestrationLabel = "funchost.orchestration"

// labelSeq makes each execution's label unique.
var labelSeq atomic.Uint64

// stuckSignal unwinds the engine from an abandoned execution's run.
type stuckSignal struct {
	e       *execution
	failure *sp.FailureDetails
	retry   bool // the episode timeout: abandon the work item
}

// labelGoroutine labels the orchestrator goroutine (it calls this first)
// when a timeout may need its stack.
func (e *execution) labelGoroutine() {
	if e.lim.yieldTimeout <= 0 && e.lim.episodeTimeout <= 0 {
		return
	}
	e.label = fmt.Sprintf("%s#%d", e.instanceID, labelSeq.Add(1))
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(orchestrationLabel, e.label)))
}

// armEpisode starts the episode timeout's clock (the wall clock: it
// guards real time) unless it runs already for this work item.
func (e *execution) armEpisode() {
	if e.lim.episodeTimeout > 0 && !e.armed {
		e.episodeDeadline = time.Now().Add(e.lim.episodeTimeout)
		e.armed = true
	}
}

// waitYield waits for the orchestrator goroutine to yield, within the
// timeouts; past one it abandons the execution (and does not return).
func (e *execution) waitYield() {
	d, episode := e.lim.yieldTimeout, false
	if e.armed {
		if left := time.Until(e.episodeDeadline); d <= 0 || left < d {
			d, episode = max(left, time.Millisecond), true
		}
	}
	if d <= 0 {
		<-e.yieldCh
		return
	}
	if e.watch == nil {
		e.watch = time.NewTimer(d)
	} else {
		e.watch.Reset(d)
	}
	select {
	case <-e.yieldCh:
		e.watch.Stop()
	case <-e.watch.C:
		e.abandon(episode)
	}
}

// abandon gives up on a stuck orchestrator goroutine and unwinds the
// engine with its failure.
func (e *execution) abandon(episode bool) {
	e.bat.mu.Lock()
	e.bat.held, e.bat.closed = false, true
	e.bat.mu.Unlock()
	e.stuck = true
	close(e.abandoned)
	if e.lim.stuck != nil {
		e.lim.stuck.Add(1)
	}
	stack := goroutineStack(e.label)
	var msg string
	if episode {
		msg = fmt.Sprintf("Timeout value of %s was exceeded by function: %s (the orchestrator code of one episode, host.json functionTimeout); the episode is aborted and will be retried. The orchestrator goroutine is at:\n%s",
			e.lim.episodeTimeout, e.name, stack)
	} else {
		msg = fmt.Sprintf("orchestrator '%s' did not yield within %s (host.json extensions.durableTask.orchestratorYieldTimeout): "+
			"it blocks or loops without awaiting a durable task. Orchestrator code must wait only through its context "+
			"(CreateTimer instead of time.Sleep, WaitForExternalEvent instead of channels, activities for I/O and locks). "+
			"The orchestrator goroutine is at:\n%s", e.name, e.lim.yieldTimeout, stack)
	}
	e.baseLogger.Error("orchestrator goroutine stuck; its execution is abandoned", "instanceId", e.instanceID, "orchestrator", e.name, "error", msg)
	panic(&stuckSignal{e: e, retry: episode, failure: &sp.FailureDetails{ErrorType: "OrchestratorStuck", ErrorMessage: msg, StackTrace: stack, IsNonRetriable: true}})
}

// leaveAbandoned ends an abandoned goroutine that came back (main's
// deferred call and await call it when the engine no longer listens).
func (e *execution) leaveAbandoned() {
	if e.lim.stuck != nil {
		e.lim.stuck.Add(-1)
	}
	runtime.Goexit()
}

// goroutineStack returns the stack of the orchestrator goroutine labelled
// label, from a goroutine profile: the block with that label whose frames
// include execution.main (goroutines it started carry the label too).
func goroutineStack(label string) string {
	if label == "" {
		return "(unknown: the goroutine was not labelled)"
	}
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return fmt.Sprintf("(unavailable: %v)", err)
	}
	want := fmt.Sprintf("# labels: {%q:%q}", orchestrationLabel, label)
	for _, block := range strings.Split(buf.String(), "\n\n") {
		if !strings.Contains(block, want) || !strings.Contains(block, "(*execution).main") {
			continue
		}
		var frames []string
		for _, line := range strings.Split(block, "\n") {
			if f, ok := strings.CutPrefix(line, "#\t"); ok {
				frames = append(frames, strings.Join(strings.Fields(f)[1:], " "))
			}
		}
		return strings.Join(frames, "\n")
	}
	return "(not found in the goroutine profile)"
}

// stuckCheckpoint is the checkpoint of a work item whose orchestrator got
// stuck on the yield timeout: the instance fails. It reads only what the
// engine alone writes (the execution's identity, start and history) and
// the work item.
func (p *processor) stuckCheckpoint(wi *sp.OrchestrationWorkItem, pl *plan, s *stuckSignal) *sp.OrchestrationCheckpoint {
	now := p.clock.now()
	x := s.e
	f := &execution{instanceID: x.instanceID, executionID: x.executionID, name: x.name, started: x.started}
	if wi.State != nil && wi.State.ExecutionID == x.executionID {
		f.customStatus = wi.State.CustomStatus
	}
	f.fail(s.failure)
	f.obs, f.hub, f.now = x.obs, x.hub, now
	f.emitEpisodeEnd() // the lifecycle log's Failed event
	cp := &sp.OrchestrationCheckpoint{OutboundMessages: pl.rejections, State: f.state(now)}
	done := sp.NewExecutionCompletedEvent(now, nextActionID(x.history), sp.StatusFailed, f.output, s.failure)
	switch committed := pl.hi.start != nil && pl.hi.executionID == x.executionID; {
	case committed && pl.hi.completed:
		// A rewind that got stuck: the history keeps its failure.
	case committed:
		cp.NewEvents = []*sp.HistoryEvent{sp.NewOrchestratorStartedEvent(now), done, sp.NewOrchestratorCompletedEvent(now)}
	default: // a new execution (a start, or a ContinueAsNew generation)
		cp.ReplaceHistory = true
		cp.NewEvents = []*sp.HistoryEvent{sp.NewOrchestratorStartedEvent(now), x.started.Clone(), done, sp.NewOrchestratorCompletedEvent(now)}
	}
	if pi := x.started.ParentInstance; pi != nil && pi.OrchestrationInstance != nil {
		cp.OutboundMessages = append(cp.OutboundMessages, parentNotice(pi, sp.StatusFailed, f.output, s.failure, x.name, x.instanceID, now))
	}
	return cp
}

// nextActionID is the action id after the last decision in hist.
func nextActionID(hist []*sp.HistoryEvent) int {
	next := 0
	for _, ev := range hist {
		switch ev.EventType {
		case sp.EventTaskScheduled, sp.EventTimerCreated, sp.EventSubOrchestrationInstanceCreated, sp.EventEventSent:
			next = max(next, ev.EventID+1)
		}
	}
	return next
}
