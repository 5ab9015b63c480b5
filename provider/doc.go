// Package provider turns environment variables into the connection settings
// of a wireredis part.
//
// Settings come from REDIS_* variables; a part named "analytics" may override
// any of them with REDIS_ANALYTICS_*:
//
//	REDIS_URL=redis://cache.internal:6379/0
//	REDIS_PASSWORD_FILE=/run/secrets/redis
//	REDIS_ANALYTICS_DB=1
//
//	base, err := provider.Load()                 // REDIS_* only
//	analytics, err := base.ForPart("analytics") // DB 1, the rest inherited
//	opt, err := analytics.ClientOption()          // for rueidis.NewClient
//
// A part's settings come from, least specific first: the defaults, the
// REDIS_* variables, the part's own (REDIS_<PART>_* and its url_env
// variable, WithURLVar), and code (WithOverrides). A more specific source
// replaces what it inherits; two sources of one level that state one
// setting, or a part variable and code, are an error naming both.
//
// Errors name the variable that holds the bad value (REDIS_ANALYTICS_DB) and
// never print a password. Options.Fingerprint names a connection, the same
// in every process and without the passwords in it; parts with equal
// ConnectionKeys share one rueidis.Client.
package provider
