package engine

import "github.com/funchost/funchost/bindings"

// NewRegistry sorts a map of handlers by function name into a Registry:
// bindings.Orchestrator values become orchestrators, bindings.Activity values
// activities; handlers of any other type (HTTP functions) are ignored.
func NewRegistry(handlers map[string]any) Registry {
	reg := Registry{Orchestrators: map[string]bindings.Orchestrator{}, Activities: map[string]bindings.Activity{}}
	for name, h := range handlers {
		switch f := h.(type) {
		case bindings.Orchestrator:
			reg.Orchestrators[name] = f
		case bindings.Activity:
			reg.Activities[name] = f
		}
	}
	return reg
}
