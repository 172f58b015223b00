package determinism

import (
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/types/typeutil"
)

// isOrchestratorSig reports whether sig's first parameter is a
// bindings.OrchestrationContext. The type is recognised by its package
// path and name (through aliases and a pointer), not by its methods, so
// the author API may grow or rename methods without changing what counts
// as orchestrator code.
func isOrchestratorSig(sig *types.Signature) bool {
	if sig.Params().Len() == 0 {
		return false
	}
	t := types.Unalias(sig.Params().At(0).Type())
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	return isBindingsType(t, "OrchestrationContext")
}

func isOrchestratorFunc(fn *types.Func) bool {
	sig, ok := fn.Type().(*types.Signature)
	return ok && isOrchestratorSig(sig)
}

// isForeignSig reports whether sig is shaped for code that does not run in
// an orchestrator: an activity (ActivityContext or context.Context first;
// orchestrators have no context.Context) or an HTTP handler.
func isForeignSig(sig *types.Signature) bool {
	p := sig.Params()
	if p.Len() == 0 {
		return false
	}
	first := p.At(0).Type()
	if isBindingsType(first, "ActivityContext") || isNamedType(first, "context", "Context") {
		return true
	}
	return p.Len() == 2 && isNamedType(first, "net/http", "ResponseWriter")
}

func isBindingsType(t types.Type, name string) bool { return isNamedType(t, bindingsPath, name) }

// isNamedType reports whether t is the named type path.name.
func isNamedType(t types.Type, path, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	obj := n.Obj()
	return obj.Name() == name && obj.Pkg() != nil && obj.Pkg().Path() == path
}

// contextMethod returns the name of the OrchestrationContext method fn, or
// "".
func contextMethod(fn *types.Func) string {
	sig, ok := fn.Type().(*types.Signature)
	if !ok || sig.Recv() == nil {
		return ""
	}
	t := sig.Recv().Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if isBindingsType(t, "OrchestrationContext") {
		return fn.Name()
	}
	return ""
}

// schedulingMethods are the OrchestrationContext methods that add events to
// the history.
var schedulingMethods = map[string]bool{
	"CallActivity": true, "CallSubOrchestrator": true, "CreateTimer": true,
	"WaitForExternalEvent": true, "SendEvent": true,
}

// schedulingFuncs are the bindings helpers that schedule work.
var schedulingFuncs = map[string]bool{
	"CallActivity": true, "CallSubOrchestrator": true, "WaitForExternalEvent": true,
}

// callEffects reports whether the call to fn schedules durable work or
// continues the orchestration as new, directly or through a helper.
func (c *checker) callEffects(fn *types.Func) (schedules, continues bool) {
	if m := contextMethod(fn); m != "" {
		return schedulingMethods[m], m == "ContinueAsNew"
	}
	if fn.Pkg() != nil && fn.Pkg().Path() == bindingsPath {
		sig, _ := fn.Type().(*types.Signature)
		return sig != nil && sig.Recv() == nil && schedulingFuncs[fn.Name()], false
	}
	if s := c.summaryOf(fn); s != nil {
		return s.Schedules, s.ContinuesAsNew
	}
	return false, false
}

// staticFunc returns the function a call invokes, when it is statically
// known (for generic functions, the generic declaration).
func staticFunc(info *types.Info, call *ast.CallExpr) *types.Func {
	if fn, ok := typeutil.Callee(info, call).(*types.Func); ok {
		return fn.Origin()
	}
	return nil
}
