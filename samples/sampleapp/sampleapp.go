// Package sampleapp holds the Go handlers of funchost's sample function app.
// Their function.json definitions live in functions/<Name>/; samples/main.go
// registers them with the host, and the benchmark (samples/bench) runs them
// in-process.
//
// Orchestrators follow the replay rules: time and GUIDs come from the
// context, and I/O happens only in activities.
package sampleapp

import (
	"net/http"

	"github.com/funchost/funchost/bindings"
)

// Handlers returns every sample function by name, ready to register.
func Handlers() map[string]any {
	return map[string]any{
		"HttpStart":           http.HandlerFunc(HttpStart),
		"HttpStartSingle":     http.HandlerFunc(HttpStartSingle),
		"HelloSequence":       bindings.Orchestrator(HelloSequence),
		"HelloCities5":        bindings.Orchestrator(HelloCities5),
		"SayHello":            bindings.Activity(SayHello),
		"Echo":                bindings.Orchestrator(Echo),
		"FailAlways":          bindings.Orchestrator(FailAlways),
		"FanOutFanIn":         bindings.Orchestrator(FanOutFanIn),
		"GetValue":            bindings.Activity(GetValue),
		"WaitForApproval":     bindings.Orchestrator(WaitForApproval),
		"ApprovalWithTimeout": bindings.Orchestrator(ApprovalWithTimeout),
		"Monitor":             bindings.Orchestrator(Monitor),
		"CheckCondition":      bindings.Activity(CheckCondition),
		"ParentChild":         bindings.Orchestrator(ParentChild),
		"BackgroundJobTimer":  bindings.Timer(BackgroundJobTimer),
		"BackgroundJob":       bindings.Orchestrator(BackgroundJob),
		"QueueStart":          bindings.QueueTrigger(QueueStart),
		"Counter":             bindings.EntityOf[Counter](),
		"CounterSignal":       http.HandlerFunc(CounterSignal),
		"CounterGet":          http.HandlerFunc(CounterGet),
		"Account":             bindings.EntityOf[Account](),
		"AccountSignal":       http.HandlerFunc(AccountSignal),
		"AccountGet":          http.HandlerFunc(AccountGet),
		"Transfer":            bindings.Orchestrator(Transfer),
		"OrderWorkflow":       bindings.Orchestrator(OrderWorkflow),
		"ReserveItems":        bindings.Activity(ReserveItems),
		"CheckFraud":          bindings.Activity(CheckFraud),
		"ShipOrder":           bindings.Activity(ShipOrder),
	}
}

// Orchestrators lists the sample orchestrator names.
func Orchestrators() []string {
	return []string{"HelloSequence", "HelloCities5", "Echo", "FailAlways", "FanOutFanIn",
		"WaitForApproval", "ApprovalWithTimeout", "Monitor", "ParentChild", "Transfer", "OrderWorkflow"}
}
