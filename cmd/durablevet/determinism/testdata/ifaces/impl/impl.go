// Package impl implements an interface of package ifaces (which imports
// it) with an unexported type, as wiring code often does.
package impl

import (
	"io"
	"net/http"

	_ "example.com/dvtest/ifaces/impl/deep" // implements ifaces.Pinger
)

type httpFetcher struct{}

// NewFetcher returns a fetcher that uses the network.
func NewFetcher() any { return httpFetcher{} }

func (httpFetcher) Fetch(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
