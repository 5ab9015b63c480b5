// Package featuretest runs a service's unit tests without a Redis server:
// it puts a part (feature.SessionRedis, feature.CacheRedis, or a type
// `wireredis gen` wrote) over a rueidis/mock client, and matches the
// commands the part sends as the service wrote them, without the prefix.
//
//	m, session := featuretest.Session(t)
//	m.EXPECT().Do(gomock.Any(), featuretest.Match(session, "GET", "tok:1")).
//		Return(mock.Result(mock.RedisString("alice")))
//	user, err := NewSessions(session).Read(ctx, "1")
//
// A part over the mock still prefixes every key and refuses what would
// cross its namespace: what the mock receives is what a server would.
// Replies are given as a server would give them; the few that name keys
// (KEYS, SCAN, BLPOP) name them with the prefix, which part.Key adds.
//
// Import it from tests only: it brings in gomock.
package featuretest
