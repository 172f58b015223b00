package functions

import (
	"context"
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

// Function is a definition bound to its Go handler; the handler field
// matching Def.Kind is set.
type Function struct {
	Def          *Definition
	HTTP         http.Handler
	Orchestrator bindings.Orchestrator
	Activity     bindings.Activity
	Timer        bindings.Timer
	Queue        bindings.QueueTrigger
	Manual       bindings.Manual
	Entity       bindings.Entity
}

// Bind pairs every definition with the handler registered under its name.
// A definition without a handler, or whose handler's Go type does not fit
// its trigger, becomes a function in error; the others are bound. Handlers
// without a definition are returned as problems (orphans). Disabled
// functions are bound too (their handlers must still exist) but callers
// skip them.
func Bind(defs []*Definition, handlers map[string]any) (fns []*Function, broken []*Broken, orphans []Problem) {
	byName := map[string]*Definition{}
	for _, d := range defs {
		byName[d.Name] = d
		fail := func(msg string) {
			broken = append(broken, &Broken{Name: d.Name, Path: d.Path, Config: d.Config, Trigger: triggerType(d),
				Problems: []Problem{{Path: d.Path, Message: msg}}})
		}
		h, ok := handlers[d.Name]
		if !ok {
			fail(fmt.Sprintf("function %s has no Go handler: register one with app.Register(%q, handler)", d.Name, d.Name))
			continue
		}
		f, err := bindOne(d, h)
		if err != nil {
			fail(err.Error())
			continue
		}
		fns = append(fns, f)
	}
	var names []string
	for name := range handlers {
		if byName[name] == nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		orphans = append(orphans, Problem{Message: fmt.Sprintf(
			"handler %q is registered but there is no functions/%s/function.json", name, name)})
	}
	return fns, broken, orphans
}

// bindOne checks that h's Go type fits d's trigger.
func bindOne(d *Definition, h any) (*Function, error) {
	f := &Function{Def: d}
	var want string
	switch d.Kind {
	case KindHTTP:
		switch v := h.(type) {
		case http.Handler:
			f.HTTP = v
		case func(http.ResponseWriter, *http.Request):
			f.HTTP = http.HandlerFunc(v)
		}
		want = "an http.Handler or func(http.ResponseWriter, *http.Request)"
		if f.HTTP != nil {
			return f, nil
		}
	case KindOrchestrator:
		switch v := h.(type) {
		case bindings.Orchestrator:
			f.Orchestrator = v
		case func(bindings.OrchestrationContext) (any, error):
			f.Orchestrator = v
		}
		want = "a bindings.Orchestrator or func(bindings.OrchestrationContext) (any, error)"
		if f.Orchestrator != nil {
			return f, nil
		}
	case KindActivity:
		switch v := h.(type) {
		case bindings.Activity:
			f.Activity = v
		case func(bindings.ActivityContext) (any, error):
			f.Activity = v
		}
		want = "a bindings.Activity or func(bindings.ActivityContext) (any, error)"
		if f.Activity != nil {
			return f, nil
		}
	case KindTimer:
		switch v := h.(type) {
		case bindings.Timer:
			f.Timer = v
		case func(context.Context, bindings.TimerInfo) error:
			f.Timer = v
		}
		want = "a bindings.Timer or func(context.Context, bindings.TimerInfo) error"
		if f.Timer != nil {
			return f, nil
		}
	case KindQueue:
		switch v := h.(type) {
		case bindings.QueueTrigger:
			f.Queue = v
		case func(context.Context, bindings.QueueMessage) error:
			f.Queue = v
		}
		want = "a bindings.QueueTrigger or func(context.Context, bindings.QueueMessage) error"
		if f.Queue != nil {
			return f, nil
		}
	case KindManual:
		switch v := h.(type) {
		case bindings.Manual:
			f.Manual = v
		case func(context.Context, string) error:
			f.Manual = v
		}
		want = "a bindings.Manual or func(context.Context, string) error"
		if f.Manual != nil {
			return f, nil
		}
	case KindEntity:
		switch v := h.(type) {
		case bindings.Entity:
			f.Entity = v
		case func(bindings.EntityContext) error:
			f.Entity = v
		}
		want = "a bindings.Entity or func(bindings.EntityContext) error (bindings.EntityOf[State]() makes one from a Go type)"
		if f.Entity != nil {
			return f, nil
		}
	default:
		return nil, fmt.Errorf("function %s has no trigger", d.Name)
	}
	return nil, shapeError(d, h, want)
}

func shapeError(d *Definition, h any, want string) error {
	return fmt.Errorf("function %s has an %s binding, so its handler must be %s; got %T",
		d.Name, d.Trigger.Type, want, h)
}
