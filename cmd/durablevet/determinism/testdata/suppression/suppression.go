// Package suppression exercises the //durablevet:ignore comment.
package suppression

import (
	"os"
	"time"

	"github.com/funchost/funchost/bindings"
)

func Suppressed(ctx bindings.OrchestrationContext) (any, error) {
	a := time.Now() //durablevet:ignore only logged, never decides anything
	b := time.Now() // want `^Suppressed → time\.Now: `

	//durablevet:ignore the line below is silenced
	c := time.Now()

	//durablevet:ignore
	d := time.Now()

	e := time.Now() //durablevet:ignored is not the directive // want `^Suppressed → time\.Now: `

	_ = stamp()    //durablevet:ignore a silenced call silences its chain
	_ = quietEnv() // the helper silenced its own line
	_ = loudEnv()  // want `^Suppressed → loudEnv → os\.Getenv: `

	m := map[string]int{}
	//durablevet:ignore the body does not depend on the order
	for k := range m {
		ctx.CallActivity("Work", k)
	}
	return []time.Time{a, b, c, d, e}, nil
}

func stamp() time.Time { return time.Now() }

func quietEnv() string {
	return os.Getenv("X") //durablevet:ignore read once at start-up
}

func loudEnv() string {
	_ = os.Getenv("A") //durablevet:ignore
	return os.Getenv("B")
}
