package httpserver

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// Setting names holding keys. They are read from the environment, which
// includes local.settings.json's Values.
const (
	// SettingMasterKey holds the master key: it satisfies every auth level,
	// including admin, and the management API.
	SettingMasterKey = "FUNCTIONS_MASTER_KEY"
	// SettingHostKey holds a host key: it satisfies the function level of
	// every function.
	SettingHostKey = "FUNCTIONS_HOST_KEY"
	// SettingFunctionKeyPrefix + function name holds that function's key
	// (e.g. FUNCTIONS_KEY_HttpStart; the upper-case name is also tried).
	SettingFunctionKeyPrefix = "FUNCTIONS_KEY_"
	// SettingDurableTaskSystemKey holds the system key named
	// "durabletask_extension", which unlocks the Durable management API.
	SettingDurableTaskSystemKey = "FUNCTIONS_SYSTEM_KEY_DURABLETASK_EXTENSION"
	// DurableTaskSystemKeyName is the Functions name of that system key.
	DurableTaskSystemKeyName = "durabletask_extension"
)

// Keys are the access keys the host checks. Empty strings are "not set".
type Keys struct {
	Master   string
	Host     string
	Function map[string]string // by function name
	System   map[string]string // by system key name, e.g. "durabletask_extension"
}

// KeysFromSettings reads the key settings for the given functions through
// lookup (usually os.LookupEnv).
func KeysFromSettings(lookup func(string) (string, bool), functionNames []string) Keys {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	k := Keys{Master: get(SettingMasterKey), Host: get(SettingHostKey), Function: map[string]string{}, System: map[string]string{}}
	for _, fn := range functionNames {
		v := get(SettingFunctionKeyPrefix + fn)
		if v == "" {
			v = get(SettingFunctionKeyPrefix + strings.ToUpper(fn))
		}
		if v != "" {
			k.Function[fn] = v
		}
	}
	if v := get(SettingDurableTaskSystemKey); v != "" {
		k.System[DurableTaskSystemKeyName] = v
	}
	return k
}

// Open reports whether no key at all is configured: the host then lets
// every request through, as Core Tools does locally.
func (k Keys) Open() bool {
	if k.Master != "" || k.Host != "" {
		return false
	}
	for _, v := range k.Function {
		if v != "" {
			return false
		}
	}
	for _, v := range k.System {
		if v != "" {
			return false
		}
	}
	return true
}

// presentedKey returns the key of a request: the x-functions-key header,
// else the code query parameter.
func presentedKey(r *http.Request) string {
	if v := r.Header.Get("x-functions-key"); v != "" {
		return v
	}
	q := r.URL.Query()
	if v := q.Get("code"); v != "" {
		return v
	}
	for name, vs := range q { // query names are case-insensitive in Functions
		if strings.EqualFold(name, "code") && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// keyEqual compares in constant time; an unset key never matches.
func keyEqual(presented, configured string) bool {
	if configured == "" || presented == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(presented), []byte(configured)) == 1
}

// allowFunction reports whether r's key lets it call function fn at the
// given (lower-case) level. Callers let anonymous functions, and every
// function when k.Open(), through without calling it.
func (k Keys) allowFunction(r *http.Request, level, fn string) bool {
	key := presentedKey(r)
	if keyEqual(key, k.Master) {
		return true
	}
	if level == "admin" {
		return false
	}
	return keyEqual(key, k.Host) || keyEqual(key, k.Function[fn])
}

// RequireSystemKey returns middleware guarding an extension's webhook (the
// Durable management API and the dashboard under it): as soon as any key
// is configured, the request must carry the system key named
// systemKeyName or the master key; function and host keys never unlock
// it. A host that configures only function keys would otherwise serve
// list, terminate and purge to anyone (the host generates the system key
// in that case, see the host package). With no key at all (k.Open) the
// host runs open for local development and so does the webhook.
func RequireSystemKey(k Keys, systemKeyName string) func(http.Handler) http.Handler {
	system := k.System[systemKeyName]
	return func(next http.Handler) http.Handler {
		if k.Open() {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := presentedKey(r)
			if keyEqual(key, system) || keyEqual(key, k.Master) {
				next.ServeHTTP(w, r)
				return
			}
			writeJSONError(w, http.StatusUnauthorized, "Unauthorized: this endpoint requires the "+systemKeyName+" system key or the master key (x-functions-key header or code query parameter).")
		})
	}
}

// RequireMasterKey returns middleware guarding the admin API: the request
// must carry the master key. With no key configured at all the host runs
// open (as Core Tools does) and so does the admin API; with keys but no
// master key, the admin API cannot be reached.
func RequireMasterKey(k Keys) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if k.Open() {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if keyEqual(presentedKey(r), k.Master) {
				next.ServeHTTP(w, r)
				return
			}
			writeJSONError(w, http.StatusUnauthorized, "Unauthorized: the admin API requires the master key (x-functions-key header or code query parameter).")
		})
	}
}

// IsMaster reports whether r carries the master key (a disabled HTTP
// function still answers such requests).
func (k Keys) IsMaster(r *http.Request) bool { return keyEqual(presentedKey(r), k.Master) }
