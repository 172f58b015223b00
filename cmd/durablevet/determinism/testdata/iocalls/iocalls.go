// Package iocalls exercises the I/O rules: files, processes, network,
// databases, the durable client and printing.
package iocalls

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io/ioutil"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"

	"github.com/funchost/funchost/bindings"
)

func Files(ctx bindings.OrchestrationContext) (any, error) {
	_, _ = os.ReadFile("x")           // want `^Files → os\.ReadFile: orchestrator code must not do file or process I/O; do it in an activity \(ctx\.CallActivity\)$`
	_ = os.WriteFile("x", nil, 0o600) // want `^Files → os\.WriteFile: `
	f, err := os.Open("x")            // want `^Files → os\.Open: `
	if err != nil {
		return nil, err
	}
	_ = f.Close()                // want `^Files → os\.File\.Close: `
	_, _ = ioutil.ReadFile("x")  // want `^Files → ioutil\.ReadFile: `
	_ = exec.Command("ls").Run() // want `^Files → exec\.Command: ` `^Files → exec\.Cmd\.Run: `
	return nil, nil
}

func Network(ctx bindings.OrchestrationContext) (any, error) {
	resp, err := http.Get("http://example.com") // want `^Network → http\.Get: orchestrator code must not use the network; do it in an activity \(ctx\.CallActivity\)$`
	if err != nil {
		return nil, err
	}
	_ = resp.Body.Close()
	req, _ := http.NewRequest("GET", "http://example.com", nil) // building a request is not I/O
	_, _ = http.DefaultClient.Do(req)                           // want `^Network → http\.DefaultClient: ` `^Network → http\.Client\.Do: `
	c := &http.Client{}
	_, _ = c.Do(req)                   // want `^Network → http\.Client\.Do: `
	_, _ = net.Dial("tcp", "x:1")      // want `^Network → net\.Dial: `
	_, _ = net.LookupHost("x")         // want `^Network → net\.LookupHost: `
	_ = net.ParseIP("127.0.0.1")       // pure
	_ = http.StatusText(http.StatusOK) // pure
	return nil, nil
}

func Database(ctx bindings.OrchestrationContext) (any, error) {
	db, err := sql.Open("x", "y") // want `^Database → sql\.Open: orchestrator code must not use a database; do it in an activity \(ctx\.CallActivity\)$`
	if err != nil {
		return nil, err
	}
	_, _ = db.Query("select 1") // want `^Database → sql\.DB\.Query: `
	return nil, nil
}

// Starter holds a durable client, which orchestrators must not use.
type Starter struct {
	Client bindings.DurableClient
}

func (s *Starter) Orchestrate(ctx bindings.OrchestrationContext) (any, error) {
	id, err := s.Client.StartNew(context.Background(), "Other", nil) // want `^Starter\.Orchestrate → bindings\.DurableClient\.StartNew: orchestrator code must not use a durable client; use ctx\.CallSubOrchestrator or ctx\.SendEvent, or do it in an activity$`
	if err != nil {
		return nil, err
	}
	_ = s.Client.RaiseEvent(context.Background(), id, "go", nil) // want `^Starter\.Orchestrate → bindings\.DurableClient\.RaiseEvent: `
	ctx.SendEvent(id, "go", nil)                                 // the replay-safe way
	return bindings.CallSubOrchestrator[string](ctx, "Other", nil)
}

func Printing(ctx bindings.OrchestrationContext) (any, error) {
	fmt.Println("hello")                     // want `^Printing → fmt\.Println: orchestrator code must not print or log to the process output \(it repeats on every replay\); use ctx\.Logger\(\)$`
	fmt.Printf("%d\n", 1)                    // want `^Printing → fmt\.Printf: `
	fmt.Fprintln(os.Stderr, "x")             // want `^Printing → os\.Stderr: `
	log.Printf("x")                          // want `^Printing → log\.Printf: `
	l := log.New(os.Stdout, "", 0)           // want `^Printing → os\.Stdout: `
	l.Println("x")                           // want `^Printing → log\.Logger\.Println: `
	slog.Info("x")                           // want `^Printing → slog\.Info: `
	slog.Default().Info("x")                 // want `^Printing → slog\.Default: `
	println("x")                             // want `^Printing → println: `
	ctx.Logger().Info("replay-safe", "n", 1) // the context's logger is silent during replay
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%d", 1) // writing to memory is fine
	return fmt.Sprintf("%s", buf.String()), nil
}
