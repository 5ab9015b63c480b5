package featuretest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/rueidis"
	"github.com/redis/rueidis/mock"
	"go.uber.org/mock/gomock"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/rueidisx"
)

// Mock returns a rueidis/mock client, whose controller ends with the test,
// and the part namespace over it. The mock answers Mode (a single server)
// as often as the part asks: expectations name only the commands.
func Mock(t testing.TB, namespace string, opts ...feature.Option) (*mock.Client, *feature.Client) {
	t.Helper()
	m := mock.NewClient(gomock.NewController(t))
	m.EXPECT().Mode().Return(rueidis.ClientModeStandalone).AnyTimes()
	if err := feature.ValidNamespace(namespace); err != nil {
		t.Fatal(err)
	}
	return m, feature.New(m, namespace, opts...)
}

// Session is Mock for feature.SessionRedis.
func Session(t testing.TB) (*mock.Client, feature.SessionRedis) {
	t.Helper()
	m, c := Mock(t, "session")
	return m, feature.SessionRedis{Client: c}
}

// Cache is Mock for feature.CacheRedis.
func Cache(t testing.TB) (*mock.Client, feature.CacheRedis) {
	t.Helper()
	m, c := Mock(t, "cache")
	return m, feature.CacheRedis{Client: c}
}

// Namespaced is what Match needs of a part: feature.SessionRedis,
// feature.CacheRedis, a generated part and *feature.Client all have it.
type Namespaced interface {
	Namespace() string
	Key(k string) string
}

// Match matches the command cmd as the part sends it: cmd is written as
// the service writes it (Match(session, "SET", "tok:1", "alice")), and the
// part's own rewrite adds the prefix where the keys are. Use it wherever
// rueidis/mock's Match goes (Do, DoCache, DoMulti ...). A command the part
// refuses matches nothing, and the matcher says why.
func Match(part Namespaced, cmd ...string) gomock.Matcher {
	sent, err := rewritten(part, cmd)
	if err != nil {
		return refused{cmd: cmd, err: err}
	}
	return mock.Match(sent...)
}

// rewritten returns cmd as the part would send it, or why it would not.
func rewritten(part Namespaced, cmd []string) ([]string, error) {
	if len(cmd) == 0 {
		return nil, errors.New("no command")
	}
	var opts []feature.Option
	if strings.HasPrefix(part.Key(""), "{") {
		opts = append(opts, feature.WithHashTag())
	}
	c := &capture{b: rueidisx.SingleNodeBuilder()}
	twin := feature.New(c, part.Namespace(), opts...)
	if err := twin.Do(context.Background(), c.b.Arbitrary(cmd...).Build()).Error(); !errors.Is(err, errCaptured) {
		return nil, err
	}
	return c.sent, nil
}

// errCaptured is capture's reply: the command went out.
var errCaptured = errors.New("featuretest: captured")

// capture is a rueidis.Client that keeps the command it is sent. Only
// what a part's Do calls is implemented.
type capture struct {
	rueidis.Client
	b    rueidis.Builder
	sent []string
}

func (c *capture) B() rueidis.Builder       { return c.b }
func (c *capture) Mode() rueidis.ClientMode { return rueidis.ClientModeStandalone }
func (c *capture) Do(_ context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	c.sent = append([]string(nil), cmd.Commands()...)
	return rueidis.NewErrorResult(errCaptured)
}

// refused is the matcher of a command the part does not send.
type refused struct {
	cmd []string
	err error
}

func (refused) Matches(any) bool { return false }

func (r refused) String() string {
	return fmt.Sprintf("redis command %v, which the part never sends: %v", r.cmd, r.err)
}
