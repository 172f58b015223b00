package functions

import (
	"fmt"
	"strings"
)

// bindingType is what funchost knows of one function.json binding type.
// Adding a binding type is one entry in bindingTypes.
type bindingType struct {
	// name is the canonical spelling (types match case-insensitively).
	name string
	// dir is the required direction, "" for in or out.
	dir string
	// kind is set for trigger types.
	kind Kind
	// check validates type-specific properties.
	check func(b *Binding, field string, add addFunc)
}

type addFunc func(field, format string, args ...any)

var bindingTypes = []bindingType{
	{name: TypeHTTPTrigger, dir: "in", kind: KindHTTP, check: checkHTTPTrigger},
	{name: TypeHTTP, dir: "out"},
	{name: TypeOrchestrationTrigger, dir: "in", kind: KindOrchestrator},
	{name: TypeActivityTrigger, dir: "in", kind: KindActivity},
	{name: TypeEntityTrigger, dir: "in", kind: KindEntity},
	{name: TypeOrchestrationClient, dir: "in"},
	{name: TypeDurableClient, dir: "in"},
	{name: TypeTimerTrigger, dir: "in", kind: KindTimer, check: checkTimerTrigger},
	{name: TypeQueueTrigger, dir: "in", kind: KindQueue, check: requireProperty("queueName", func(b *Binding) string { return b.QueueName })},
	{name: TypeManualTrigger, dir: "in", kind: KindManual},
	{name: TypeQueue, dir: "out", check: requireProperty("queueName", func(b *Binding) string { return b.QueueName })},
	{name: TypeBlob, check: checkBlob},
}

func lookupBindingType(t string) *bindingType {
	for i := range bindingTypes {
		if strings.EqualFold(bindingTypes[i].name, t) {
			return &bindingTypes[i]
		}
	}
	return nil
}

// notRegistered is the Functions host's error for unknown binding types.
func notRegistered(types []string) string {
	return fmt.Sprintf("The binding type(s) '%s' are not registered. Please ensure the type is correct and the binding extension is installed.",
		strings.Join(types, ", "))
}

func requireProperty(name string, get func(*Binding) string) func(*Binding, string, addFunc) {
	return func(b *Binding, field string, add addFunc) {
		if strings.TrimSpace(get(b)) == "" {
			add(field+"."+name, "is required for a %s binding", b.Type)
		}
	}
}

func checkTimerTrigger(b *Binding, field string, add addFunc) {
	if strings.TrimSpace(b.Schedule) == "" {
		add(field+".schedule", "is required for a timerTrigger binding")
	}
	if _, ok := Flag(b.RunOnStartup, false); !ok {
		add(field+".runOnStartup", "must be true or false")
	}
	if _, ok := Flag(b.UseMonitor, true); !ok {
		add(field+".useMonitor", "must be true or false")
	}
}

func checkBlob(b *Binding, field string, add addFunc) {
	if strings.TrimSpace(b.Path) == "" {
		add(field+".path", "is required for a blob binding")
	}
	switch strings.ToLower(b.DataType) {
	case "", "string", "binary", "stream":
	default:
		add(field+".dataType", `must be "string", "binary" or "stream", got %q`, b.DataType)
	}
	if strings.EqualFold(b.Direction, "inout") {
		add(field+".direction", "a blob binding is \"in\" or \"out\" in funchost")
	}
}
