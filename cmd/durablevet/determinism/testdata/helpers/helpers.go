// Package helpers exercises following helper functions and reporting the
// call chain at the call inside the orchestrator.
package helpers

import (
	"fmt"
	"math/rand"
	"slices"
	"time"

	"example.com/dvtest/helpers/util"
	"github.com/funchost/funchost/bindings"
)

func HelloSequence(ctx bindings.OrchestrationContext) (any, error) {
	s := formatGreeting("Tokyo") // want `^HelloSequence → formatGreeting → time\.Now: orchestrator code must not read the clock; use ctx\.CurrentUTCDateTime\(\)$`
	s += deep()                  // want `^HelloSequence → deep → middle → formatGreeting → time\.Now: `
	s += util.Stamp()            // want `^HelloSequence → util\.Stamp → time\.Now: `
	s += util.Region()           // want `^HelloSequence → util\.Region → util\.lookup → os\.Getenv: `
	s += util.Greeter{}.Greet()  // want `^HelloSequence → util\.Greeter\.Greet → time\.Now: `
	s += util.Upper(s)           // pure helper: fine
	s += ping(3)                 // want `^HelloSequence → ping → pong → rand\.Intn: `
	s += pick([]string{"a"})     // want `^HelloSequence → pick → rand\.Intn: `
	xs := []int{3, 1}
	slices.SortFunc(xs, shuffle) // want `^HelloSequence → shuffle → rand\.Intn: `
	bump()                       // want `^HelloSequence → bump → write to package-level variable calls: `
	s += both()                  // want `^HelloSequence → both → time\.Now: ` `^HelloSequence → both → util\.Region → util\.lookup → os\.Getenv: `
	schedule(ctx)                // orchestrator code itself: reported inside schedule, not here
	_ = now()                    // want `^HelloSequence → var now → time\.Now: `
	s += greet("x")              // want `^HelloSequence → var greet → formatGreeting → time\.Now: `
	return s, nil
}

func formatGreeting(city string) string {
	return fmt.Sprintf("Hello %s at %s", city, time.Now())
}

func deep() string   { return middle() }
func middle() string { return formatGreeting("x") }

// ping and pong recurse into each other.
func ping(n int) string {
	if n == 0 {
		return ""
	}
	return pong(n - 1)
}

func pong(n int) string {
	if rand.Intn(2) == 0 {
		return "pong"
	}
	return ping(n)
}

func pick[T any](xs []T) T { return xs[rand.Intn(len(xs))] }

func shuffle(a, b int) int { return rand.Intn(3) - 1 }

// Function variables are seams for tests; calling them calls what they
// hold.
var (
	now   = time.Now
	greet = formatGreeting
)

var calls int

func bump() { calls++ }

func both() string { return time.Now().String() + util.Region() }

// schedule takes the context, so it is orchestrator code of its own.
func schedule(ctx bindings.OrchestrationContext) {
	_ = time.Now() // want `^schedule → time\.Now: `
	ctx.CallActivity("Work", nil)
}

// Ordinary code may call the same helpers.
func Ordinary() string { return formatGreeting("x") + util.Stamp() }
