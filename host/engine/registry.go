package engine

import (
	"strings"

	"github.com/funchost/funchost/bindings"
)

// Registry holds the orchestrator, activity and entity functions a Worker
// runs, by function name (entities by entity name). Names are matched exactly first, then case-insensitively,
// as Azure Functions treats function names.
type Registry struct {
	Orchestrators map[string]bindings.Orchestrator
	Activities    map[string]bindings.Activity
	Entities      map[string]bindings.Entity
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
// activities, bindings.Entity values entities; handlers of any other type (HTTP functions) are ignored.
func NewRegistry(handlers map[string]any) Registry {
	reg := Registry{Orchestrators: map[string]bindings.Orchestrator{}, Activities: map[string]bindings.Activity{}}
	for name, h := range handlers {
		switch f := h.(type) {
		case bindings.Orchestrator:
			reg.Orchestrators[name] = f
		case bindings.Activity:
			reg.Activities[name] = f
		case bindings.Entity:
			if reg.Entities == nil {
				reg.Entities = map[string]bindings.Entity{}
			}
			reg.Entities[name] = f
		}
	}
	return reg
}

// HasEntity reports whether an entity function of that name is registered
// (case-insensitively, as entity names are).
func (r Registry) HasEntity(name string) bool {
	_, ok := lookupFold(r.Entities, name)
	return ok
}
