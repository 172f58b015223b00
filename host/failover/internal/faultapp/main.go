// Command faultapp is the sample app plus functions that misbehave on
// purpose, for the host-level fault tests of host/failover
// (docs/reliability.md): orchestrators that start goroutines, block for
// ever, make too many actions, panic or return a huge output, an activity
// that panics and an entity whose operation panics — and one well-behaved
// orchestrator that sleeps between its activities, so that the trace test
// can kill its host while it waits (docs/observability.md). The tests write the
// function.json files of the extra functions (Functions) into the app
// folder beside the sample's functions/.
package main

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host"
	"github.com/funchost/funchost/samples/sampleapp"
)

func main() {
	app := host.NewApp()
	for name, handler := range sampleapp.Handlers() {
		app.Register(name, handler)
	}
	for name, handler := range Handlers() {
		app.Register(name, handler)
	}
	host.Main(app)
}

// Handlers returns the misbehaving functions by name. Their trigger types
// (orchestrationTrigger, activityTrigger, entityTrigger) follow the
// names' first word: Orch…, Act… and Ent….
func Handlers() map[string]any {
	return map[string]any{
		"OrchGoroutines":   bindings.Orchestrator(orchGoroutines),
		"OrchBlock":        bindings.Orchestrator(orchBlock),
		"OrchTooMany":      bindings.Orchestrator(orchTooMany),
		"OrchPanic":        bindings.Orchestrator(orchPanic),
		"OrchHugeOutput":   bindings.Orchestrator(orchHugeOutput),
		"OrchCallsPanic":   bindings.Orchestrator(orchCallsPanic),
		"OrchEntityPanic":  bindings.Orchestrator(orchEntityPanic),
		"ActPanic":         bindings.Activity(actPanic),
		"EntFaulty":        bindings.EntityOf[faulty](),
		"OrchSlowSequence": bindings.Orchestrator(orchSlowSequence),
	}
}

// orchGoroutines calls activities from goroutines it starts (the
// engine refuses the calls and fails the instance).
func orchGoroutines(ctx bindings.OrchestrationContext) (any, error) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { _, _ = bindings.CallActivity[string](ctx, "SayHello", i) })
	}
	wg.Wait()
	return "joined", nil
}

// block is never closed: orchBlock waits on it for ever.
var block = make(chan struct{})

func orchBlock(bindings.OrchestrationContext) (any, error) {
	<-block
	return nil, nil
}

// orchTooMany schedules activities until the action limit stops it.
func orchTooMany(ctx bindings.OrchestrationContext) (any, error) {
	for i := 0; ; i++ {
		if _, err := bindings.CallActivity[string](ctx, "SayHello", strconv.Itoa(i)); err != nil {
			return nil, err
		}
	}
}

func orchPanic(bindings.OrchestrationContext) (any, error) {
	panic("orchestrator bug")
}

// orchHugeOutput returns an output of the size its input asks for, in
// MiB.
func orchHugeOutput(ctx bindings.OrchestrationContext) (any, error) {
	mib, err := bindings.GetInput[int](ctx)
	if err != nil {
		return nil, err
	}
	return strings.Repeat("x", mib<<20), nil
}

// orchCallsPanic calls the panicking activity and returns its failure.
func orchCallsPanic(ctx bindings.OrchestrationContext) (any, error) {
	_, err := bindings.CallActivity[string](ctx, "ActPanic", nil)
	return nil, err
}

func actPanic(bindings.ActivityContext) (any, error) {
	panic("activity bug")
}

// orchEntityPanic calls the entity's panicking operation, checks that the
// entity still serves the next operation, and fails with the first
// operation's error.
func orchEntityPanic(ctx bindings.OrchestrationContext) (any, error) {
	id := bindings.NewEntityID("EntFaulty", ctx.InstanceID())
	_, perr := bindings.CallEntity[int](ctx, id, "Boom", nil)
	n, err := bindings.CallEntity[int](ctx, id, "Next", nil)
	if err != nil {
		return nil, errors.Join(perr, err)
	}
	if n != 1 {
		return nil, errors.New("the entity's state after the panic is wrong")
	}
	return nil, perr
}

// faulty is an entity whose Boom operation panics after changing the
// state (the change must be rolled back).
type faulty struct{ Value int }

func (f *faulty) Boom() int { f.Value += 1000; panic("entity bug") }
func (f *faulty) Next() int { f.Value++; return f.Value }

// orchSlowSequence greets Tokyo, waits on a durable timer of the seconds
// its input gives, then greets Seattle and London: HelloSequence with a
// pause in which the instance has no message in flight, only the timer's.
func orchSlowSequence(ctx bindings.OrchestrationContext) (any, error) {
	seconds, err := bindings.GetInput[float64](ctx)
	if err != nil {
		return nil, err
	}
	first, err := bindings.CallActivity[string](ctx, "SayHello", "Tokyo")
	if err != nil {
		return nil, err
	}
	if err := ctx.CreateTimer(ctx.CurrentUTCDateTime().Add(time.Duration(seconds * float64(time.Second)))).Await(nil); err != nil {
		return nil, err
	}
	out := []string{first}
	for _, city := range []string{"Seattle", "London"} {
		g, err := bindings.CallActivity[string](ctx, "SayHello", city)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}
