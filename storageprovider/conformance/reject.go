package conformance

import sp "github.com/funchost/funchost/storageprovider"

// testReject: a work item given back with RejectOrchestrationWorkItem (as
// orchestration versioning's Reject does) comes back with the same
// messages, once each, its DequeueCount unchanged and its Rejections one
// higher, however often; an abandon still counts; a commit consumes the
// messages for good.
func testReject(s *suite) {
	r, ok := s.hub.(sp.Rejecter)
	if !ok {
		s.t.Fatalf("%T does not implement storageprovider.Rejecter: versioning's rejections would count toward the poison threshold", s.hub)
	}
	id := uniqueID("reject")
	start := s.create(id, "Orch", `null`)
	const rejections = 4
	for i := range rejections {
		wi := s.lockFor(id)
		if wi.DequeueCount != 1 || wi.Rejections != i {
			s.t.Errorf("delivery %d after %d rejections: DequeueCount %d, Rejections %d; want 1, %d", i+1, i, wi.DequeueCount, wi.Rejections, i)
		}
		if len(wi.NewMessages) != 1 || wi.NewMessages[0].Target.ExecutionID != start.Target.ExecutionID {
			s.t.Fatalf("delivery %d: messages %s, want the start message once", i+1, describe(wi.NewMessages))
		}
		if err := r.RejectOrchestrationWorkItem(s.waitCtx(), wi, 0); err != nil {
			s.t.Fatalf("RejectOrchestrationWorkItem(%s): %v", id, err)
		}
	}
	wi := s.lockFor(id)
	if wi.DequeueCount != 1 || wi.Rejections != rejections || len(wi.NewMessages) != 1 {
		s.t.Errorf("after %d rejections: DequeueCount %d, Rejections %d, %d messages; want 1, %d, 1", rejections, wi.DequeueCount, wi.Rejections, len(wi.NewMessages), rejections)
	}
	s.abandon(wi, 0)
	wi = s.lockFor(id)
	if wi.DequeueCount != 2 || wi.Rejections != rejections {
		s.t.Errorf("after an abandon: DequeueCount %d, Rejections %d; want 2, %d", wi.DequeueCount, wi.Rejections, rejections)
	}
	s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi), State: running(wi, "")})
	s.expectNoWorkItem("after the rejected messages were committed")
	if h := s.history(id); len(h) != 3 {
		s.t.Errorf("history has %d events, want 3 (rejections commit nothing)", len(h))
	}
}
