// Package settings holds package-level state other packages read.
package settings

import "os"

// Region is read from the environment when the process starts.
var Region = os.Getenv("REGION")

// Name is a constant-like variable.
var Name = "app"
