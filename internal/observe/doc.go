// Package observe is the seam between the parts, which send commands, and
// the telemetry package, which records them: the registry carries Hooks,
// and each part it opens asks them for its Part observer. Neither feature
// nor registry imports OpenTelemetry; telemetry is the one implementation.
package observe
