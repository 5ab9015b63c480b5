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
//	analytics, err := base.ForFeature("analytics") // DB 1, the rest inherited
//	opt, err := analytics.ClientOption()          // for rueidis.NewClient
//
// Errors name the variable that holds the bad value (REDIS_ANALYTICS_DB) and
// never print a password. Options.Fingerprint identifies a connection: two
// parts with equal fingerprints can share one rueidis.Client.
package provider
