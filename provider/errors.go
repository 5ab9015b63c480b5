package provider

import (
	"errors"
	"fmt"
)

// ErrInvalidConfig is matched by every configuration error:
// errors.Is(err, provider.ErrInvalidConfig).
var ErrInvalidConfig = errors.New("invalid redis configuration")

// ConfigError reports a bad setting. Var names what the user has to fix: an
// environment variable such as REDIS_ANALYTICS_DB, or an Options field
// (Options.DB) when the value was set in code.
type ConfigError struct {
	Var string
	// Value is the offending value; empty for secrets (URL, user name,
	// password), which are never repeated.
	Value  string
	Reason string
}

func (e *ConfigError) Error() string {
	if e.Value != "" {
		return fmt.Sprintf("wireredis: %s=%q: %s", e.Var, e.Value, e.Reason)
	}
	return fmt.Sprintf("wireredis: %s: %s", e.Var, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }
