// Package functions discovers a function app's definitions
// (functions/<Name>/function.json), validates them, and binds them to the Go
// handlers the app registered.
//
// Both steps report every problem at once, each naming the file and the
// field, so a broken app is fixed in one round.
package functions

import (
	"encoding/json"
	"strings"
)

// Binding types funchost understands (see bindingTypes).
const (
	TypeHTTPTrigger          = "httpTrigger"
	TypeHTTP                 = "http"
	TypeOrchestrationClient  = "orchestrationClient"
	TypeDurableClient        = "durableClient"
	TypeOrchestrationTrigger = "orchestrationTrigger"
	TypeActivityTrigger      = "activityTrigger"
	TypeEntityTrigger        = "entityTrigger"
	TypeTimerTrigger         = "timerTrigger"
	TypeQueueTrigger         = "queueTrigger"
	TypeManualTrigger        = "manualTrigger"
	TypeQueue                = "queue"
	TypeBlob                 = "blob"
)

// Auth levels of an httpTrigger.
const (
	AuthAnonymous = "anonymous"
	AuthFunction  = "function"
	AuthAdmin     = "admin"
)

// Kind is what triggers a function.
type Kind int

// Function kinds.
const (
	KindHTTP Kind = iota + 1
	KindOrchestrator
	KindActivity
	KindTimer
	KindQueue
	KindManual
	KindEntity
)

func (k Kind) String() string {
	switch k {
	case KindHTTP:
		return "HTTP"
	case KindOrchestrator:
		return "orchestrator"
	case KindActivity:
		return "activity"
	case KindTimer:
		return "timer"
	case KindQueue:
		return "queue"
	case KindManual:
		return "manual"
	case KindEntity:
		return "entity"
	}
	return "unknown"
}

// Binding is one entry of function.json's "bindings".
type Binding struct {
	Type      string   `json:"type"`
	Direction string   `json:"direction"`
	Name      string   `json:"name"`
	AuthLevel string   `json:"authLevel,omitempty"`
	Methods   []string `json:"methods,omitempty"`
	Route     string   `json:"route,omitempty"`
	// TaskHub and ConnectionName configure a durable client binding.
	TaskHub        string `json:"taskHub,omitempty"`
	ConnectionName string `json:"connectionName,omitempty"`
	// Orchestration and Activity override the registered name of an
	// orchestrator or activity (default: the function name).
	Orchestration string `json:"orchestration,omitempty"`
	Activity      string `json:"activity,omitempty"`
	// EntityName overrides an entityTrigger's entity name (default: the
	// function name); %Setting% references are resolved by the host.
	EntityName string `json:"entityName,omitempty"`
	// Schedule, RunOnStartup and UseMonitor configure a timerTrigger (the
	// booleans as written: true/false or their text).
	Schedule     string `json:"schedule,omitempty"`
	RunOnStartup any    `json:"runOnStartup,omitempty"`
	UseMonitor   any    `json:"useMonitor,omitempty"`
	// QueueName, Path and Connection configure queue and blob bindings
	// (Connection is a setting name; empty = AzureWebJobsStorage).
	QueueName  string `json:"queueName,omitempty"`
	Path       string `json:"path,omitempty"`
	Connection string `json:"connection,omitempty"`
	// DataType is a blob binding's "string", "binary" or "stream".
	DataType string `json:"dataType,omitempty"`
}

// Flag reads a boolean binding property written as true/false or as text;
// def when absent. ok is false for any other value.
func Flag(v any, def bool) (value, ok bool) {
	switch x := v.(type) {
	case nil:
		return def, true
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return def, false
}

// IsClient reports whether b is a durable client binding.
func (b *Binding) IsClient() bool {
	return strings.EqualFold(b.Type, TypeOrchestrationClient) || strings.EqualFold(b.Type, TypeDurableClient)
}

// Definition is one validated function.json.
type Definition struct {
	// Name is the function name (its folder name).
	Name string
	// Path is the function.json path.
	Path string
	// Config is the function.json content as standard JSON.
	Config json.RawMessage
	// Disabled is set from the AzureWebJobs.<Name>.Disabled setting.
	Disabled bool
	// LegacyDisabled is function.json's "disabled": true, which the
	// Functions v4 host does not read (funchost warns about it).
	LegacyDisabled bool
	Bindings       []Binding
	// Kind and Trigger describe the one trigger binding.
	Kind    Kind
	Trigger *Binding
}

// Route returns an HTTP function's route template (default: its name).
func (d *Definition) Route() string {
	if d.Trigger == nil || strings.TrimSpace(d.Trigger.Route) == "" {
		return d.Name
	}
	return strings.Trim(strings.TrimSpace(d.Trigger.Route), "/")
}

// Methods returns an HTTP function's upper-case methods; nil means all.
func (d *Definition) Methods() []string {
	if d.Trigger == nil || len(d.Trigger.Methods) == 0 {
		return nil
	}
	out := make([]string, len(d.Trigger.Methods))
	for i, m := range d.Trigger.Methods {
		out[i] = strings.ToUpper(strings.TrimSpace(m))
	}
	return out
}

// AuthLevel returns an HTTP function's auth level, lower case (default
// "function").
func (d *Definition) AuthLevel() string {
	if d.Trigger == nil || d.Trigger.AuthLevel == "" {
		return AuthFunction
	}
	return strings.ToLower(d.Trigger.AuthLevel)
}

// TaskName is the name orchestrations, activities and entities are
// registered under: the trigger's orchestration/activity/entityName
// override, else the function name.
func (d *Definition) TaskName() string {
	if d.Trigger != nil {
		if d.Kind == KindOrchestrator && d.Trigger.Orchestration != "" {
			return d.Trigger.Orchestration
		}
		if d.Kind == KindActivity && d.Trigger.Activity != "" {
			return d.Trigger.Activity
		}
		if d.Kind == KindEntity && d.Trigger.EntityName != "" {
			return d.Trigger.EntityName
		}
	}
	return d.Name
}

// Clients returns the durable client bindings in declaration order.
func (d *Definition) Clients() []Binding {
	var out []Binding
	for _, b := range d.Bindings {
		if b.IsClient() {
			out = append(out, b)
		}
	}
	return out
}
