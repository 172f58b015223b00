package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/funchost/funchost/internal/jsonpos"
	"github.com/funchost/funchost/internal/timespan"
)

// node is one value of a decoded JSON document. Objects keep their keys as
// written; lookups are case-insensitive because the Functions host reads
// host.json through .NET configuration, which ignores case.
type node = any

// decodeObject decodes data, the content of file, into a generic tree
// (numbers kept as json.Number) whose top level must be an object. Syntax
// errors become "file: invalid JSON at line L, column C" messages.
func decodeObject(file string, data []byte) (map[string]any, error) {
	var v node
	if err := jsonpos.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: the top-level value must be a JSON object", file)
	}
	return obj, nil
}

// lookup finds key in obj ignoring case, returning the key as written.
func lookup(obj map[string]any, key string) (string, any, bool) {
	if v, ok := obj[key]; ok {
		return key, v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, key) {
			return k, v, true
		}
	}
	return "", nil, false
}

// setPath stores value at path inside root, creating objects on the way; an
// existing non-object in the way is replaced, as .NET configuration does.
func setPath(root map[string]any, path []string, value any) {
	cur := root
	for i, key := range path {
		k, v, ok := lookup(cur, key)
		if !ok {
			k = key
		}
		if i == len(path)-1 {
			cur[k] = value
			return
		}
		next, isObj := v.(map[string]any)
		if !isObj {
			next = map[string]any{}
			cur[k] = next
		}
		cur = next
	}
}

// reader extracts typed fields from a decoded tree and collects every
// problem, so one run reports all bad fields of a file.
type reader struct {
	file     string
	root     map[string]any
	problems []string
}

func (r *reader) fail(path, format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf("%s: field %q: %s", r.file, path, fmt.Sprintf(format, args...)))
}

func (r *reader) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(r.problems, "\n"))
}

// get returns the value at a dotted path, or ok=false when it is absent.
func (r *reader) get(path string) (any, bool) {
	var cur any = r.root
	for _, key := range strings.Split(path, ".") {
		obj, isObj := cur.(map[string]any)
		if !isObj {
			return nil, false
		}
		_, v, ok := lookup(obj, key)
		if !ok {
			return nil, false
		}
		cur = v
	}
	if cur == nil { // JSON null counts as absent
		return nil, false
	}
	return cur, true
}

func (r *reader) str(path, def string) string {
	v, ok := r.get(path)
	if !ok {
		return def
	}
	if s, ok := scalarText(v); ok {
		return s
	}
	r.fail(path, "must be a string")
	return def
}

// scalarText returns the text of a JSON string, number or boolean: .NET
// configuration reads all three as strings.
func scalarText(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case json.Number:
		return s.String(), true
	case bool:
		return strconv.FormatBool(s), true
	}
	return "", false
}

func (r *reader) boolean(path string, def bool) bool {
	v, ok := r.get(path)
	if !ok {
		return def
	}
	switch b := v.(type) {
	case bool:
		return b
	case string: // environment overrides arrive as text
		if p, err := strconv.ParseBool(strings.TrimSpace(b)); err == nil {
			return p
		}
	}
	r.fail(path, "must be true or false, got %s", show(v))
	return def
}

// optBool returns nil when the field is absent.
func (r *reader) optBool(path string) *bool {
	if _, ok := r.get(path); !ok {
		return nil
	}
	b := r.boolean(path, false)
	return &b
}

func (r *reader) integer(path string, def, lo, hi int64) int64 {
	v, ok := r.get(path)
	if !ok {
		return def
	}
	var n int64
	var err error
	switch x := v.(type) {
	case json.Number:
		n, err = strconv.ParseInt(x.String(), 10, 64)
	case string:
		n, err = strconv.ParseInt(strings.TrimSpace(x), 10, 64)
	default:
		err = errors.New("not a number")
	}
	if err != nil {
		r.fail(path, "must be an integer, got %s", show(v))
		return def
	}
	if n < lo || n > hi {
		if hi == maxInt {
			r.fail(path, "must be at least %d, got %d", lo, n)
		} else {
			r.fail(path, "must be between %d and %d, got %d", lo, hi, n)
		}
		return def
	}
	return n
}

const maxInt = int64(^uint64(0) >> 1)

// duration reads a .NET TimeSpan string ("hh:mm:ss", "d.hh:mm:ss",
// fractional seconds allowed) and checks it against [lo, hi] (hi 0 = no
// upper bound). allowInfinite accepts "-1" (returned as -1).
func (r *reader) duration(path string, def, lo, hi time.Duration, allowInfinite bool) time.Duration {
	v, ok := r.get(path)
	if !ok {
		return def
	}
	s, isStr := v.(string)
	if !isStr {
		if n, isNum := v.(json.Number); isNum && allowInfinite && n.String() == "-1" {
			return -1
		}
		r.fail(path, "must be a time span string \"hh:mm:ss\", got %s", show(v))
		return def
	}
	s = strings.TrimSpace(s)
	if allowInfinite && (s == "-1" || s == "-00:00:01") {
		return -1
	}
	d, err := ParseTimeSpan(s)
	if err != nil {
		r.fail(path, "%v", err)
		return def
	}
	if d < lo || (hi > 0 && d > hi) {
		if hi > 0 {
			r.fail(path, "must be between %s and %s, got %s", FormatTimeSpan(lo), FormatTimeSpan(hi), s)
		} else {
			r.fail(path, "must be at least %s, got %s", FormatTimeSpan(lo), s)
		}
		return def
	}
	return d
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// ParseTimeSpan parses a .NET TimeSpan ("hh:mm:ss", "d.hh:mm:ss", …).
func ParseTimeSpan(s string) (time.Duration, error) { return timespan.Parse(s) }

// FormatTimeSpan formats d as .NET does ("00:05:00", "1.00:00:00").
func FormatTimeSpan(d time.Duration) string { return timespan.Format(d.Round(time.Second)) }

// schema lists the keys funchost knows below some object: a nested schema,
// nil for "known, contents not checked", or notImplemented. The key "*"
// stands for every key not listed (sections whose keys are open-ended).
type schema map[string]schema

// notImplemented marks Functions settings funchost accepts but does not
// implement: they are reported, so an operator knows they have no effect.
var notImplemented = schema{"\x00notImplemented": nil}

// unknownKeys walks obj against s and returns the dotted paths of keys that
// are not in s and of keys marked notImplemented, each sorted.
func unknownKeys(obj map[string]any, s schema, prefix string) (unknown, unimplemented []string) {
	for k, v := range obj {
		var sub schema
		known := false
		for sk, ss := range s {
			if strings.EqualFold(sk, k) {
				known, sub = true, ss
				break
			}
		}
		if other, ok := s["*"]; ok && !known {
			known, sub = true, other // any other key of an open section
		}
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		switch {
		case !known:
			unknown = append(unknown, path)
		case hasMarker(sub):
			unimplemented = append(unimplemented, path)
		default:
			if child, isObj := v.(map[string]any); isObj && sub != nil {
				u, n := unknownKeys(child, sub, path)
				unknown, unimplemented = append(unknown, u...), append(unimplemented, n...)
			}
		}
	}
	sort.Strings(unknown)
	sort.Strings(unimplemented)
	return unknown, unimplemented
}

func hasMarker(s schema) bool {
	_, ok := s["\x00notImplemented"]
	return ok
}
