package feature

// WithObserver is withObserver for the benchmarks of feature_test, which
// measure a part over a sink with telemetry (parts get theirs from the
// registry otherwise).
var WithObserver = withObserver
