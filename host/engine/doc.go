// Package engine is funchost's durable orchestration engine: the replay
// executor that re-runs orchestrators from their event-sourced history, the
// orchestration and activity contexts function authors program against, and
// the Worker that drives a storageprovider.TaskHub.
//
// # Execution model
//
// An orchestrator is straight-line Go that blocks on Task.Await. Each
// orchestration execution runs its orchestrator in a goroutine of its own;
// the engine and that goroutine hand control back and forth over unbuffered
// channels so that exactly one of them runs at a time. The engine feeds
// history events one by one; whenever the task the orchestrator awaits has
// completed, the orchestrator runs until it awaits an incomplete task or
// returns. Decisions (activity calls, timers, sub-orchestrations, events
// sent) take action ids from one counter per replay and are matched to the
// scheduling events in history by EventId (shared/reference
// dtfx-azure-storage.md §7.3); decisions history does not hold yet become
// new history events and messages.
//
// A parked execution (goroutine blocked in Await) is either kept in the
// Worker's session cache, so the next work item for the instance runs only
// its new events, or torn down: the goroutine is woken with a kill flag and
// leaves through runtime.Goexit, so executions never leak goroutines.
//
// # Deterministic GUIDs
//
// NewGUID composes the name "{instanceId}_{CurrentUTCDateTime in
// 2006-01-02T15:04:05.0000000Z}_{counter}" and hashes it as an RFC 4122
// version-5 UUID under the namespace of the Durable Functions in-process
// extension, 9e952959-5e33-4daf-827f-2fa12937b875 (GUIDNamespace). The
// counter starts at 0 for every replay of an execution. Sub-orchestrations
// started without an explicit instance ID get such a GUID without dashes.
//
// # Messages the engine understands
//
// Besides activity results, timers, external events and sub-orchestration
// notices, an orchestration work item may carry these management messages
// (Target.ExecutionID "" = the current execution):
//
//   - EventExecutionTerminated{Input: reason JSON}: the instance completes as
//     Terminated with the reason as output, even while suspended; its parent
//     gets SubOrchestrationInstanceFailed.
//   - EventExecutionSuspended / EventExecutionResumed{Reason}: while suspended
//     every other event is recorded but held, and processed in order on
//     resume. The status row says Suspended.
//   - EventExecutionRewound{Reason}: for a Failed instance only. The failed
//     TaskScheduled/TaskFailed pairs, retry timers, SubOrchestrationInstanceFailed
//     events and the Failed completion are dropped from history, failed
//     children are sent a rewind themselves, and the orchestrator is replayed
//     so that the failed work runs again. The history is committed with
//     ReplaceHistory.
//
// Messages for terminal instances are dropped (except a rewind of a Failed
// instance and an ExecutionStarted of a new execution); messages addressed
// to another ExecutionId are stale and dropped, as are second
// ExecutionStarted messages for a running execution.
//
// # In-process activities
//
// With Options.LocalActivities, an episode whose only new decisions are
// activity calls (any number) has them run in-process by the work item's
// own goroutine, then the next episode runs inside the same work item,
// which commits once at the end; history keeps the shape a queued run
// gives (the TaskScheduled events in the episode that decided them, the
// results in a following OrchestratorStarted … OrchestratorCompleted
// episode). Every running activity, in-process or from an activity work
// item, holds a slot of one worker-wide semaphore of
// MaxConcurrentActivities slots; an activity work item waits for its
// slot with its lock renewed. The orchestration work item's lock is
// renewed while it runs. A work item stops starting activities
// in-process after MaxLocalActivities calls or MaxLocalActivityTime (by
// default half its lock time), when the lock is lost, or when the worker
// stops: the results so far become an episode, and the calls not run are
// committed as ActivityMessages, whose results arrive as messages later.
//
// # Worker
//
// NewWorker(hub, registry, options) builds a Worker; Start launches
// MaxConcurrentOrchestrations orchestration loops and
// MaxConcurrentActivities activity loops; Stop stops fetching, cancels the
// activities' context (an activity that then fails is abandoned, not
// reported), waits for in-flight work items and tears down cached
// sessions. The Worker neither starts nor stops the task hub: the caller
// starts it before Worker.Start and stops it after Worker.Stop.
//
// Each checkpoint carries the full status row: Running while the
// orchestrator waits, Suspended, or the final Completed / Failed /
// Terminated (ContinuedAsNew only when a chain of generations is handed
// over to a fresh work item after maxGenerationsPerWorkItem). CreatedTime
// is the ExecutionStarted timestamp; a Failed instance's Output is the JSON
// string "Orchestrator function '<name>' failed: <message>" and its
// FailureDetails are set; a Terminated instance's Output is the reason.
// ContinueAsNew carries the custom status over to the next generation.
//
// # Known limitations
//
//   - Rewind assumes, as Durable Functions does, that the failures it
//     removes ended the orchestration: a failure the orchestrator caught
//     and moved past is re-run too, and later decisions may then be
//     reported as non-deterministic.
//   - In-process activities of one episode all run to completion before
//     their results are applied (in the order they finished), so a WhenAny
//     over them picks the first to finish but only once all have.
//
// # Retries
//
// A call with a retry policy follows DTFx's RetryInterceptor history
// shape (shared/reference dtfx-azure-storage.md §7.7): a durable timer
// between attempts, new action ids per attempt, and one extra timer firing
// at once after the last allowed attempt fails. A failure whose
// FailureDetails are marked non-retriable (poison messages,
// non-determinism, an instance ID in use) ends the retries at once.
//
// # Sub-orchestration ID conflicts and rewound children
//
// A sub-orchestration started with the explicit ID of an instance that is
// running (or Pending) fails the parent's call with a TaskFailedError of
// type OrchestrationAlreadyExists; a redelivered start, or one re-sent by
// the very call that started the child, is dropped as a duplicate. A
// rewind that reaches a child that did not fail (it was terminated, or it
// completed) makes the child re-send its outcome to its parent, which
// waits for it again after its own rewind: a terminated child fails the
// rewound parent's call again instead of leaving it waiting forever.
package engine
