package telemetry

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// MetricExporterFromEnv builds the metric exporter the standard
// OpenTelemetry settings ask for, pushed periodically beside the
// Prometheus endpoint (which stays): OTEL_METRICS_EXPORTER "otlp" or
// "console" (JSON on standard output); for OTLP,
// OTEL_EXPORTER_OTLP_METRICS_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL
// "http/protobuf" (default) or "grpc", with the OTEL_EXPORTER_OTLP_*
// endpoint, headers and timeouts, which the exporters read themselves;
// OTEL_METRIC_EXPORT_INTERVAL / _TIMEOUT are read by the SDK's periodic
// reader. Unlike the specification's default, an unset
// OTEL_METRICS_EXPORTER means no push (nil): the metrics are scraped at
// /admin/metrics, and a host without a collector should not retry
// connections to one. "none", "prometheus" and OTEL_SDK_DISABLED=true
// give nil too.
func MetricExporterFromEnv(ctx context.Context, lookup func(string) (string, bool)) (sdkmetric.Exporter, error) {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	if strings.EqualFold(get("OTEL_SDK_DISABLED"), "true") {
		return nil, nil
	}
	kind := strings.ToLower(get("OTEL_METRICS_EXPORTER"))
	switch kind {
	case "", "none", "prometheus":
		return nil, nil
	case "console", "stdout":
		return stdoutmetric.New(stdoutmetric.WithWriter(os.Stdout))
	case "otlp":
	default:
		return nil, fmt.Errorf("OTEL_METRICS_EXPORTER=%q is not supported (want otlp, console, prometheus or none)", kind)
	}
	proto := get("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")
	if proto == "" {
		proto = get("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch strings.ToLower(proto) {
	case "", "http/protobuf":
		return otlpmetrichttp.New(ctx)
	case "grpc":
		return otlpmetricgrpc.New(ctx)
	}
	return nil, fmt.Errorf("OTLP protocol %q is not supported for metrics (want http/protobuf or grpc)", proto)
}
