// Package engine is funchost's durable orchestration engine: the replay
// executor that re-runs orchestrators from their event-sourced history, the
// orchestration and activity contexts behind package bindings, and the
// Worker that drives a storageprovider.TaskHub. The replay rules, action
// ids, history shapes and the GUID algorithm it follows are in
// docs/replay.md.
//
// # Execution model
//
// An orchestrator is straight-line Go that blocks on Task.Await. Each
// execution runs its orchestrator in a goroutine of its own; the engine and
// that goroutine hand control back and forth over unbuffered channels, so
// exactly one of them runs at a time. The engine feeds history events one
// by one; whenever the task the orchestrator awaits completes, the
// orchestrator runs until it awaits an incomplete task or returns. Its
// decisions are matched to history by action id; those history does not
// hold yet become new events and messages when the episode ends.
//
// A work item goes through four stages (workitem.go): triage sorts its
// messages against the committed history (a new start, a rewind, ordinary
// events, stale ones); prepare builds the execution — fresh, replayed,
// rewound, or the live one from the session cache; runEpisodes runs the
// first episode and the follow-ups the work item may run (in-process
// activities, ContinueAsNew generations); checkpoint renders new history,
// messages and status row for the task hub's one atomic commit. A parked
// execution is kept in the session cache or torn down: its goroutine is
// woken with a kill flag and leaves through runtime.Goexit, so executions
// never leak goroutines.
//
// Everything the engine records is stamped by one clock, Options.Clock
// (default time.Now), truncated to 100 ns.
//
// # Files
//
//   - worker.go: Options, Worker (dispatch loops, commit, abandon);
//     renew.go: lock renewal; registry.go: Registry; cache.go: the
//     session cache.
//   - workitem.go: the processor and its stages; starts.go: start messages
//     (normalising, duplicates, refused sub-orchestration starts);
//     history.go: reading a committed history (outcome, rewind, status
//     repair).
//   - execution.go: an execution's replay state and how it applies events;
//     coroutine.go: the hand-off with the orchestrator goroutine;
//     episode.go: ending an episode (new events, messages, completion,
//     status row, the open-call bound); actions.go: the decisions and how
//     they are named.
//   - context.go: bindings.OrchestrationContext; task.go: bindings.Task;
//     whenall.go: WhenAll and WhenAny; retry.go: retry policies;
//     logging.go: the replay-safe logger; guid.go: NewGUID; stableids.go:
//     the IDs the engine chooses for children and entity requests.
//   - activity.go: bindings.ActivityContext and activity work items;
//     local.go: the in-process activity runner.
//   - clock.go: the engine clock; observer.go: Observer, the lifecycle
//     events the engine reports (docs/observability.md), and
//     observer_entity.go those of entities; tracectx.go: the
//     W3C trace context it keeps in history for distributed tracing.
//   - entity.go: entity work items (one batch of operations, one
//     commit); entitycontext.go: bindings.EntityContext; entityrecent.go:
//     the duplicate-request record; entityorch.go: entity calls, signals
//     and critical sections of orchestrations (docs/entities.md).
//   - versioning.go: the orchestration version check before code runs
//     (Options.Versioning; docs/versioning.md); offline.go: ReplayHistory,
//     replay of a stored history without a task hub (the replay checker).
//   - guard_*.go: the runtime guards (docs/guards.md): the goroutine
//     binding (guard_goroutine.go: enter), stuck orchestrators and the
//     episode timeout (guard_stuck.go), panics in user code
//     (guard_panic.go: runUser), the action limit (guard_actions.go).
//
// # Messages the engine understands
//
// Besides activity results, timers, external events and sub-orchestration
// notices, an orchestration work item may carry ExecutionTerminated,
// ExecutionSuspended, ExecutionResumed and ExecutionRewound (for a Failed
// instance); docs/replay.md says what each does. Messages for terminal
// instances are dropped (except a rewind of a Failed instance and a new
// ExecutionStarted), as are messages addressed to another ExecutionId and
// second ExecutionStarted messages for a running execution. Events for an
// instance that has no history and no start in the work item are handed
// back (abandoned with back-off) up to maxStartWaitDeliveries times rather
// than dropped: its start may be locked by a host that died
// (workitem.go: awaitsStart). A work item delivered more than
// MaxDequeueCount times fails its instance (poison).
//
// # In-process activities
//
// With Options.LocalActivities, an episode whose only new decisions are
// activity calls has them run in-process by the work item's own goroutine;
// the next episode runs inside the same work item, which commits once at
// the end, and history keeps the shape a queued run gives. Every running
// activity, in-process or from an activity work item, holds a slot of one
// worker-wide semaphore of MaxConcurrentActivities slots. A work item stops
// starting activities in-process after MaxLocalActivities calls or
// MaxLocalActivityTime, when its lock is lost, or when the worker stops;
// the calls not run are committed as activity messages.
//
// # Worker
//
// NewWorker(hub, registry, options) builds a Worker; Start launches the
// dispatch loops; Stop stops fetching, cancels the activities' context (an
// activity that then fails is abandoned, not reported), waits for in-flight
// work items and tears down cached sessions. The Worker neither starts nor
// stops the task hub: the caller starts it before Worker.Start and stops it
// after Worker.Stop.
//
// # Known limitations
//
//   - Rewind assumes, as Durable Functions does, that the failures it
//     removes ended the orchestration (see docs/replay.md).
//   - In-process activities of one episode all run to completion before
//     their results are applied (in the order they finished), so a WhenAny
//     over them picks the first to finish but only once all have.
package engine
