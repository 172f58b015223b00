// Package deep implements an interface of package ifaces, which imports it
// only through package impl.
package deep

import "time"

// Pinger answers with the time of day.
type Pinger struct{}

func (Pinger) Ping() string { return time.Now().String() }
