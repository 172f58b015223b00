package engine

import (
	"strings"

	"github.com/funchost/funchost/bindings"
)

// Registry holds the orchestrator and activity functions a Worker runs, by
// function name. Names are matched exactly first, then case-insensitively,
// as Azure Functions treats function names.
type Registry struct {
	Orchestrators map[string]bindings.Orchestrator
	Activities    map[string]bindings.Activity
}

func lookupFold[T any](m map[string]T, name string) (T, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	var zero T
	return zero, false
}

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
