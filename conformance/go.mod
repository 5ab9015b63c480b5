// The conformance suite: rueidiscompat's own tests, run over raw rueidis
// clients and over wireredis parts. Its own module, so that Ginkgo and
// Gomega stay out of the library's module graph. The path sits under
// github.com/redis/rueidis/ because the copied tests import rueidis's
// internal/cmds, and is not .../rueidiscompat because the library imports
// the real adapter (a copy under that path would import itself).
module github.com/redis/rueidis/wireredisconformance

go 1.26.0

replace github.com/wireredis/wireredis => ../

require (
	github.com/onsi/ginkgo/v2 v2.32.2
	github.com/onsi/gomega v1.44.0
	github.com/redis/rueidis v1.0.80
	github.com/wireredis/wireredis v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
)

require (
	github.com/Masterminds/semver/v3 v3.5.0 // indirect
	github.com/caarlos0/env/v11 v11.4.2 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/go-task/slim-sprig/v3 v3.0.0 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/google/pprof v0.0.0-20260802141513-ef3492d7dac3 // indirect
	github.com/google/wire v0.7.0 // indirect
	github.com/stretchr/testify v1.10.0 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
	golang.org/x/tools v0.52.0 // indirect
)
