// Module of the analyzer's test packages. It uses the real bindings package
// of the repository (three directories up from cmd/durablevet/determinism),
// so the tests load offline.
module example.com/dvtest

go 1.26.0

require (
	github.com/funchost/funchost v0.0.0
	github.com/google/uuid v1.6.0
)

replace github.com/funchost/funchost => ../../../..
