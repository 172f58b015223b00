// Package bindings is what a function author touches: the Go shapes of the
// trigger and input bindings a function declares in its function.json, and
// nothing else.
//
//   - orchestrationTrigger: an Orchestrator, given an OrchestrationContext.
//   - activityTrigger: an Activity, given an ActivityContext.
//   - entityTrigger: an Entity, given an EntityContext; EntityOf makes one
//     from a Go type whose methods are the operations (docs/entities.md).
//   - httpTrigger / http: an ordinary net/http handler.
//   - timerTrigger: a Timer, given TimerInfo; queueTrigger: a QueueTrigger,
//     given a QueueMessage.
//   - orchestrationClient (alias durableClient): a DurableClient, reached from
//     an HTTP handler with Client(r), from other triggers with ClientFrom(ctx).
//   - queue output and blob input/output: AddQueueMessage, Blob, SetBlob.
//
// Orchestrators are replayed from their history, so they must be
// deterministic: take time and GUIDs from the context, do I/O only in
// activities, and wait only on Tasks. cmd/durablevet checks these rules.
//
// The context's scheduling methods return a Task at once; the generic
// helpers (CallActivity, CallSubOrchestrator, WaitForExternalEvent, WhenAll,
// WhenAny, Await) wait for it and decode its result. Calls are adjusted by
// options of one type, Option (WithRetry, WithInstanceID, WithVersion,
// WithStartAt, WithTimeout, PreserveUnprocessedEvents); each says which
// calls take it. Misuse never panics: a call that cannot be scheduled
// returns a failed Task, and SendEvent or ContinueAsNew misuse fails the
// orchestration with a message naming the call.
//
// The durable client reports statuses as RuntimeStatus and conditions as
// the sentinel errors of this package (ErrInstanceExists,
// ErrInstanceNotFound, …); test them with errors.Is.
//
// Package bindingstest unit-tests orchestrators without storage: the real
// engine on an in-memory task hub, stubbed activities and a fake clock.
//
// A sequence of activities:
//
//	func HelloSequence(ctx bindings.OrchestrationContext) (any, error) {
//		var out []string
//		for _, city := range []string{"Tokyo", "Seattle", "London"} {
//			s, err := bindings.CallActivity[string](ctx, "SayHello", city)
//			if err != nil {
//				return nil, err
//			}
//			out = append(out, s)
//		}
//		return out, nil
//	}
package bindings
