package telemetry

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The metrics endpoint writes what the OpenTelemetry SDK collected in the
// Prometheus text exposition format (version 0.0.4), which every
// Prometheus-compatible scraper reads: names with '.' as '_', counters
// with "_total", histograms as cumulative "_bucket" series with "_sum" and
// "_count", a unit of seconds or milliseconds as a name suffix.

// promHandler serves the collected metrics of reader.
func promHandler(reader *sdkmetric.ManualReader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(r.Context(), &rm); err != nil {
			http.Error(w, "collecting metrics: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		writeProm(w, &rm)
	})
}

// writeProm renders rm.
func writeProm(w io.Writer, rm *metricdata.ResourceMetrics) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			writeMetric(w, m)
		}
	}
}

func writeMetric(w io.Writer, m metricdata.Metrics) {
	name := promName(m.Name, m.Unit)
	help := func(name, typ string) {
		if m.Description != "" {
			fmt.Fprintf(w, "# HELP %s %s\n", name, strings.ReplaceAll(m.Description, "\n", " "))
		}
		fmt.Fprintf(w, "# TYPE %s %s\n", name, typ)
	}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		writeSum(w, name, help, d.IsMonotonic, d.DataPoints, func(v int64) string { return strconv.FormatInt(v, 10) })
	case metricdata.Sum[float64]:
		writeSum(w, name, help, d.IsMonotonic, d.DataPoints, promFloat)
	case metricdata.Gauge[int64]:
		help(name, "gauge")
		for _, p := range d.DataPoints {
			fmt.Fprintf(w, "%s%s %d\n", name, promLabels(p.Attributes, ""), p.Value)
		}
	case metricdata.Gauge[float64]:
		help(name, "gauge")
		for _, p := range d.DataPoints {
			fmt.Fprintf(w, "%s%s %s\n", name, promLabels(p.Attributes, ""), promFloat(p.Value))
		}
	case metricdata.Histogram[float64]:
		help(name, "histogram")
		for _, p := range d.DataPoints {
			var cum uint64
			for i, b := range p.Bounds {
				cum += p.BucketCounts[i]
				fmt.Fprintf(w, "%s_bucket%s %d\n", name, promLabels(p.Attributes, promFloat(b)), cum)
			}
			fmt.Fprintf(w, "%s_bucket%s %d\n", name, promLabels(p.Attributes, "+Inf"), p.Count)
			fmt.Fprintf(w, "%s_sum%s %s\n", name, promLabels(p.Attributes, ""), promFloat(p.Sum))
			fmt.Fprintf(w, "%s_count%s %d\n", name, promLabels(p.Attributes, ""), p.Count)
		}
	}
}

func writeSum[N int64 | float64](w io.Writer, name string, help func(string, string), monotonic bool, pts []metricdata.DataPoint[N], format func(N) string) {
	typ := "gauge"
	if monotonic {
		name, typ = name+"_total", "counter"
	}
	help(name, typ)
	for _, p := range pts {
		fmt.Fprintf(w, "%s%s %s\n", name, promLabels(p.Attributes, ""), format(p.Value))
	}
}

// promName is an instrument name as a Prometheus metric name.
func promName(name, unit string) string {
	var b strings.Builder
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_', r == ':', r >= '0' && r <= '9' && i > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	switch unit {
	case "s":
		b.WriteString("_seconds")
	case "ms":
		b.WriteString("_milliseconds")
	}
	return b.String()
}

// promLabels renders an attribute set (and le, when given) as labels.
func promLabels(set attribute.Set, le string) string {
	kvs := set.ToSlice()
	if len(kvs) == 0 && le == "" {
		return ""
	}
	parts := make([]string, 0, len(kvs)+1)
	for _, kv := range kvs {
		parts = append(parts, promName(string(kv.Key), "")+`="`+promEscape(kv.Value.Emit())+`"`)
	}
	sort.Strings(parts)
	if le != "" {
		parts = append(parts, `le="`+le+`"`)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func promEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func promFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
