package sampleapp

import (
	"fmt"

	"github.com/funchost/funchost/bindings"
)

// SayHello returns "Hello <city>!".
func SayHello(ctx bindings.ActivityContext) (any, error) {
	var city string
	if err := ctx.Input(&city); err != nil {
		return nil, fmt.Errorf("SayHello expects a city name: %w", err)
	}
	return fmt.Sprintf("Hello %s!", city), nil
}

// GetValue returns its numeric input (FanOutFanIn's unit of work).
func GetValue(ctx bindings.ActivityContext) (any, error) {
	var n int
	if err := ctx.Input(&n); err != nil {
		return nil, fmt.Errorf("GetValue expects a number: %w", err)
	}
	return n, nil
}

// CheckCondition reports whether Monitor's condition holds: here, whether
// the number of checks made reached the target.
func CheckCondition(ctx bindings.ActivityContext) (any, error) {
	var st MonitorState
	if err := ctx.Input(&st); err != nil {
		return nil, fmt.Errorf("CheckCondition expects the monitor state: %w", err)
	}
	return st.Checks+1 >= st.Target, nil
}
