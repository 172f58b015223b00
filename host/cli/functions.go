package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newFunctionsCommand(cfg *Config) *cobra.Command {
	g := group("functions", "Inspect the app's functions")
	var root, format string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the functions: trigger, route, auth level, and those in error",
		Long: `List the app's functions as the host loads them from functions/*/function.json and the
handlers registered in this binary: each one's trigger, HTTP route (with the route prefix),
methods and auth level, a timer's schedule or a queue's name, whether it is disabled — and the
functions in error (invalid function.json, unknown binding, missing handler) with their errors.
Nothing is started. Exit code 0 even when functions are in error; 1 when the app folder cannot
be read.`,
		Example: "  " + cfg.Name + " functions list --script-root .\n  " + cfg.Name + " functions list -o json | jq -r '.[] | select(.errors) | .name'",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := newPrinter(cfg, format)
			if err != nil {
				return err
			}
			if cfg.Functions == nil {
				return errors.New("this binary cannot list functions: no app was given to the CLI")
			}
			fns, err := cfg.Functions(root)
			if err != nil {
				return fmt.Errorf("loading the app's functions: %w", err)
			}
			return printFunctions(p, fns)
		},
	}
	list.Flags().StringVar(&root, "script-root", "", "the function app folder (default: the working directory)")
	addOutputFlag(list, &format)
	g.AddCommand(list)
	return g
}

func printFunctions(p *printer, fns []Function) error {
	if p.json() {
		if fns == nil {
			fns = []Function{}
		}
		return p.writeJSON(fns)
	}
	t := &table{header: []string{"NAME", "TRIGGER", "ROUTE / DETAIL", "AUTH", "STATE"},
		colors: map[int]func(string) string{4: func(s string) string {
			switch s {
			case "error":
				return ansiRed
			case "disabled":
				return ansiGrey
			}
			return ansiGreen
		}}}
	var broken []Function
	for _, f := range fns {
		state := "loaded"
		switch {
		case len(f.Errors) > 0:
			state = "error"
			broken = append(broken, f)
		case f.Disabled:
			state = "disabled"
		}
		detail := f.Detail
		if f.Route != "" {
			detail = f.Route
			if len(f.Methods) > 0 {
				detail += " [" + strings.Join(f.Methods, ",") + "]"
			}
		}
		t.rows = append(t.rows, []string{f.Name, f.Trigger, detail, f.AuthLevel, state})
	}
	if err := p.writeTable(t); err != nil {
		return err
	}
	for _, f := range broken {
		fmt.Fprintf(p.w, "\n%s is in error:\n", p.paint(ansiRed, f.Name))
		for _, e := range f.Errors {
			fmt.Fprintf(p.w, "  %s\n", e)
		}
	}
	return nil
}
