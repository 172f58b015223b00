// Package negatives holds code the analyzer must leave alone: activities,
// HTTP functions, ordinary code and orchestrators that use only the
// context's own APIs.
package negatives

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/funchost/funchost/bindings"
)

// SayHello is an activity: it may do anything.
func SayHello(ctx bindings.ActivityContext) (any, error) {
	var city string
	if err := ctx.Input(&city); err != nil {
		return nil, err
	}
	resp, err := http.Get("http://example.com/" + city)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return fmt.Sprintf("Hello %s at %s from %s", city, time.Now(), os.Getenv("HOST")), nil
}

// Fetch is a typed activity.
var Fetch = bindings.TypedActivity(func(ctx context.Context, url string) (int, error) {
	time.Sleep(time.Millisecond)
	return rand.Intn(3), nil
})

func fetchBody(ctx context.Context, url string) (string, error) {
	_, err := os.ReadFile(url)
	return url, err
}

// Start is an HTTP function with a durable client.
func Start(w http.ResponseWriter, r *http.Request) {
	c := bindings.Client(r)
	id, err := c.StartNew(r.Context(), "Clean", map[string]string{"at": time.Now().String()})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_ = c.CreateCheckStatusResponse(w, r, id)
}

var mu sync.Mutex
var hits int

// Ordinary code may do anything.
func Ordinary() {
	mu.Lock()
	hits++
	mu.Unlock()
	go func() { fmt.Println(time.Now(), rand.Int()) }()
	for k := range map[string]int{} {
		_ = k
	}
}

// Clean uses only the context's own, replay-safe APIs.
func Clean(ctx bindings.OrchestrationContext) (any, error) {
	in, err := bindings.GetInput[map[string]string](ctx)
	if err != nil {
		return nil, err
	}
	now := ctx.CurrentUTCDateTime()
	deadline := now.Add(24 * time.Hour).Truncate(time.Minute)
	id := ctx.NewGUID()
	ctx.Logger().Info("starting", "id", id, "replaying", ctx.IsReplaying(), "name", ctx.Name(), "instance", ctx.InstanceID())
	ctx.SetCustomStatus(map[string]any{"stage": "start", "deadline": deadline})

	retry := bindings.WithRetry(bindings.RetryPolicy{
		MaxAttempts:        3,
		FirstRetryInterval: time.Second,
		Handle:             func(err error) bool { return !errors.Is(err, bindings.ErrTimeout) },
	})
	greeting, err := bindings.CallActivity[string](ctx, "SayHello", in["city"], retry)
	if err != nil {
		var tfe *bindings.TaskFailedError
		if errors.As(err, &tfe) {
			return nil, fmt.Errorf("%s failed: %w", tfe.TaskName, err)
		}
		return nil, err
	}
	timer := ctx.CreateTimer(deadline)
	approval := ctx.WaitForExternalEvent("Approval", bindings.WithTimeout(time.Hour))
	var winner int
	if err := ctx.WhenAny(timer, approval).Await(&winner); err != nil {
		return nil, err
	}
	approved, err := bindings.Await[bool](approval)
	if err != nil && !errors.Is(err, bindings.ErrTimeout) {
		return nil, err
	}
	child, err := bindings.CallSubOrchestrator[string](ctx, "Child", id, bindings.WithInstanceID(id+"-child"))
	if err != nil {
		return nil, err
	}
	ev, err := bindings.WaitForExternalEvent[string](ctx, "Done")
	if err != nil {
		return nil, err
	}
	ctx.SendEvent(id, "Ping", nil)

	words := strings.Fields(greeting + " " + child + " " + ev)
	sort.Strings(words)
	out, err := json.Marshal(map[string]any{"words": words, "approved": approved, "took": deadline.Sub(now).String()})
	if err != nil {
		return nil, err
	}
	_ = bindings.TypedActivity(fetchBody) // an activity value passed along, not run here
	greet := func(s string) string { return "hi " + s }
	return greet(string(out)), nil
}

// Child is a typed orchestrator using only deterministic helpers.
var Child = bindings.TypedOrchestrator(func(ctx bindings.OrchestrationContext, id string) (string, error) {
	return strings.ToUpper(id) + ctx.CurrentUTCDateTime().Format(time.RFC3339), nil
})
