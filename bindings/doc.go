// Package bindings is what a function author touches: the Go shapes of the
// trigger and input bindings a function declares in its function.json.
//
//   - orchestrationTrigger: an Orchestrator, given an OrchestrationContext.
//   - activityTrigger: an Activity, given an ActivityContext.
//   - httpTrigger / http: an ordinary net/http handler.
//   - orchestrationClient (alias durableClient): a DurableClient, reached from
//     an HTTP handler with Client(r).
//
// Orchestrators are replayed from their history, so they must be
// deterministic: take time and GUIDs from the context, do I/O only in
// activities, and wait only on Tasks. cmd/durablevet checks these rules.
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
