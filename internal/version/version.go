// Package version holds Durable Functions' orchestration-versioning rules
// in one place: how two version strings compare, which instances a worker
// may run under a match strategy, and what it does with the others. The
// engine, the host configuration, the durable client and the author API
// (bindings.CompareVersions) all use it, so that a version means the same
// thing everywhere. docs/versioning.md explains the rules and why they
// are what they are.
package version

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
)

// Compare orders two orchestration versions as Durable Functions does
// (DTFx's VersioningSettings.CompareVersions), returning -1, 0 or +1:
//
//  1. both empty (or whitespace only): equal;
//  2. only a empty: a is older; only b empty: a is newer;
//  3. both .NET System.Version strings (2 to 4 dot-separated non-negative
//     32-bit integers, e.g. "1.0", "2.1.3"): component by component, a
//     missing component counting below 0 (so "1.0" < "1.0.0");
//  4. otherwise: ordinal, case-insensitive text order — so "2" and "10"
//     (single integers are not System.Version strings) compare as text and
//     "10" < "9".
//
// Rule 4 surprises people; versions such as "1.0", "2.0" avoid it.
func Compare(a, b string) int {
	ea, eb := blank(a), blank(b)
	switch {
	case ea && eb:
		return 0
	case ea:
		return -1
	case eb:
		return 1
	}
	if va, ok := parseDotNet(a); ok {
		if vb, ok := parseDotNet(b); ok {
			for i := range va {
				if c := cmp.Compare(va[i], vb[i]); c != 0 {
					return c
				}
			}
			return 0
		}
	}
	return compareOrdinalIgnoreCase(a, b)
}

func blank(s string) bool { return strings.TrimFunc(s, unicode.IsSpace) == "" }

// parseDotNet parses s as System.Version.TryParse does: 2–4 components
// separated by '.', each an integer in NumberStyles.Integer form (surrounding
// white space and a sign allowed) between 0 and 2^31-1. Missing build and
// revision components are -1, as in .NET.
func parseDotNet(s string) ([4]int64, bool) {
	v := [4]int64{-1, -1, -1, -1}
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 4 {
		return v, false
	}
	for i, p := range parts {
		n, ok := parseComponent(strings.TrimFunc(p, isNumberSpace))
		if !ok {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

// parseComponent reads one component: an optional sign and decimal
// digits, at most 2^31-1; a negative value is refused, but "-0" is 0.
func parseComponent(p string) (int64, bool) {
	neg := false
	if p != "" && (p[0] == '+' || p[0] == '-') {
		neg, p = p[0] == '-', p[1:]
	}
	if p == "" || strings.TrimLeft(p, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(p, 10, 32)
	if err != nil || neg && n != 0 {
		return 0, false
	}
	return n, true
}

// isNumberSpace is the white space NumberStyles.Integer allows around a
// number: U+0009–U+000D and U+0020.
func isNumberSpace(r rune) bool { return r == ' ' || r >= '\t' && r <= '\r' }

// compareOrdinalIgnoreCase compares UTF-16 code units after simple
// upper-casing, as .NET's StringComparison.OrdinalIgnoreCase does.
func compareOrdinalIgnoreCase(a, b string) int {
	ua, ub := upperUnits(a), upperUnits(b)
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			return cmp.Compare(int64(ua[i]), int64(ub[i]))
		}
	}
	return cmp.Compare(int64(len(ua)), int64(len(ub)))
}

func upperUnits(s string) []uint16 {
	units := utf16.Encode([]rune(s))
	for i, u := range units {
		if !utf16.IsSurrogate(rune(u)) {
			if up := unicode.ToUpper(rune(u)); up <= 0xFFFF {
				units[i] = uint16(up)
			}
		}
	}
	return units
}

// MatchStrategy says which instances a worker runs, by their version
// against the worker's (host.json versionMatchStrategy).
type MatchStrategy int

// The match strategies.
const (
	// MatchNone runs every instance, whatever its version.
	MatchNone MatchStrategy = iota
	// MatchStrict runs only instances whose version equals the worker's
	// (by Compare: "1.0" and "1.0 " are equal, "" and unset too).
	MatchStrict
	// MatchCurrentOrOlder runs instances of the worker's version or older,
	// not newer ones: a new build runs old instances, an old build leaves
	// new instances alone. Durable Functions' default.
	MatchCurrentOrOlder
)

// FailureStrategy says what a worker does with an instance it may not run
// (host.json versionFailureStrategy).
type FailureStrategy int

// The failure strategies.
const (
	// FailReject leaves the work item for another worker: it is abandoned
	// with the usual back-off, nothing is recorded. Durable Functions'
	// default.
	FailReject FailureStrategy = iota
	// FailFail fails the instance with ErrorType VersionMismatch.
	FailFail
)

var matchNames = [...]string{"None", "Strict", "CurrentOrOlder"}
var failureNames = [...]string{"Reject", "Fail"}

// String returns the host.json name.
func (m MatchStrategy) String() string {
	if m >= 0 && int(m) < len(matchNames) {
		return matchNames[m]
	}
	return fmt.Sprintf("MatchStrategy(%d)", int(m))
}

// String returns the host.json name.
func (f FailureStrategy) String() string {
	if f >= 0 && int(f) < len(failureNames) {
		return failureNames[f]
	}
	return fmt.Sprintf("FailureStrategy(%d)", int(f))
}

// ParseMatchStrategy reads a host.json versionMatchStrategy: a name in any
// case or its number (0–2), as .NET's enum reader accepts.
func ParseMatchStrategy(s string) (MatchStrategy, error) {
	i, err := parseEnum(s, matchNames[:])
	if err != nil {
		return 0, fmt.Errorf("must be one of %s, got %q", strings.Join(matchNames[:], ", "), s)
	}
	return MatchStrategy(i), nil
}

// ParseFailureStrategy reads a host.json versionFailureStrategy: a name in
// any case or its number (0–1).
func ParseFailureStrategy(s string) (FailureStrategy, error) {
	i, err := parseEnum(s, failureNames[:])
	if err != nil {
		return 0, fmt.Errorf("must be one of %s, got %q", strings.Join(failureNames[:], ", "), s)
	}
	return FailureStrategy(i), nil
}

func parseEnum(s string, names []string) (int, error) {
	s = strings.TrimSpace(s)
	for i, n := range names {
		if strings.EqualFold(s, n) {
			return i, nil
		}
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < len(names) {
		return n, nil
	}
	return 0, fmt.Errorf("unknown value %q", s)
}

// Settings are a worker's versioning settings (host.json's defaultVersion,
// versionMatchStrategy and versionFailureStrategy). The zero value is
// versioning off: no version stamped, every instance runs.
type Settings struct {
	// Default is the version stamped on the orchestrations and
	// sub-orchestrations this app starts without an explicit one, and the
	// worker's own version for matching.
	Default string
	Match   MatchStrategy
	Failure FailureStrategy
}

// Enabled reports whether the worker checks versions at all: only when
// it has a version of its own (Default set) and a strategy other than
// MatchNone. An app without defaultVersion runs every instance, so that
// turning on versioning is a deliberate step (docs/versioning.md).
func (s Settings) Enabled() bool { return !blank(s.Default) && s.Match != MatchNone }

// Allows reports whether the worker may run an instance of version v.
func (s Settings) Allows(v string) bool {
	if !s.Enabled() {
		return true
	}
	switch s.Match {
	case MatchStrict:
		return Compare(v, s.Default) == 0
	case MatchCurrentOrOlder:
		return Compare(v, s.Default) <= 0
	}
	return true
}

// MismatchErrorType and MismatchMessage are the failure details of an
// instance failed under FailFail, as Durable Functions writes them.
const (
	MismatchErrorType = "VersionMismatch"
	MismatchMessage   = "Orchestration version did not comply with Worker Versioning"
)

// Explain says in a sentence why the worker may not run an instance of
// version v (for logs and failure details).
func (s Settings) Explain(v string) string {
	if s.Match == MatchStrict {
		return fmt.Sprintf("the orchestration version %q does not match the worker version %q (versionMatchStrategy Strict)", v, s.Default)
	}
	return fmt.Sprintf("the orchestration version %q is greater than the worker version %q (versionMatchStrategy CurrentOrOlder)", v, s.Default)
}
