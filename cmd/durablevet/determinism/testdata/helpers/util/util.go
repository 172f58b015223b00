// Package util holds helpers in another package of the same module.
package util

import (
	"os"
	"time"
)

// Stamp formats the wall clock.
func Stamp() string { return time.Now().Format(time.RFC3339) } // want Stamp:`summary\(time\.Now\)`

// Region reads the environment through one more helper.
func Region() string { return lookup("REGION") } // want Region:`summary\(util\.lookup → os\.Getenv\)`

func lookup(k string) string { return os.Getenv(k) }

// Upper is pure.
func Upper(s string) string { return s + "!" }

// Greeter is a type whose method reads the clock.
type Greeter struct{ Name string }

// Greet reads the clock.
func (g Greeter) Greet() string { return g.Name + time.Now().String() }
