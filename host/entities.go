package host

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/functions"
	"github.com/funchost/funchost/host/settingref"
)

// entityFunctions collects the enabled entity functions by entity name
// (the trigger's entityName with %Setting% resolved, else the function
// name), lower-cased as entity IDs are. Unresolvable names, names with
// '@' and names two functions share are reported together.
func entityFunctions(fns []*functions.Function, env config.Env) (map[string]bindings.Entity, error) {
	out := map[string]bindings.Entity{}
	owner := map[string]string{}
	var problems []string
	for _, f := range fns {
		if f.Def.Disabled || f.Def.Kind != functions.KindEntity {
			continue
		}
		name, err := settingref.Resolve(f.Def.TaskName(), env.LookupEnv)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: entityName: %v", f.Def.Path, err))
			continue
		}
		key := strings.ToLower(strings.TrimSpace(name))
		switch {
		case key == "" || strings.Contains(key, "@"):
			problems = append(problems, fmt.Sprintf("%s: entity name %q must be non-empty and must not contain '@'", f.Def.Path, name))
		case owner[key] != "":
			problems = append(problems, fmt.Sprintf("%s: entity name %q is already used by function %s (entity names are case-insensitive)", f.Def.Path, name, owner[key]))
		default:
			owner[key] = f.Def.Name
			out[key] = f.Entity
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return out, errors.New("entity functions:\n  " + strings.Join(problems, "\n  "))
	}
	return out, nil
}
