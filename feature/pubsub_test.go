package feature_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/redistest"
)

// receive subscribes through c in the background and returns the messages
// it gets; stop ends the subscription.
func receive(t *testing.T, c rueidis.Client, sub rueidis.Completed) (msgs chan rueidis.PubSubMessage, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	msgs = make(chan rueidis.PubSubMessage, 16)
	done := make(chan error, 1)
	go func() { done <- c.Receive(ctx, sub, func(m rueidis.PubSubMessage) { msgs <- m }) }()
	return msgs, func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Receive: %v", err)
		}
	}
}

// publishUntilHeard publishes until the subscriber has a message (the
// subscription is set up asynchronously), and returns it.
func publishUntilHeard(t *testing.T, msgs chan rueidis.PubSubMessage, publish func() error) rueidis.PubSubMessage {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if err := publish(); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-msgs:
			return m
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatal("no message within 5s")
		}
	}
}

func publish(c rueidis.Client, channel, msg string) func() error {
	return func() error {
		return c.Do(context.Background(), c.B().Publish().Channel(channel).Message(msg).Build()).Error()
	}
}

func TestPubSub(t *testing.T) {
	srv := redistest.Start(t)
	shared := srv.NewClient(t, nil)
	s, c := feature.New(shared, "session"), feature.New(shared, "cache")
	ctx := context.Background()

	msgs, stop := receive(t, s, s.B().Subscribe().Channel("news").Build())
	// A publish from another part to "news" is cache:news: not heard.
	if err := publish(c, "news", "from cache")(); err != nil {
		t.Fatal(err)
	}
	got := publishUntilHeard(t, msgs, publish(s, "news", "from session"))
	if got.Channel != "news" || got.Message != "from session" {
		t.Errorf("message = %+v, want channel news (prefix stripped) from session", got)
	}
	// The server-side channel is session:news.
	got = publishUntilHeard(t, msgs, publish(srv.Client, "session:news", "raw"))
	if got.Channel != "news" || got.Message != "raw" {
		t.Errorf("message = %+v", got)
	}
	channels, _ := s.Do(ctx, s.B().PubsubChannels().Build()).AsStrSlice()
	if fmt.Sprint(channels) != "[news]" {
		t.Errorf("PUBSUB CHANNELS through session = %v", channels)
	}
	if channels, _ := c.Do(ctx, c.B().PubsubChannels().Build()).AsStrSlice(); len(channels) != 0 {
		t.Errorf("PUBSUB CHANNELS through cache = %v", channels)
	}
	numsub, _ := s.Do(ctx, s.B().PubsubNumsub().Channel("news").Build()).ToArray()
	if n, _ := numsub[1].AsInt64(); n != 1 {
		t.Errorf("PUBSUB NUMSUB news = %v", numsub)
	}
	stop()
	for len(msgs) > 0 {
		if m := <-msgs; m.Message == "from cache" {
			t.Errorf("session heard cache's message %+v", m)
		}
	}
}

func TestPatternSubscribe(t *testing.T) {
	srv := redistest.Start(t)
	s := feature.New(srv.NewClient(t, nil), "app")
	msgs, stop := receive(t, s, s.B().Psubscribe().Pattern("order.*").Build())
	defer stop()
	if err := publish(srv.Client, "other:order.1", "other namespace")(); err != nil {
		t.Fatal(err)
	}
	got := publishUntilHeard(t, msgs, publish(s, "order.7", "mine"))
	if got.Message != "mine" || got.Channel != "order.7" || got.Pattern != "order.*" {
		t.Errorf("message = %+v, want channel order.7, pattern order.* (prefix stripped)", got)
	}
}

func TestShardedPubSub(t *testing.T) {
	srv := redistest.Start(t)
	srv.Require(t, redistest.ShardedPubSub)
	s := feature.New(srv.NewClient(t, nil), "session")
	msgs, stop := receive(t, s, s.B().Ssubscribe().Channel("shard").Build())
	defer stop()
	got := publishUntilHeard(t, msgs, func() error {
		return s.Do(context.Background(), s.B().Spublish().Channel("shard").Message("m").Build()).Error()
	})
	if got.Channel != "shard" || got.Message != "m" {
		t.Errorf("message = %+v", got)
	}
	channels, _ := srv.Client.Do(context.Background(), srv.Client.B().PubsubShardchannels().Build()).AsStrSlice()
	if fmt.Sprint(channels) != "[session:shard]" {
		t.Errorf("server shard channels = %v", channels)
	}
}

func TestDedicatedPubSubHooks(t *testing.T) {
	srv := redistest.Start(t)
	s := feature.New(srv.NewClient(t, nil), "session")
	d, cancel := s.Dedicate()
	defer cancel()
	msgs := make(chan rueidis.PubSubMessage, 16)
	subs := make(chan rueidis.PubSubSubscription, 16)
	wait := d.SetPubSubHooks(rueidis.PubSubHooks{
		OnMessage:      func(m rueidis.PubSubMessage) { msgs <- m },
		OnSubscription: func(s rueidis.PubSubSubscription) { subs <- s },
	})
	ctx := context.Background()
	if err := d.Do(ctx, d.B().Subscribe().Channel("a").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := d.Do(ctx, d.B().Psubscribe().Pattern("b*").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for range 2 {
		select {
		case sub := <-subs:
			seen = append(seen, sub.Kind+" "+sub.Channel)
		case <-time.After(5 * time.Second):
			t.Fatal("no subscription event")
		}
	}
	slices.Sort(seen)
	if fmt.Sprint(seen) != "[psubscribe b* subscribe a]" {
		t.Errorf("subscription events = %q", seen)
	}
	got := publishUntilHeard(t, msgs, publish(s, "b1", "x"))
	if got.Channel != "b1" || got.Pattern != "b*" {
		t.Errorf("message = %+v", got)
	}
	if err := d.Do(ctx, d.B().Unsubscribe().Channel("a").Build()).Error(); err != nil {
		t.Errorf("UNSUBSCRIBE a: %v", err)
	}
	// Without channels, on a connection of the part's own: every
	// subscription there is the part's.
	if err := s.Do(ctx, s.B().Unsubscribe().Build()).Error(); !errors.Is(err, feature.ErrBadArguments) {
		t.Errorf("bare UNSUBSCRIBE on the shared connection: %v, want ErrBadArguments", err)
	}
	if err := d.Do(ctx, d.B().Punsubscribe().Build()).Error(); err != nil {
		t.Errorf("bare PUNSUBSCRIBE on the dedicated connection: %v", err)
	}
	select {
	case sub := <-subs:
		if sub.Kind != "unsubscribe" || sub.Channel != "a" {
			t.Errorf("subscription event %+v, want unsubscribe a", sub)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no unsubscribe event")
	}
	select {
	case sub := <-subs:
		if sub.Kind != "punsubscribe" || sub.Channel != "b*" {
			t.Errorf("subscription event %+v, want punsubscribe b*", sub)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no punsubscribe event: the bare PUNSUBSCRIBE did not reach the server")
	}
	d.Close()
	if err := <-wait; err != nil && !errors.Is(err, rueidis.ErrClosing) {
		t.Errorf("hooks ended with %v", err)
	}
}
