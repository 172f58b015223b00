package engine

import (
	"fmt"
	"runtime/debug"

	"github.com/funchost/funchost/internal/payload"
	sp "github.com/funchost/funchost/storageprovider"
)

// Panics in user code (docs/guards.md, "Panics"): a panic in an
// orchestrator, an activity or an entity operation fails that one
// instance or task, with the panic value and the stack in its failure
// details; it never reaches a worker loop. User code the engine calls on
// its own goroutines (serialising an activity's result, an error's Error
// method) runs under runUser too, and what an orchestrator returns is
// serialised on the orchestrator's goroutine, where a panic or a block is
// the orchestration's own.

// runUser runs user code fn on the calling goroutine and turns a panic in
// it into the FailureDetails of that one task: ErrorType "panic", a
// message "<what> panicked: <value>" and the stack of the panic. what
// names the code, e.g. "activity 'Hello'". It returns nil when fn returns.
// Activity runs use it; entity operations should too.
func runUser(what string, fn func()) (fd *sp.FailureDetails) {
	defer func() {
		if r := recover(); r != nil {
			fd = panicFailure(what, r)
		}
	}()
	fn()
	return nil
}

// panicFailure is the failure of user code that panicked with r; called
// from the deferred recover, so the stack still shows the panic's origin.
func panicFailure(what string, r any) *sp.FailureDetails {
	return &sp.FailureDetails{ErrorType: "panic", ErrorMessage: fmt.Sprintf("%s panicked: %v", what, r), StackTrace: string(debug.Stack())}
}

// errorFailure renders an error returned by user code: its %T and its
// message, each computed under runUser (a user Error method may panic).
func errorFailure(what string, err error) *sp.FailureDetails {
	var fd *sp.FailureDetails
	if p := runUser(what+"'s error", func() {
		fd = &sp.FailureDetails{ErrorType: fmt.Sprintf("%T", err), ErrorMessage: err.Error()}
	}); p != nil {
		return p
	}
	return fd
}

// marshalUser serialises a value user code produced, turning a panic of
// its MarshalJSON into an error.
func marshalUser(what string, v any) (s string, err error) {
	if p := runUser(what, func() { s, err = payload.Marshal(v) }); p != nil {
		return "", fmt.Errorf("%s", p.ErrorMessage)
	}
	return s, err
}

// settleReturn is called on the orchestrator goroutine when the
// orchestrator returned out and err: it serialises both there (user
// MarshalJSON and Error methods run on the orchestration's goroutine, not
// the engine's), so that completeFromReturn only reads strings.
func (e *execution) settleReturn(out any, err error) {
	what := fmt.Sprintf("orchestrator '%s' (instance %s)", e.name, e.instanceID)
	if err != nil {
		e.retFailure = errorFailure(what, err)
		return
	}
	if e.can != nil {
		return // ContinueAsNew: the output is not used
	}
	s, merr := marshalUser(what+" output's MarshalJSON", out)
	if merr != nil {
		e.retFailure = &sp.FailureDetails{ErrorType: fmt.Sprintf("%T", merr), ErrorMessage: fmt.Sprintf("serialising the output: %v", merr)}
		return
	}
	e.retJSON = s
}
