package timer

import (
	"fmt"
	"hash/fnv"
	"os"
	"strings"
	"unicode"
)

// Settings that name the host ID.
const (
	SettingHostID   = "AzureFunctionsWebHost__hostid"
	SettingSiteName = "WEBSITE_SITE_NAME"
)

// HostID returns the ID under which timer statuses and locks are kept: the
// AzureFunctionsWebHost__hostid setting, else the App Service site name,
// else (locally) the machine name and a stable hash of the app folder. Like
// the Functions host it is lower case, at most 32 characters, without a
// trailing '-'. Two apps sharing a storage account and host ID share timers
// (only one runs each).
func HostID(lookup func(string) (string, bool), scriptRoot string) string {
	if v, ok := lookup(SettingHostID); ok && strings.TrimSpace(v) != "" {
		return sanitizeHostID(v)
	}
	if v, ok := lookup(SettingSiteName); ok && strings.TrimSpace(v) != "" {
		return sanitizeHostID(v)
	}
	machine, _ := os.Hostname()
	var b strings.Builder
	for _, r := range machine {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		}
	}
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(scriptRoot)))
	return sanitizeHostID(fmt.Sprintf("%s-%d", b.String(), h.Sum32()))
}

func sanitizeHostID(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) > 32 {
		s = s[:32]
	}
	return strings.TrimRight(s, "-")
}
