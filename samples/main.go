// Command samples runs funchost's sample function app: the functions
// declared in functions/*/function.json, with the Go handlers of
// samples/sampleapp.
//
//	go run ./samples --script-root .
package main

import (
	"github.com/funchost/funchost/host"
	"github.com/funchost/funchost/samples/sampleapp"
)

func main() {
	app := host.NewApp()
	for name, handler := range sampleapp.Handlers() {
		app.Register(name, handler)
	}
	host.Main(app)
}
