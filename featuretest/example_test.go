package featuretest_test

// These tests are the examples of docs/testing.md: a service that takes a
// part, tested without a server.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/redis/rueidis/mock"
	"go.uber.org/mock/gomock"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/featuretest"
)

// Sessions is the service under test: it keeps tok:<token> → user in the
// session part.
type Sessions struct{ r feature.SessionRedis }

var ErrNoSession = errors.New("no such session")

func (s Sessions) Login(ctx context.Context, token, user string) error {
	return s.r.Do(ctx, s.r.B().Set().Key("tok:"+token).Value(user).Ex(time.Hour).Build()).Error()
}

func (s Sessions) User(ctx context.Context, token string) (string, error) {
	user, err := s.r.Do(ctx, s.r.B().Get().Key("tok:"+token).Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return "", ErrNoSession
	}
	return user, err
}

// TestSessionsUser: one line gives the part over a mock; expectations
// spell the keys as the service does.
func TestSessionsUser(t *testing.T) {
	ctx := context.Background()
	m, session := featuretest.Session(t)
	m.EXPECT().Do(gomock.Any(), featuretest.Match(session, "GET", "tok:1")).Return(mock.Result(mock.RedisString("alice")))
	m.EXPECT().Do(gomock.Any(), featuretest.Match(session, "GET", "tok:2")).Return(mock.Result(mock.RedisNil()))

	svc := Sessions{session}
	if user, err := svc.User(ctx, "1"); user != "alice" || err != nil {
		t.Errorf("User(1) = %q, %v; want alice", user, err)
	}
	if _, err := svc.User(ctx, "2"); !errors.Is(err, ErrNoSession) {
		t.Errorf("User(2): %v, want ErrNoSession", err)
	}
}

// TestSessionsLogin: what the mock receives carries the prefix, as a
// server would see it; rueidis/mock's own Match spells it that way.
func TestSessionsLogin(t *testing.T) {
	m, session := featuretest.Session(t)
	m.EXPECT().Do(gomock.Any(), mock.Match("SET", "session:tok:1", "bob", "EX", "3600")).Return(mock.Result(mock.RedisString("OK")))
	if err := (Sessions{session}).Login(context.Background(), "1", "bob"); err != nil {
		t.Fatal(err)
	}
}

// RateLimit stands for a part `wireredis gen -part RateLimit=rl` writes.
type RateLimit struct{ *feature.Client }

// Hit counts a hit of user's and returns the count.
func Hit(ctx context.Context, r RateLimit, user string) (int64, error) {
	return r.Do(ctx, r.B().Incr().Key("hits:"+user).Build()).AsInt64()
}

// TestGeneratedPart: a generated part is its namespace over the mock.
func TestGeneratedPart(t *testing.T) {
	m, c := featuretest.Mock(t, "rl")
	rl := RateLimit{c}
	m.EXPECT().Do(gomock.Any(), featuretest.Match(rl, "INCR", "hits:ann")).Return(mock.Result(mock.RedisInt64(3)))
	if n, err := Hit(context.Background(), rl, "ann"); n != 3 || err != nil {
		t.Errorf("Hit = %d, %v; want 3", n, err)
	}
}
