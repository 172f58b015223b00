package config

import "github.com/funchost/funchost/internal/version"

// readVersioning reads extensions.durableTask's defaultVersion,
// versionMatchStrategy (default CurrentOrOlder, as Durable Functions
// documents it) and versionFailureStrategy (default Reject). Like Durable
// Functions, defaultVersion is taken literally: a %Setting% in it is not
// resolved; the app setting
// AzureFunctionsJobHost__extensions__durableTask__defaultVersion overrides
// it. A JSON null is the same as no defaultVersion.
func readVersioning(r *reader) version.Settings {
	const dt = "extensions.durableTask."
	s := version.Settings{Match: version.MatchCurrentOrOlder, Failure: version.FailReject}
	s.Default = r.str(dt+"defaultVersion", "")
	if _, ok := r.get(dt + "versionMatchStrategy"); ok {
		m, err := version.ParseMatchStrategy(r.str(dt+"versionMatchStrategy", ""))
		if err != nil {
			r.fail(dt+"versionMatchStrategy", "%v", err)
		}
		s.Match = m
	}
	if _, ok := r.get(dt + "versionFailureStrategy"); ok {
		f, err := version.ParseFailureStrategy(r.str(dt+"versionFailureStrategy", ""))
		if err != nil {
			r.fail(dt+"versionFailureStrategy", "%v", err)
		}
		s.Failure = f
	}
	return s
}
