package functions

import (
	"fmt"
	"net/http"
	"sort"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/routetemplate"
)

// CheckTemplate validates an httpTrigger route template ("" is the default
// route and always valid).
func CheckTemplate(route string) error {
	if route == "" {
		return nil
	}
	_, err := routetemplate.Parse(route)
	return err
}

// Function is a definition bound to its Go handler; exactly one of HTTP,
// Orchestrator and Activity is set, matching Def.Kind.
type Function struct {
	Def          *Definition
	HTTP         http.Handler
	Orchestrator bindings.Orchestrator
	Activity     bindings.Activity
}

// Bind pairs every definition with the handler registered under its name.
// It fails with an *Error listing every definition without a handler, every
// handler without a definition, and every handler whose Go type does not fit
// its trigger. Disabled functions are bound too (their handlers must still
// exist) but callers skip them.
func Bind(defs []*Definition, handlers map[string]any) ([]*Function, error) {
	var problems []Problem
	byName := map[string]*Definition{}
	var out []*Function
	for _, d := range defs {
		byName[d.Name] = d
		h, ok := handlers[d.Name]
		if !ok {
			problems = append(problems, Problem{Path: d.Path, Message: fmt.Sprintf(
				"function %s has no Go handler: register one with app.Register(%q, handler)", d.Name, d.Name)})
			continue
		}
		f, err := bindOne(d, h)
		if err != nil {
			problems = append(problems, Problem{Path: d.Path, Message: err.Error()})
			continue
		}
		out = append(out, f)
	}
	var orphans []string
	for name := range handlers {
		if byName[name] == nil {
			orphans = append(orphans, name)
		}
	}
	sort.Strings(orphans)
	for _, name := range orphans {
		problems = append(problems, Problem{Message: fmt.Sprintf(
			"handler %q is registered but there is no functions/%s/function.json", name, name)})
	}
	if len(problems) > 0 {
		return nil, &Error{Stage: "handler", Problems: problems}
	}
	return out, nil
}

// bindOne checks that h's Go type fits d's trigger.
func bindOne(d *Definition, h any) (*Function, error) {
	f := &Function{Def: d}
	switch d.Kind {
	case KindHTTP:
		switch v := h.(type) {
		case http.Handler:
			f.HTTP = v
		case func(http.ResponseWriter, *http.Request):
			f.HTTP = http.HandlerFunc(v)
		}
		if f.HTTP == nil {
			return nil, shapeError(d, h, "an http.Handler or func(http.ResponseWriter, *http.Request)")
		}
	case KindOrchestrator:
		switch v := h.(type) {
		case bindings.Orchestrator:
			f.Orchestrator = v
		case func(bindings.OrchestrationContext) (any, error):
			f.Orchestrator = v
		}
		if f.Orchestrator == nil {
			return nil, shapeError(d, h, "a bindings.Orchestrator or func(bindings.OrchestrationContext) (any, error)")
		}
	case KindActivity:
		switch v := h.(type) {
		case bindings.Activity:
			f.Activity = v
		case func(bindings.ActivityContext) (any, error):
			f.Activity = v
		}
		if f.Activity == nil {
			return nil, shapeError(d, h, "a bindings.Activity or func(bindings.ActivityContext) (any, error)")
		}
	default:
		return nil, fmt.Errorf("function %s has no trigger", d.Name)
	}
	return f, nil
}

func shapeError(d *Definition, h any, want string) error {
	return fmt.Errorf("function %s has an %s binding, so its handler must be %s; got %T",
		d.Name, d.Trigger.Type, want, h)
}
