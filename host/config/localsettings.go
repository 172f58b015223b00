package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// LocalSettings is the parsed local.settings.json.
type LocalSettings struct {
	// Path is the file read ("" when the app has none).
	Path        string
	IsEncrypted bool
	// Values are the app settings, exported to the environment by Export.
	Values map[string]string
	// LocalHTTPPort is Host.LocalHttpPort (default 7071).
	LocalHTTPPort int
	// CORS lists the allowed origins of Host.CORS ("*" allowed).
	CORS []string
	// CORSCredentials is Host.CORSCredentials.
	CORSCredentials bool
}

// DefaultLocalHTTPPort is the port used when nothing else sets one.
const DefaultLocalHTTPPort = 7071

// LoadLocalSettings reads <scriptRoot>/local.settings.json. A missing file
// yields defaults. Encrypted files are rejected: funchost cannot decrypt
// them (Core Tools uses a Windows machine key).
func LoadLocalSettings(scriptRoot string) (*LocalSettings, error) {
	ls := &LocalSettings{Values: map[string]string{}, LocalHTTPPort: DefaultLocalHTTPPort}
	path := filepath.Join(scriptRoot, "local.settings.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ls, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ls.Path = path
	root, err := decodeObject(path, data)
	if err != nil {
		return nil, err
	}
	r := &reader{file: path, root: root}
	ls.IsEncrypted = r.boolean("IsEncrypted", false)
	if ls.IsEncrypted {
		r.fail("IsEncrypted", "encrypted settings are not supported; decrypt them with `func settings decrypt` and set \"IsEncrypted\": false")
	}
	if raw, ok := r.get("Values"); ok {
		obj, isObj := raw.(map[string]any)
		if !isObj {
			r.fail("Values", "must be an object of string values")
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if obj[k] == nil {
				continue // Core Tools skips null values.
			}
			if s, ok := scalarText(obj[k]); ok {
				ls.Values[k] = s
			} else {
				r.fail("Values."+k, "must be a string (objects and arrays are not allowed)")
			}
		}
	}
	ls.LocalHTTPPort = int(r.integer("Host.LocalHttpPort", DefaultLocalHTTPPort, 1, 65535))
	if cors := strings.TrimSpace(r.str("Host.CORS", "")); cors != "" {
		for _, o := range strings.Split(cors, ",") {
			if o = strings.TrimSpace(o); o != "" {
				ls.CORS = append(ls.CORS, strings.TrimRight(o, "/"))
			}
		}
	}
	ls.CORSCredentials = r.boolean("Host.CORSCredentials", false)
	if err := r.err(); err != nil {
		return nil, err
	}
	return ls, nil
}

// Export copies Values into env, except where env already holds a
// non-empty value of the same name (the environment wins, as in Core
// Tools). It returns the names it skipped.
func (ls *LocalSettings) Export(env Env) ([]string, error) {
	keys := make([]string, 0, len(ls.Values))
	for k := range ls.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var skipped []string
	for _, k := range keys {
		if cur, ok := env.LookupEnv(k); ok && cur != "" {
			skipped = append(skipped, k)
			continue
		}
		if err := env.Setenv(k, ls.Values[k]); err != nil {
			return skipped, fmt.Errorf("%s: exporting Values.%s: %w", ls.Path, k, err)
		}
	}
	return skipped, nil
}
