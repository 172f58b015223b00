// Package ifaces exercises following calls through the module's
// interfaces to their implementations in the module.
package ifaces

import (
	"context"
	"os"
	"time"

	_ "example.com/dvtest/ifaces/impl" // implements Fetcher
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/funchost/funchost/bindings"
)

// Store saves data; its only implementation in the module writes a blob.
type Store interface {
	Save(name string, data []byte) error
}

type blobStore struct{ c *azblob.Client }

func (s *blobStore) Save(name string, data []byte) error {
	_, err := s.c.UploadBuffer(context.Background(), "c", name, data, nil)
	return err
}

// Stamper has two implementations, both non-deterministic.
type Stamper interface{ Stamp() string }

type wallStamper struct{}

func (wallStamper) Stamp() string { return time.Now().String() }

type hostStamper struct{}

func (hostStamper) Stamp() string {
	h, _ := os.Hostname()
	return h
}

// Greeter has a non-deterministic and a pure implementation: the call may
// well go to the pure one, so it is not reported.
type Greeter interface{ Greet(name string) string }

type timedGreeter struct{}

func (timedGreeter) Greet(name string) string { return name + time.Now().String() }

type plainGreeter struct{}

func (plainGreeter) Greet(name string) string { return "hello " + name }

// Fetcher's implementation is in package impl.
type Fetcher interface {
	Fetch(url string) ([]byte, error)
}

// Pinger's implementation is in package deep, imported through impl.
type Pinger interface{ Ping() string }

// Mailer is marked as I/O: its implementations are out of sight.
//
//durablevet:io sends mail through the relay
type Mailer interface{ Send(to string) error }

// Queue has one method marked as I/O.
type Queue interface {
	Push(item string) error //durablevet:io
	Len() int
}

// Step's implementations are orchestrator code of their own.
type Step interface {
	Run(ctx bindings.OrchestrationContext) error
}

type clockStep struct{}

func (clockStep) Run(ctx bindings.OrchestrationContext) error {
	_ = time.Now() // want `^clockStep\.Run → time\.Now: `
	return nil
}

// Service is an orchestrator with its dependencies injected.
type Service struct {
	Store   Store
	Stamper Stamper
	Greeter Greeter
	Fetcher Fetcher
	Mailer  Mailer
	Queue   Queue
	Step    Step
	Pinger  Pinger
}

func (s *Service) Run(ctx bindings.OrchestrationContext) (any, error) {
	_ = s.Store.Save("k", nil)  // want `^Service\.Run → Store\.Save → blobStore\.Save → azblob\.Client\.UploadBuffer: orchestrator code must not call network, storage or database clients; do it in an activity \(ctx\.CallActivity\)$`
	_ = s.Stamper.Stamp()       // want `^Service\.Run → Stamper\.Stamp → hostStamper\.Stamp → os\.Hostname: ` `^Service\.Run → Stamper\.Stamp → wallStamper\.Stamp → time\.Now: `
	_ = s.Greeter.Greet("x")    // one implementation is pure: not reported
	_, _ = s.Fetcher.Fetch("u") // want `^Service\.Run → Fetcher\.Fetch → impl\.httpFetcher\.Fetch → http\.Get: `
	_ = s.Mailer.Send("x")      // want `^Service\.Run → ifaces\.Mailer\.Send: orchestrator code must not call code marked //durablevet:io \(it does I/O\); do it in an activity \(ctx\.CallActivity\)$`
	_ = s.Queue.Push("x")       // want `^Service\.Run → ifaces\.Queue\.Push: `
	_ = s.Queue.Len()           // not marked, no implementation: fine
	_ = s.Step.Run(ctx)         // checked inside clockStep.Run
	_ = s.Pinger.Ping()         // want `^Service\.Run → Pinger\.Ping → deep\.Pinger\.Ping → time\.Now: `
	_ = saveAll(s.Store)        // want `^Service\.Run → saveAll → Store\.Save → blobStore\.Save → azblob\.Client\.UploadBuffer: `
	save := s.Store.Save        // want `^Service\.Run → Store\.Save → blobStore\.Save → azblob\.Client\.UploadBuffer: `
	_ = save
	_ = s.Store.Save("k", nil) //durablevet:ignore the test store is in memory
	return nil, nil
}

func saveAll(st Store) error { return st.Save("all", nil) }
