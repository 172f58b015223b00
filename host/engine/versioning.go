package engine

import (
	"context"

	"github.com/funchost/funchost/internal/version"
	sp "github.com/funchost/funchost/storageprovider"
)

// Orchestration versioning (docs/versioning.md): every work item that would
// run orchestrator code is checked against the worker's version before the
// code runs. An instance the worker may not run is either left for another
// worker (Reject: the work item is abandoned with the usual back-off and
// nothing is recorded) or failed with VersionMismatch (Fail), as Durable
// Functions does.

// version returns the orchestration version of the execution the plan
// runs: a new start's, else the committed one's.
func (pl *plan) version() string {
	switch {
	case pl.newStart != nil:
		return pl.newStart.Version
	case pl.hi.start != nil:
		return pl.hi.start.Version
	}
	return ""
}

// checkVersion applies the worker's versioning settings to a plan that
// runs code: reject says to abandon the work item untouched; a non-nil
// failure fails the instance at its start without running its code.
func (p *processor) checkVersion(pl *plan) (reject bool, failure *sp.FailureDetails) {
	v := pl.version()
	if p.versioning.Allows(v) {
		return false, nil
	}
	if p.versioning.Failure == version.FailReject {
		return true, nil
	}
	return false, versionMismatch(p.versioning, v)
}

// versionMismatch is the failure of an instance failed under the Fail
// strategy: Durable Functions' ErrorType and message, followed by which
// versions disagreed.
func versionMismatch(s version.Settings, v string) *sp.FailureDetails {
	return &sp.FailureDetails{ErrorType: version.MismatchErrorType, IsNonRetriable: true,
		ErrorMessage: version.MismatchMessage + ": " + s.Explain(v)}
}

// rejectOrchestration gives back a work item whose instance version this
// worker may not run, logging which versions disagree. On a task hub that
// can (sp.Rejecter) the rejection does not count toward the poison
// threshold, so an instance may wait out a rolling deployment of any
// length; elsewhere it is an ordinary abandon. The back-off grows with the
// deliveries, rejected ones included (2 s, 4 s, … up to 10 minutes), so a
// worker that keeps owning the instance's partition does not spin on it.
func (w *Worker) rejectOrchestration(ctx context.Context, wi *sp.OrchestrationWorkItem, instanceVersion string) {
	delay := sp.AbandonBackoff(wi.DequeueCount+wi.Rejections, maxAbandonDelay)
	vs := w.opts.Versioning
	w.log.Warn("orchestration work item rejected by versioning; leaving it for a worker that may run it",
		"instanceId", wi.InstanceID, "instanceVersion", instanceVersion, "workerVersion", vs.Default,
		"versionMatchStrategy", vs.Match.String(), "reason", vs.Explain(instanceVersion),
		"retryAfter", delay.String(), "dequeueCount", wi.DequeueCount, "rejections", wi.Rejections)
	giveBack := w.hub.AbandonOrchestrationWorkItem
	if r, ok := w.hub.(sp.Rejecter); ok {
		giveBack = r.RejectOrchestrationWorkItem
	}
	if err := giveBack(ctx, wi, delay); err != nil {
		w.log.Warn("abandoning a rejected orchestration work item failed", "instanceId", wi.InstanceID, "error", err)
	}
}
