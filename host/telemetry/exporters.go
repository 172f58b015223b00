package telemetry

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// ExporterFromEnv builds the span exporter the standard OpenTelemetry
// settings ask for: OTEL_TRACES_EXPORTER "otlp" (default), "console"
// (spans as JSON on standard output) or "none"; for OTLP,
// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL
// "http/protobuf" (default) or "grpc", with the endpoint, headers and
// timeouts of the OTEL_EXPORTER_OTLP_* settings, which the exporters read
// themselves. It returns nil for "none" and when OTEL_SDK_DISABLED is
// true.
func ExporterFromEnv(ctx context.Context, lookup func(string) (string, bool)) (sdktrace.SpanExporter, error) {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	if strings.EqualFold(get("OTEL_SDK_DISABLED"), "true") {
		return nil, nil
	}
	kind := strings.ToLower(get("OTEL_TRACES_EXPORTER"))
	switch kind {
	case "none":
		return nil, nil
	case "console", "stdout":
		return stdouttrace.New(stdouttrace.WithWriter(os.Stdout))
	case "", "otlp":
	default:
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%q is not supported (want otlp, console or none)", kind)
	}
	proto := get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = get("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch strings.ToLower(proto) {
	case "", "http/protobuf":
		return otlptracehttp.New(ctx)
	case "grpc":
		return otlptracegrpc.New(ctx)
	}
	return nil, fmt.Errorf("OTLP protocol %q is not supported (want http/protobuf or grpc)", proto)
}

// Resource describes the process as the Functions host does: service.name
// is the site name (WEBSITE_SITE_NAME, else "funchost"), service.version
// the funchost version, cloud.platform "azure_functions" (the host's
// value) when running on Azure; OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES override.
func Resource(lookup func(string) (string, bool)) *resource.Resource {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	name, _ := lookup("WEBSITE_SITE_NAME")
	attrs := []attribute.KeyValue{attribute.String("service.version", Version)}
	if name != "" {
		attrs = append(attrs, attribute.String("cloud.provider", "azure"), attribute.String("cloud.platform", "azure_functions"))
	} else {
		name = "funchost"
	}
	attrs = append(attrs, attribute.String("service.name", name))
	r, err := resource.New(context.Background(), resource.WithAttributes(attrs...), resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return resource.NewSchemaless(attrs...)
	}
	return r
}
