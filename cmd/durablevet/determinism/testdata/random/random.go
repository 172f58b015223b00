// Package random exercises the randomness and GUID rules.
package random

import (
	crand "crypto/rand"
	"io"
	mrand "math/rand"
	rand2 "math/rand/v2"

	"github.com/funchost/funchost/bindings"
	"github.com/google/uuid"
)

func Random(ctx bindings.OrchestrationContext) (any, error) {
	_ = mrand.Intn(10)  // want `^Random → rand\.Intn: orchestrator code must not use random numbers; use ctx\.NewGUID\(\) or get the value from an activity$`
	_ = mrand.Float64() // want `^Random → rand\.Float64: `
	_ = rand2.IntN(10)  // want `^Random → rand\.IntN: `
	_ = rand2.N(10)     // want `^Random → rand\.N: `
	b := make([]byte, 8)
	_, _ = crand.Read(b)                // want `^Random → rand\.Read: `
	_ = crand.Text()                    // want `^Random → rand\.Text: `
	_, _ = io.ReadFull(crand.Reader, b) // want `^Random → rand\.Reader: `
	_ = uuid.New()                      // want `^Random → uuid\.New: orchestrator code must not generate random GUIDs; use ctx\.NewGUID\(\)$`
	_ = uuid.NewString()                // want `^Random → uuid\.NewString: `
	_, _ = uuid.NewRandom()             // want `^Random → uuid\.NewRandom: `
	_, _ = uuid.NewV7()                 // want `^Random → uuid\.NewV7: `
	_ = uuid.Must(uuid.NewUUID())       // want `^Random → uuid\.NewUUID: `
	return nil, nil
}

// Deterministic uses only what replays identically.
func Deterministic(ctx bindings.OrchestrationContext) (any, error) {
	id := ctx.NewGUID()
	_ = uuid.NewSHA1(uuid.NameSpaceURL, []byte(id)) // name-based: deterministic
	_ = uuid.NewMD5(uuid.NameSpaceURL, []byte(id))
	r := mrand.New(mrand.NewSource(42)) // a fixed seed replays identically
	_ = r.Intn(10)
	p := rand2.New(rand2.NewPCG(1, 2))
	_ = p.IntN(10)
	return id, nil
}
