package azurestorage

import (
	"fmt"
	"regexp"
	"strings"
)

// hubNamePattern is the task hub naming rule of Durable Functions: letters
// and digits, starting with a letter, 3 to 45 characters. It keeps every
// derived table, queue and container name within Azure's limits.
var hubNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{2,44}$`)

// ValidateTaskHubName reports whether name is a usable task hub name.
func ValidateTaskHubName(name string) error {
	if !hubNamePattern.MatchString(name) {
		return fmt.Errorf("azurestorage: invalid task hub name %q: use 3 to 45 letters or digits, starting with a letter", name)
	}
	return nil
}

// resourceNames are the storage resources of one task hub (DTFx layout).
type resourceNames struct {
	instancesTable string
	historyTable   string
	controlQueues  []string
	workItemQueue  string
	leaseContainer string
	largeContainer string
}

func newResourceNames(hub string, partitions int) resourceNames {
	lower := strings.ToLower(hub)
	n := resourceNames{
		instancesTable: hub + "Instances",
		historyTable:   hub + "History",
		workItemQueue:  lower + "-workitems",
		leaseContainer: lower + "-leases",
		largeContainer: lower + "-largemessages",
	}
	for i := 0; i < partitions; i++ {
		n.controlQueues = append(n.controlQueues, fmt.Sprintf("%s-control-%02d", lower, i))
	}
	return n
}

// sanitizeKey escapes an instance ID for use as a table PartitionKey, as
// DTFx does: '^' is the escape character; '/', '\', '#', '?' and control
// characters are not allowed in keys.
func sanitizeKey(id string) string {
	if !strings.ContainsAny(id, "^/\\#?") && !hasControl(id) {
		return id
	}
	var b strings.Builder
	for _, r := range id {
		switch {
		case r == '^':
			b.WriteString("^^")
		case r == '/':
			b.WriteString("^0")
		case r == '\\':
			b.WriteString("^1")
		case r == '#':
			b.WriteString("^2")
		case r == '?':
			b.WriteString("^3")
		case isControl(r):
			b.WriteRune('^')
			b.WriteRune(r + 0xC0)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unsanitizeKey reverses sanitizeKey.
func unsanitizeKey(key string) string {
	if !strings.ContainsRune(key, '^') {
		return key
	}
	var b strings.Builder
	rs := []rune(key)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r != '^' || i+1 == len(rs) {
			b.WriteRune(r)
			continue
		}
		i++
		switch n := rs[i]; n {
		case '^':
			b.WriteRune('^')
		case '0':
			b.WriteRune('/')
		case '1':
			b.WriteRune('\\')
		case '2':
			b.WriteRune('#')
		case '3':
			b.WriteRune('?')
		default:
			b.WriteRune(n - 0xC0)
		}
	}
	return b.String()
}

func isControl(r rune) bool { return r <= 0x1F || (r >= 0x7F && r <= 0x9F) }

func hasControl(s string) bool {
	for _, r := range s {
		if isControl(r) {
			return true
		}
	}
	return false
}

// odataQuote quotes a string literal for an OData filter.
func odataQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
